"""``ses suppression sync`` and ``check``: the ledger's suppressed addresses and SES's
account-level suppression list (SES API v2)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Planned:
    address: str
    reason: str  # BOUNCE | COMPLAINT
    cause: str
    state: str  # add | present


def ses_reason(cause: str) -> str:
    """SES knows two reasons: a complaint, and every kind of bounce."""
    return "COMPLAINT" if cause == "complaint" else "BOUNCE"


def listed(sesv2: Any) -> dict[str, str]:
    """Every address on the account-level list, with its reason."""
    out: dict[str, str] = {}
    token = None
    while True:
        kwargs: dict[str, Any] = {"PageSize": 1000}
        if token:
            kwargs["NextToken"] = token
        resp = sesv2.list_suppressed_destinations(**kwargs)
        for s in resp.get("SuppressedDestinationSummaries") or []:
            out[s["EmailAddress"].lower()] = s["Reason"]
        token = resp.get("NextToken")
        if not token:
            return out


def plan(suppressions: Iterable[Any], sesv2: Any) -> list[Planned]:
    present = listed(sesv2)
    out = []
    for s in suppressions:
        reason = ses_reason(s.cause)
        state = "present" if present.get(s.address.lower()) == reason else "add"
        out.append(Planned(s.address, reason, s.cause, state))
    return out


def apply(planned: Iterable[Planned], sesv2: Any) -> int:
    n = 0
    for p in planned:
        if p.state == "add":
            sesv2.put_suppressed_destination(EmailAddress=p.address, Reason=p.reason)
            n += 1
    return n


def check(address: str, sesv2: Any) -> dict[str, Any] | None:
    try:
        resp = sesv2.get_suppressed_destination(EmailAddress=address)
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code == "NotFoundException":
            return None
        raise
    d = resp["SuppressedDestination"]
    attrs = d.get("Attributes") or {}
    return {"address": d["EmailAddress"], "reason": d["Reason"],
            "last_update": str(d.get("LastUpdateTime")), "message_id": attrs.get("MessageId"),
            "feedback_id": attrs.get("FeedbackId")}
