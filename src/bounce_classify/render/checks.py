"""Terminal and JSON output for the live checks and the diagnosis."""

from __future__ import annotations

import json
from typing import Any, TextIO

_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "passed": "green", "failed here": "bold red",
          "not checked": "dim"}


def _console(out: TextIO):
    from rich.console import Console

    return Console(file=out, highlight=False)


def findings(domain: str, items: list, out: TextIO, as_json: bool) -> None:
    if as_json:
        out.write(json.dumps({"domain": domain, "findings": [f.to_dict() for f in items]}, indent=2) + "\n")
        return
    from rich.table import Table

    t = Table(title=f"DNS checks for {domain}", header_style="bold", show_lines=False)
    for col in ("check", "result", "seen", "what to do"):
        t.add_column(col, overflow="fold")
    for f in items:
        t.add_row(f.check, f"[{_STYLE[f.status]}]{f.status}[/]", f.seen or "-", f.advice or "")
    _console(out).print(t)


def smtp_report(rep, out: TextIO, as_json: bool) -> None:
    if as_json:
        out.write(json.dumps(rep.to_dict(), indent=2) + "\n")
        return
    from rich.table import Table

    t = Table(title=f"SMTP handshake with {rep.host}:{rep.port}", header_style="bold")
    for col in ("step", "result", "reply", "detail"):
        t.add_column(col, overflow="fold")
    for s in rep.steps:
        reply = f"{s.reply_code or ''} {s.reply or ''}".strip() or "-"
        t.add_row(s.step, "[green]ok[/]" if s.ok else "[bold red]failed[/]", reply, s.detail or "")
    c = _console(out)
    c.print(t)
    if rep.auth_methods:
        c.print(f"AUTH methods offered: {' '.join(rep.auth_methods)}")
    if rep.ok:
        c.print("[green]every step passed[/]")
    else:
        c.print(f"[bold red]failed at {rep.failed_step}[/]: hop [bold]{rep.hop}[/], reason {rep.reason}")
        if rep.remediation:
            c.print(f"fix: {rep.remediation}")


def diagnosis(d, out: TextIO, as_json: bool) -> None:
    data: dict[str, Any] = d.to_dict()
    if as_json:
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    c = _console(out)
    b = data["bounce"]
    if b is not None:
        c.print(f"[bold]{b['recipient'] or '(no recipient)'}[/]: {b['reason']} at hop [bold]{b['hop']}[/] "
                f"({b['decoded_by']}, rule {b['rule']})")
        if b["diagnostic"]:
            c.print(f"  {b['diagnostic']}")
    for hop in data["chain"]:
        c.print(f"[{_STYLE[hop['state']]}]{hop['state']:>12}[/]  {hop['hop']}")
        for e in hop["evidence"]:
            c.print(f"{'':>14}{e}")
        for f in hop["findings"]:
            status = f.get("status") or ("pass" if f.get("ok") else "fail")
            label = f.get("check") or f.get("step")
            seen = f.get("seen") or f.get("reply") or f.get("detail") or ""
            if not seen and f.get("advice"):
                seen = f"(nothing) - {f['advice']}"
            c.print(f"{'':>14}[{_STYLE.get(status, '')}]{status}[/] {label}: {seen}")
    if data["next_steps"]:
        c.print("[bold]next steps[/]")
        for s in data["next_steps"]:
            c.print(f"  - {s}")
