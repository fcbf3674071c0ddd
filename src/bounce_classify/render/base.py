"""The choice among renderers (their interface is in protocol.py)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; these names are for annotations only
    from typing import TextIO

    from .protocol import Renderer


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
