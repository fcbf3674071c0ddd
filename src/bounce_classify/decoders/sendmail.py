"""Sendmail: "Returned mail: see transcript for details" with a session transcript."""

from __future__ import annotations

import re

from ..hostnames import serves_domain
from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts
from ..patterns import ci_regex
from ._common import body_text, detect_command
from ._mta import decode_standard
from ._textscan import has_error

_BODY = ci_regex(r"-----\s*Transcript of session follows\s*-----|The original message was received at")
# "... while talking to mx.example.org.:" (or "[192.0.2.25]:", a host reached by its address)
# opens each SMTP session of the transcript
_TALKING = lazy_re(r"^\.\.\. while talking to\s+\[?(?:IPv6:)?([A-Za-z0-9][A-Za-z0-9.:-]{0,252}?)\]?\.?:[ \t]*$",
                   re.I | re.M)
_START = lazy_re(r"-----\s*The following addresses? (?:had|has) (?:permanent fatal errors|"
                    r"transient non-fatal errors)\s*-----|-----\s*Transcript of session follows\s*-----", re.I)

# Sendmail's notes on how long the message has been queued, which follow the recipient's error
# in the transcript: "Warning: message still undelivered after 4 hours", "Will keep trying until
# message is 5 days old", "Message could not be delivered for 5 days", "Message will be deleted
# from queue".  They say how long, not why.
_QUEUE_NOTES = lazy_re(r"\s+(?:Warning: message still undelivered after|Will keep trying until message is|"
                       r"Message could not be delivered for|Message will be deleted from queue)\b.*$", re.I)

# a session whose first line after its heading is the server's ("<<< 554 ..."): it refused at
# its greeting, before the client sent anything
_REFUSED_GREETING = lazy_re(r"\A[^\n]*\n[ \t]*<<<")

# Sendmail's verdict on a recipient: "554 5.3.5 <a@example.org>... Local configuration error".
# The lines just above it, when they are not an SMTP exchange, are what led to it: a local
# mailer's output ("maildrop: maildir over quota."), or Sendmail's own detail ("554 5.3.5 MX list
# for example.org. points back to mx.example.net")
_VERDICT = lazy_re(r"^([245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}[ \t]+)?)<?([^\s<>]+@[^\s<>]+?)>?\.\.\.[ \t]",
                   re.M)
# not a cause: an exchange, a heading, or a verdict of its own, on an address or (older
# Sendmail) a host: "550 example.org (smtp)... 550 Host unknown"
_NOT_CAUSE = lazy_re(r"^(?:>>>|<<<|\.\.\. |-----|[245]\d\d[ -][^\n]*?\.\.\.\s)")
_CAUSE_LINES = 3

_TRANSCRIPT_SCAN = 50_000  # a transcript stands near the top; an attachment read as text does not


class Sendmail:
    name = "sendmail"

    def detect(self, msg: Message) -> bool:
        subject = (msg.headers.decoded("subject") or "").lower()
        if subject.startswith(("returned mail:", "warning: could not send message")):
            return True
        return bool(_BODY.search(msg.plain_text[:3000]))

    def decode(self, msg: Message) -> Facts | None:
        facts = decode_standard(msg, self.name, start=_START)
        if facts is None:
            return None
        for r in facts.recipients:
            r.diagnostic = _unwrap_reason(r.diagnostic)
            trimmed = _QUEUE_NOTES.sub("", r.diagnostic or "")
            if trimmed != r.diagnostic and has_error(trimmed):  # else the notes are all it says
                r.diagnostic = trimmed
        text = body_text(msg)[:_TRANSCRIPT_SCAN]
        _causes_from_transcript(facts, text)
        if any(r.remote_mta is None or r.smtp_command is None for r in facts.recipients):
            _hosts_from_transcript(facts, text)
        return facts


def _unwrap_reason(diagnostic: str | None) -> str | None:
    """A diagnostic read from the list of failed addresses, "(reason: 550 5.1.1 User unknown)",
    without Sendmail's wrapping; text after it (the transcript's) is kept after a semicolon."""
    if not diagnostic or not diagnostic.lower().startswith("(reason:"):
        return diagnostic
    depth = 0
    for i, ch in enumerate(diagnostic):
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            inner, rest = diagnostic[len("(reason:"): i].strip(), diagnostic[i + 1:].strip()
            return f"{inner}; {rest}" if inner and rest else inner or rest or diagnostic
    return diagnostic


def _causes_from_transcript(facts: Facts, text: str) -> None:
    """Add to a recipient's diagnostic the transcript lines just above Sendmail's verdict on it,
    when they are neither an SMTP exchange nor another verdict: the cause the verdict's
    generic words ("Insufficient permission", "Local configuration error") stand for."""
    by_address = {r.recipient: r for r in facts.recipients if r.recipient and r.diagnostic}
    for m in _VERDICT.finditer(text):
        r = by_address.get(m.group(2).lower())
        if r is None or r.diagnostic is None:
            continue
        # up to _CAUSE_LINES lines above the verdict's, nearest first
        above = text[max(0, m.start() - 2000):m.start()].split("\n")[-2:-2 - _CAUSE_LINES:-1]
        cause: list[str] = []
        for line in map(str.strip, above):
            if not line or _NOT_CAUSE.match(line):
                break
            cause.insert(0, line)
        detail = " ".join(cause).removeprefix(m.group(1))  # "554 5.3.5 ", said again by Sendmail's own detail
        if detail and detail.lower() not in r.diagnostic.lower():
            r.diagnostic = f"{r.diagnostic} ({detail})"


def _hosts_from_transcript(facts: Facts, text: str) -> None:
    """The remote server of each recipient a delivery-status part left without Remote-MTA: the
    transcript's session that names the recipient; else the last session with a host in the
    recipient's domain; else the one host whose sessions name no recipient at all (a refusal of
    MAIL or of the greeting, at a smarthost, is every recipient's sent there).

    A session that names no recipient was refused before any was sent: the command it quotes
    (">>> MAIL From:<...>"), or its greeting when the server spoke first, is the one every
    recipient sent there failed at, unless the recipient's own diagnostic names one.
    """
    found = [(m.start(), m.group(1).rstrip(".").lower()) for m in _TALKING.finditer(text)]
    if not found:
        return
    low = text.lower()
    named = [r.recipient for r in facts.recipients if r.recipient]
    # each session's host and text, up to the next session or the end of its exchange
    sessions = [(name, _exchange(low[at: found[i + 1][0] if i + 1 < len(found) else len(low)]))
                for i, (at, name) in enumerate(found)]
    anonymous = {name: block for name, block in sessions if not any(a in block for a in named)}
    for r in facts.recipients:
        if not r.recipient:
            continue
        host = next((name for name, block in sessions if r.recipient in block), None)
        if host is None:
            domain = r.recipient.rpartition("@")[2]
            inside = [name for name, _ in sessions if serves_domain(name, domain)]
            host = inside[-1] if inside else (next(iter(anonymous)) if len(anonymous) == 1 else None)
        if r.remote_mta is None:
            r.remote_mta = host
        if (r.smtp_command is None and host in anonymous and r.remote_mta == host
                and detect_command(r.diagnostic) is None):
            block = anonymous[host]
            r.smtp_command = "CONN" if _REFUSED_GREETING.match(block) else detect_command(block)


def _exchange(block: str) -> str:
    """A session's heading and its exchange: the client's (">>>") and the server's ("<<<") lines,
    each reply followed by Sendmail's own verdict on it.  The first other line ends it: what
    follows is another recipient's local failure ("554 5.3.5 ... Local configuration error"),
    not this server's."""
    lines = block.split("\n")
    end = 1
    after_reply = False
    for i in range(1, len(lines)):
        line = lines[i].lstrip()
        if line.startswith((">>>", "<<<")):
            after_reply = line.startswith("<<<")
        elif after_reply and line:
            after_reply = False  # the verdict: "550 5.1.1 <a@example.org>... User unknown"
        elif line:
            break
        end = i + 1
    return "\n".join(lines[:end])


DECODER = Sendmail()
