"""MDaemon (Alt-N / MDaemon Technologies): "The attached message had PERMANENT fatal delivery errors!".

The report says the message was removed from the queue, then quotes the SMTP session between
"--- Session Transcript ---" and "--- End Transcript ---", one line per step.  Each line opens
with the time ("Mon 2026-03-09 07:15:01.310: "), then an arrow for what was sent ("-->
RCPT To:<addr>") or received ("<-- 550 5.1.1 ..."); "Attempting SMTP connection to [host :
25]" names the remote server.  Older releases write the same steps bare, without the time or
the arrows.  A refusal of RCPT is that recipient's; a refusal of anything
else (the greeting, MAIL, DATA) is every recipient of the session.
"""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import (
    SENT_COMMANDS,
    body_text,
    clean_address,
    command_name,
    first_status,
    new_facts,
    original_part,
)
from ._signals import mark_delays

_OPENINGS = ("had PERMANENT fatal delivery errors", "has encountered temporary delivery problems")
_TRANSCRIPT = "--- Session Transcript ---"
_END = "--- End Transcript ---"
_STEP = lazy_re(r"^\s*\w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?:\s*")
# Older releases (3.x) write the steps without times or arrows: " RCPT To:<addr>", " 552 ...".
_SENT = lazy_re(r"(?:--> )?(" + SENT_COMMANDS + r")\b:?\s*(.*)", re.I)
_REPLY = lazy_re(r"(?:<-- )?([245]\d\d)[ -](.*)")
_CONNECTING = lazy_re(r"Attempting SMTP connection to \[([A-Za-z0-9.-]{1,253}) : \d{1,5}\]", re.I)
_ENVELOPE_TO = lazy_re(r"\*\s+To:\s*(.+)")
_MAX_STEPS = 2000  # a transcript is a few dozen lines; past this it is not one
_MAX_LINE = 2000  # and a step is one short line


class MDaemon:
    name = "mdaemon"

    def detect(self, msg: Message) -> bool:
        head = msg.plain_text[:1500]
        return any(s in head for s in _OPENINGS) and _TRANSCRIPT in msg.plain_text[:20000]

    def decode(self, msg: Message) -> Facts | None:
        text = body_text(msg)
        start = text.find(_TRANSCRIPT)
        if start < 0:
            return None
        end = text.find(_END, start)
        steps = text[start + len(_TRANSCRIPT): end if end > 0 else None].split("\n", _MAX_STEPS)[:_MAX_STEPS]
        recipients = _read_session(steps)
        if not recipients:
            return None
        mark_delays(recipients, text)
        return new_facts(self.name, msg, recipients, context=text[:4000], original=original_part(msg))


def _read_session(steps: list[str]) -> list[RecipientFacts]:
    out: dict[str, RecipientFacts] = {}
    host: str | None = None
    listed: list[str] = []  # the envelope's "*  To:" lines: the recipients before any RCPT
    session: list[str] = []  # the addresses sent with RCPT in this connection
    command: str | None = None
    for raw in steps:
        line = _STEP.sub("", raw[:_MAX_LINE], count=1).strip()
        connecting = _CONNECTING.search(line)
        if connecting:
            host, session, command = connecting.group(1).rstrip(".").lower(), [], "CONN"
            continue
        to = _ENVELOPE_TO.match(line)
        if to:
            a = clean_address(to.group(1))
            if a:
                listed.append(a)
            continue
        sent = _SENT.match(line)
        if sent:
            command = command_name(sent.group(1))
            if command == "RCPT":
                a = clean_address(sent.group(2))
                if a:
                    session.append(a)
            continue
        reply = _REPLY.match(line)
        if reply is None or reply.group(1)[0] == "2" or reply.group(1) == "354":
            continue
        diag = f"{reply.group(1)} {reply.group(2)}".strip()
        if command == "RCPT" and session:
            failed = [session.pop()]  # it was refused, so it is no recipient of the message
        else:
            failed = session or listed
        for a in failed:
            out[a] = RecipientFacts(recipient=a, status=first_status(diag), reply_code=reply.group(1),
                                    diagnostic=diag, remote_mta=host, smtp_command=command,
                                    evidence=[a, line])
    return list(out.values())


DECODER = MDaemon()
