"""JSON Lines and JSON array output: exactly the contract record per result."""

from __future__ import annotations

import json

from ..model import Result

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; these names are for annotations only
    from typing import Any, TextIO


def record(result: Result, explain: bool) -> dict[str, Any]:
    d = result.to_dict()
    if explain:
        d["explain"] = {"decoder": result.decoded_by, "rule": result.rule, "evidence": list(result.evidence)}
    return d


class JsonLines:
    def __init__(self, out: TextIO, explain: bool = False) -> None:
        self.out, self.explain = out, explain

    def write(self, result: Result) -> None:
        self.out.write(json.dumps(record(result, self.explain), ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.out.flush()


class JsonArray:
    def __init__(self, out: TextIO, explain: bool = False) -> None:
        self.out, self.explain, self.first = out, explain, True
        self.out.write("[")

    def write(self, result: Result) -> None:
        self.out.write(("\n" if self.first else ",\n") + json.dumps(record(result, self.explain), ensure_ascii=False))
        self.first = False

    def close(self) -> None:
        self.out.write("\n]\n" if not self.first else "]\n")
        self.out.flush()
