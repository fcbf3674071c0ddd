"""Live checks of one hop at a time: the sending domain's DNS (``dns.py``), the SMTP relay
(``smtp.py``), and ``diagnose.py``, which picks the checks a classified bounce calls for.

dnspython is imported only by these commands.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass(frozen=True, slots=True)
class Finding:
    """One checked fact: what was looked at, the verdict, what was seen, and what to do."""

    check: str
    status: str  # pass | warn | fail
    seen: str | None
    advice: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def worst(findings: list[Finding]) -> str:
    statuses = {f.status for f in findings}
    return FAIL if FAIL in statuses else WARN if WARN in statuses else PASS
