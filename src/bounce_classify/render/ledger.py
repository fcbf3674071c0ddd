"""Output of the ledger commands: statistics, suppression exports, an address's history."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

STATS_SECTIONS = (("by_kind", "kind"), ("by_hop", "hop"), ("by_reason", "reason"), ("by_domain", "domain"),
                  ("by_day", "day"))
SUPPRESSION_COLUMNS = ("address", "cause", "reason", "since", "hop", "status", "diagnostic", "token", "source")


def stats(data: dict[str, Any], out: TextIO, as_json: bool) -> None:
    if as_json:
        out.write(json.dumps(data, indent=2) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out)
    console.print(f"{data['records']} records, {data['suppressed']} suppressed addresses")
    for key, title in STATS_SECTIONS:
        table = Table(title=f"by {title}", header_style="bold")
        table.add_column(title)
        table.add_column("count", justify="right")
        for k, v in data[key].items():
            table.add_row(str(k), str(v))
        console.print(table)


def suppressions(items: Iterable[Any], out: TextIO, fmt: str) -> None:
    """``csv`` (one row per address, the evidence flattened) or ``jsonl`` (the whole evidence record)."""
    if fmt == "jsonl":
        for s in items:
            out.write(json.dumps(s.to_dict(), ensure_ascii=False) + "\n")
        return
    w = csv.writer(out)
    w.writerow(SUPPRESSION_COLUMNS)
    for s in items:
        ev = s.evidence or {}
        w.writerow([s.address, s.cause, s.reason or "", s.since,
                    *(ev.get(k) or "" for k in ("hop", "status", "diagnostic", "token", "source"))])


def history(hist: dict[str, Any], out: TextIO, as_json: bool) -> None:
    if as_json:
        out.write(json.dumps(hist, indent=2, ensure_ascii=False) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out)
    console.print(f"[bold]{hist['address']}[/]: {hist['state']}"
                  + (f" ({hist['cause']}, {hist['reason']}, since {hist['since']})" if hist["cause"] else ""))
    table = Table(header_style="bold")
    for col in ("when", "kind", "reason", "hop", "status", "diagnostic"):
        table.add_column(col, overflow="fold")
    for r in hist["records"]:
        table.add_row(r["event_at"], r["kind"], r["reason"], r["hop"] or "-", r["status"] or "-",
                      (r["diagnostic"] or "")[:120])
    console.print(table)
