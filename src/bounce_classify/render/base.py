"""The renderer interface and the choice among renderers."""

from __future__ import annotations

from typing import Protocol, TextIO

from ..model import Result


class Renderer(Protocol):
    def write(self, result: Result) -> None: ...

    def close(self) -> None: ...


def renderer_for(fmt: str, out: TextIO, explain: bool = False) -> Renderer:
    if fmt == "jsonl":
        from .jsonl import JsonLines

        return JsonLines(out, explain)
    if fmt == "json":
        from .jsonl import JsonArray

        return JsonArray(out, explain)
    if fmt == "csv":
        from .csv import CsvRenderer

        return CsvRenderer(out)
    if fmt == "table":
        from .table import TableRenderer

        return TableRenderer(out, explain)
    raise ValueError(f"unknown format {fmt!r}")
