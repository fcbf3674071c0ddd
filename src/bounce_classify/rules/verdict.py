"""Judgements derived from the facts and the reason, each made in one place."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..model import Facts, RecipientFacts

HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})

# Sisimai's convention, kept so its users' dashboards carry over: when a bounce
# carries no enhanced status code, the status is a pseudo code derived from the
# reason, "5.0.9NN" (permanent) or "4.0.9NN" (temporary).
PSEUDO_STATUS = {
    "undefined": 900, "onhold": 901, "syntaxerror": 902, "norelaying": 909, "filtered": 910,
    "userunknown": 911, "hostunknown": 912, "hasmoved": 916, "rejected": 918, "suspend": 921,
    "mailboxfull": 922, "exceedlimit": 923, "systemerror": 930, "systemfull": 931, "notaccept": 932,
    "mesgtoobig": 934, "mailererror": 939, "networkerror": 944, "toomanyconn": 945, "expired": 947,
    "contenterror": 960, "securityerror": 970, "blocked": 971, "policyviolation": 972,
    "requireptr": 973, "authfailure": 974, "badreputation": 975, "virusdetected": 976,
    "spamdetected": 980, "speeding": 981, "notcompliantrfc": 982, "suppressed": 990,
}


# Words only a queue that has given up writes.  OpenSMTPD reports an expired envelope with
# "Action: delayed" and status 4.4.7, yet the envelope is gone from its queue: a failure.
_GAVE_UP = lazy_re(r"\benvelope expired\b|\bretry timeout exceeded\b|\bmessage expired\b", re.I)


def kind_of(facts: Facts, r: RecipientFacts) -> str:
    """bounce, delay, feedback, autoreply or delivered, from the format and the DSN action."""
    if facts.kind in ("feedback", "autoreply"):
        return facts.kind
    if facts.kind in ("delay", "delivered", "bounce"):
        return facts.kind
    action = (r.action or "").lower()
    if action == "delayed":
        return "bounce" if r.diagnostic and _GAVE_UP.search(r.diagnostic[:2000]) else "delay"
    if action in ("delivered", "relayed", "expanded"):
        return "delivered"
    if action == "failed":
        return "bounce"
    status = r.status or ""
    if status.startswith("2."):
        return "delivered"
    return "bounce"


def is_soft(r: RecipientFacts, kind: str) -> bool:
    """The evidence itself says temporary (4xx), regardless of the reason."""
    if kind == "delay":
        return True
    if r.status:
        return r.status.startswith("4")
    return (r.reply_code or "").startswith("4")


def permanent(kind: str, reason: str, r: RecipientFacts, rule_permanent: bool | None) -> bool | None:
    """Would retrying the same message unchanged fail again?"""
    if kind in ("delivered", "autoreply", "not-bounce"):
        return None
    if kind == "feedback":
        return True
    if kind == "delay":
        return False
    if rule_permanent is not None:
        return rule_permanent
    if r.status and r.status[0] in "45":
        return r.status[0] == "5"
    if r.reply_code and r.reply_code[0] in "45":
        return r.reply_code[0] == "5"
    if reason in ("expired",):
        return True
    return None


def hard_bounce(kind: str, reason: str, r: RecipientFacts) -> bool:
    """The address itself is undeliverable: suppress it."""
    if kind not in ("bounce",):
        return False
    if reason in HARD_REASONS:
        return True
    if reason == "notaccept":
        # a domain that takes no mail (null MX, no MX) is permanent unless a 4xx says otherwise
        code = r.status or r.reply_code or ""
        return not code.startswith("4")
    return False


def pseudo_status(reason: str, soft: bool) -> str | None:
    n = PSEUDO_STATUS.get(reason)
    if n is None:
        return None
    return f"{4 if soft else 5}.0.{n}"
