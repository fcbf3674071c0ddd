"""Reading RFC 3464 / RFC 6533 delivery-status fields, wherever they appear."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..model import RecipientFacts
from ._common import clean_address, detect_command, first_reply_code, first_status, one_line, strip_dsn_type

_FIELD = lazy_re(r"^([A-Za-z][A-Za-z0-9-]{1,40})\s*:\s?(.*)$")
_RECIPIENT_FIELDS = {"final-recipient", "original-recipient", "x-actual-recipient"}
_PER_MESSAGE = {"reporting-mta", "arrival-date", "received-from-mta", "original-envelope-id",
                "dsn-gateway", "x-postfix-queue-id", "x-postfix-sender", "x-original-message-id"}
_RECIPIENT_ONLY = {"action", "status", "diagnostic-code", "remote-mta", "last-attempt-date",
                   "will-retry-until", "final-log-id"}
DSN_FIELDS = frozenset(_RECIPIENT_FIELDS | _PER_MESSAGE | _RECIPIENT_ONLY)

# A reporter's own words wrapped round the remote reply it got, quoted (Amazon SES, BlackBerry):
#   5.1.0 - Unknown address error 550-'5.7.1 <sender@...>... Access denied' (delivery attempts: 0)
# The code before the dash is the reporter's category, often a guess ("Unknown address error"
# for a refused sender); the quoted reply is the receiving server's, and it is the diagnostic.
_WRAPPED = lazy_re(r"^\s*([45]\.\d{1,3}\.\d{1,3}) - [^'\n]{0,80}?\b([45]\d\d)[- ]'(\s*([45]\.\d{1,3}\.\d{1,3})?[^'\n]*)'")

# Amazon SES (and WorkMail, which sends through it) giving up on a message ends its own line
# with the last reply the remote server gave: "554 4.4.7 Message expired: unable to deliver in
# 840 minutes.<421 4.4.2 Connection timed out>".  That reply is the remote's.
_LAST_REPLY = lazy_re(r"^[45]\d\d [45]\.\d{1,3}\.\d{1,3} [^<>]{1,200}?<([45]\d\d)[ -]([45]\.\d{1,3}\.\d{1,3})\b[^<>]*>\s*$")


def parse_fields(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Split delivery-status text into per-message fields and per-recipient field sets.

    Blank lines are not trusted (real MTAs omit them); a new recipient block
    starts whenever a recipient field repeats within the current block.
    """
    per_message: dict[str, str] = {}
    blocks: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    last: tuple[dict[str, str], str] | None = None
    for line in text.split("\n"):
        if not line.strip():
            current, last = None, None
            continue
        if line[0] in " \t":
            if last is not None:
                store, key = last
                store[key] = store[key] + " " + line.strip()
            continue
        m = _FIELD.match(line)
        if not m:
            last = None
            continue
        key, value = m.group(1).lower(), m.group(2).strip()
        if key in _RECIPIENT_FIELDS:
            if current is None or key in current:
                current = {}
                blocks.append(current)
        elif current is None:
            if key in _PER_MESSAGE or (not blocks and key not in _RECIPIENT_ONLY):
                per_message.setdefault(key, value)
                last = (per_message, key)
                continue
            current = {}
            blocks.append(current)
        elif key in current:
            current[key] = current[key] + " " + value  # a repeated field: keep both
            last = (current, key)
            continue
        current[key] = value
        last = (current, key)
    return per_message, [b for b in blocks if b]


# An rfc822 address the pattern of real ones refuses: a typo ("user@#example.org") or a local
# name ("root@localhost"). A DSN's recipient field is the envelope as it was, so it is kept.
_WRITTEN = lazy_re(r"^\s*rfc822\s*;\s*<?([^\s<>@;]{1,128}@[^\s<>@;]{1,255})>?\s*$", re.I)


def _as_written(value: str | None) -> str | None:
    m = _WRITTEN.match(value or "")
    return m.group(1).lower() if m else None


def recipient_from_block(block: dict[str, str]) -> RecipientFacts:
    rcpt = clean_address(block.get("final-recipient")) or clean_address(block.get("original-recipient")) \
        or clean_address(block.get("x-actual-recipient")) or _as_written(block.get("final-recipient"))
    raw_diag = block.get("diagnostic-code") or ""
    diag = one_line(strip_dsn_type(raw_diag))
    extra = one_line(block.get("x400-supplementary-info"))
    if extra:
        # an X.400 gateway's Diagnostic-Code is a reason number ("Reason 1 (Unable-To-Transfer);
        # Diagnostic -1 (Unknown)"); the SMTP server's own words come in its supplementary info
        extra = extra.strip('"')
        diag = f"{extra} ({diag})" if diag else extra
    dtype = raw_diag.split(";", 1)[0].strip().lower() if ";" in raw_diag[:20] else ""
    status_field = block.get("status", "")
    status = first_status(status_field)
    action = (block.get("action") or "").strip().lower().split(" ")[0] or None
    evidence = [f"{k.title()}: {v}" for k, v in block.items()]
    wrapped = _WRAPPED.match(diag or "")
    if wrapped:
        category, reply, quoted, inner_status = wrapped.groups()
        diag = f"{reply} {quoted.strip()}"
        if inner_status:
            status = inner_status
        elif status is None or status.endswith(".0.0"):
            status = category  # the remote gave none: the reporter's category beats X.0.0
    reply_code = first_reply_code(diag)
    last = _LAST_REPLY.match(diag or "")
    if last:
        reply_code, status = last.groups()
    return RecipientFacts(
        recipient=rcpt,
        action=action,
        status=status,
        reply_code=reply_code,
        diagnostic=diag,
        remote_mta=one_line(strip_dsn_type(block.get("remote-mta"))),
        smtp_command=detect_command(diag),
        timestamp=one_line(block.get("last-attempt-date") or block.get("arrival-date")),
        evidence=evidence,
        labels=_labels(block, dtype),
    )


def _labels(block: dict[str, str], dtype: str) -> dict[str, str]:
    labels = {"diagnostic_type": dtype} if dtype else {}
    actual = strip_dsn_type(block.get("x-actual-recipient")) or ""
    if actual.lstrip("\"").startswith("|"):
        # delivered to a program ("|/usr/bin/procmail ..."): the local delivery agent failed
        labels["local_delivery"] = "pipe"
    category = block.get("x-powermta-bouncecategory")
    if category:
        # PowerMTA classifies every bounce itself, e.g. bad-mailbox, quota-issues, spam-related
        labels["bounce_category"] = category.strip().lower()
    return labels


def recipients_from_text(text: str) -> tuple[dict[str, str], list[RecipientFacts]]:
    per_message, blocks = parse_fields(text)
    out = [recipient_from_block(b) for b in blocks]
    return per_message, [r for r in out if r.recipient or r.status or r.diagnostic]
