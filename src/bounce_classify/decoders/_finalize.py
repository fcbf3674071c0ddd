"""Normalisation every decoder's facts go through, in one place."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import (
    SESSION_START,
    all_statuses,
    collapse_reply,
    detect_command,
    first_reply_code,
    iso_time,
    one_line,
    summary,
)
from ._hosts import HOST_IP, HOST_NAME, remote_host, reporting_host
from ._textscan import own_lines


def finalize(facts: Facts, msg: Message) -> Facts:
    normalise_recipients(facts)
    facts.bounce = summary(msg.headers, with_to=False)
    if facts.original is None and facts.original_headers is not None:
        facts.original = summary(facts.original_headers)
    bounce_date = iso_time(msg.headers.get("date"))
    if facts.reporting_mta is None:
        facts.reporting_mta = reporting_host(msg, facts.context or msg.plain_text)
    else:
        facts.reporting_mta = mta_name(facts.reporting_mta)
    for r in facts.recipients:
        r.timestamp = r.timestamp or bounce_date
        if r.remote_mta is None:
            # evidence lines can be whole lines of an attachment read as text: the host names
            # stand near the start of a reply, so each line is read only that far
            r.remote_mta = remote_host(r.diagnostic, "\n".join(line[:1000] for line in r.evidence[:8]))
        else:
            r.remote_mta = mta_name(r.remote_mta)
    return facts


# A host name or address, then a comment: "mx.example. (192.0.2.1, the server for the domain
# example.)" (Gmail), "mx.example (TCP|…|25) (… ESMTP)" (Apple), "mx.example [192.0.2.1]",
# "[192.0.2.1]".  Anything else ("Dovecot Mail Delivery Agent") is kept as written.  The host
# forms are the text reader's, whose labels and address groups each read one way only.
_MTA_NAME = lazy_re(r"\[?(?:IPv6:)?(" + HOST_NAME + "|" + HOST_IP + r")\.?\]?(?:\s+[(\[].*)?\s*$", re.S)


def mta_name(value: str) -> str:
    """An MTA field's host name without the comment after it, nor a root dot or brackets."""
    if not (" " in value or value.endswith(".") or value.startswith("[")) or len(value) > 1000:
        return value
    m = _MTA_NAME.match(value.strip())
    return m.group(1) if m else value


# An SMTP reply is at most a few lines of 512 bytes; anything far longer is not a reply but
# a body the text reader swept up (a giant base64 line, say), and every later regex and rule
# would pay for it.
MAX_DIAGNOSTIC = 4000

_SEPARATOR = lazy_re(r"-{3,}(?:[ \t]*[A-Za-z][A-Za-z' -]{0,50}?[ \t]*-{3,}|(?=\s|$))|[-=*_]{5,}")
_RELAYED_REPLY = lazy_re(r"^[45]\d\d <[^>]{1,300}>\.\.\. ([45]\d\d) ")


def normalise_recipients(facts: Facts) -> Facts:
    """One-line diagnostics, the most precise status, reply code, command and ISO times."""
    for r in facts.recipients:
        if r.diagnostic and len(r.diagnostic) > MAX_DIAGNOSTIC * 4:
            r.diagnostic = r.diagnostic[:MAX_DIAGNOSTIC * 4]
        r.diagnostic = one_line(r.diagnostic)
        if r.diagnostic and len(r.diagnostic) > MAX_DIAGNOSTIC:
            r.diagnostic = r.diagnostic[:MAX_DIAGNOSTIC].rstrip() + " ..."
        if r.diagnostic:
            r.diagnostic = collapse_reply(r.diagnostic)
            if "---" in r.diagnostic or "***" in r.diagnostic or "===" in r.diagnostic:
                # a report's separator headings ("----- Transcript of session follows -----")
                # and rules ("*****", "=====") frame the reply; they are no part of it
                r.diagnostic = one_line(_SEPARATOR.sub(" ", r.diagnostic)) or None
            if r.diagnostic and ("responded with" in r.diagnostic or "roxy session setup failed" in r.diagnostic):
                unwrap_front_end(r)
        diag = r.diagnostic or ""
        codes = all_statuses(diag) if diag else []
        if codes:
            specific = [c for c in codes if not c.endswith(".0.0")]
            if r.status is None:
                r.status = (specific or codes)[0]
            elif (specific and specific[0] != r.status and r.status not in specific
                  and (r.status.endswith(".0.0") or specific[0][0] == r.status[0])):
                # the remote server's own code is more precise than the reporter's summary
                same_class = [c for c in specific if c[0] == r.status[0]]
                if same_class:
                    r.status = same_class[0]
            elif (specific and r.status[0] == "4" and specific[0][0] == "5" and r.action == "failed"
                  and (first_reply_code(diag) or "5")[0] == "5"):
                # "Action: failed" with a temporary Status over the remote's permanent
                # "550 5.5.0 ...": the Status field contradicts both, and the reply is the fact
                r.status = specific[0]
        if r.reply_code is None:
            r.reply_code = first_reply_code(diag)
        relayed = _RELAYED_REPLY.match(diag)
        if relayed and r.reply_code == diag[:3]:
            # Sendmail's own "554 <addr>... 550 Host unknown": the remote server said 550
            r.reply_code = relayed.group(1)
        if r.smtp_command is None:
            r.smtp_command = detect_command(diag) or _command_near(facts.context, r.recipient)
        r.timestamp = iso_time(r.timestamp) or iso_time(facts.timestamp)
    return facts


# Exchange's front end (Online, or an on-premises Edge) answers for the server behind it and
# wraps that server's reply in its own:
#   450 4.7.0 Proxy session setup failed on Frontend with '451 4.4.0 Primary target IP address
#   responded with: "421 4.4.2 Connection dropped due to SocketError." Attempted failover ...'
_FRONT_END = lazy_re(r"(?:[245]\d\d[ -])?(?:[245]\.\d{1,3}\.\d{1,3}\s+)?(?:proxy session setup failed on \w+ with '(.{1,1000})'|"
                     r"primary target ip address responded)", re.I)
_RESPONDED = lazy_re(r'responded with:?\s*"([245]\d\d[ -][^"]{1,1000})"', re.I)
_LEADING_CODES = lazy_re(r"([245]\d\d)[ -](?:([245]\.\d{1,3}\.\d{1,3})\s)?")


def unwrap_front_end(r: RecipientFacts) -> None:
    """Replace an Exchange front end's wrapper by the innermost reply it quotes, whose codes are
    the real failure's; the whole diagnostic is kept as the ``wrapper`` label.  A wrapper quoted
    inside another reply (the last error of an expired message) is left alone: there the expiry
    is the failure."""
    d = r.diagnostic or ""
    m = _FRONT_END.search(d)
    # before the wrapper may stand a reporter's own words ("host mx.example[192.0.2.1] said:")
    if m is None or any(w in d[:m.start()].lower() for w in ("expired", "message=", "responded")):
        return
    inner = m.group(1) or d[m.start():]
    deeper = _RESPONDED.search(inner)
    inner = (deeper.group(1) if deeper else inner).strip()
    codes = _LEADING_CODES.match(inner)
    if not codes:
        return
    r.labels["wrapper"] = d
    r.diagnostic = inner
    r.reply_code = codes.group(1)
    if codes.group(2):
        r.status = codes.group(2)


_NEXT_SESSION = lazy_re(r"\n[ \t]*(?:" + SESSION_START + r")[^\n]*", re.I)


def _command_near(text: str | None, recipient: str | None) -> str | None:
    """The SMTP command named in the report's text just after the recipient's address.

    A DSN part rarely says at which command the remote server refused, while the human-readable
    part beside it often does ("... (in reply to end of DATA command)").
    """
    if not text or not recipient:
        return None
    idx = text.lower().find(recipient)
    if idx < 0:
        return None
    window = text[idx: idx + 600]
    cut = window.find("\n\n\n")
    if cut > 0:
        window = window[:cut]
    # up to the next recipient's line, whose command is its own (a wrapped reply, indented
    # deeper, may begin with an address too: "553 5.7.1\n    <sender@example.org>: Sender ...")
    start = len(recipient)
    window = window[:start] + own_lines(window[start:], recipient, text.rfind("\n", 0, idx) + 1, text)
    for nxt in _NEXT_SESSION.finditer(window):
        # a later session's commands are not this recipient's; its own ">>> RCPT TO:<addr>" is
        if recipient not in nxt.group(0).lower():
            window = window[:nxt.start()]
            break
    return detect_command(one_line(window))
