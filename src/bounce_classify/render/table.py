"""A readable table for a terminal (rich)."""

from __future__ import annotations

from typing import TextIO

from ..model import Result


class TableRenderer:
    def __init__(self, out: TextIO, explain: bool = False) -> None:
        from rich.console import Console
        from rich.table import Table

        width = None if out.isatty() else 200  # a pipe or file gets the full width, not 80 columns
        self.console = Console(file=out, width=width)
        self.explain = explain
        self.rows: list[Result] = []
        self.table = Table(show_lines=True, header_style="bold")
        for col in ("source", "recipient", "kind", "status", "reason", "hop", "fix", "remediation"):
            self.table.add_column(col, overflow="fold")

    def write(self, result: Result) -> None:
        src = result.source if result.message == 1 else f"{result.source}#{result.message}"
        hop_style = {"submission": "bold magenta", "sending-provider": "magenta",
                     "sender-authentication": "yellow", "transport": "cyan",
                     "recipient-policy": "red", "recipient-mailbox": "bold red"}.get(result.hop or "", "")
        hop = f"[{hop_style}]{result.hop}[/]" if hop_style else (result.hop or "-")
        self.table.add_row(src, result.recipient or "-", result.kind, result.status or "-", result.reason, hop,
                           result.fix_owner or "-", result.remediation or "-")
        if self.explain:
            self.rows.append(result)

    def close(self) -> None:
        self.console.print(self.table)
        for r in self.rows:
            self.console.rule(f"{r.source} {r.recipient or ''}")
            self.console.print(f"decoder: [bold]{r.decoded_by}[/]   rule: [bold]{r.rule}[/]", highlight=False)
            if r.diagnostic:
                self.console.print(f"diagnostic: {r.diagnostic}", highlight=False, markup=False)
            for line in r.evidence:
                self.console.print(f"  | {line}", highlight=False, markup=False)
