"""Trend Micro InterScan Messaging Security Suite: the gateway's short report between asterisks.

The text part opens with "Message from InterScan Messaging Security Suite" and, when the next
hop refused during the SMTP exchange, quotes that exchange::

    Sent <<< RCPT TO:<kijitora@example.jp>
    Received >>> 550 5.1.1 <kijitora@example.jp>... user unknown

followed (or replaced) by one sentence per failed domain::

    Unable to deliver message to <kijitora@example.jp> (and other recipients in the same domain).

The multipart boundary is ``--------------InterScan_NT_MIME_Boundary``.  The returned original
follows as message/rfc822 and is not read for recipients.
"""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import SENT_COMMANDS, clean_address, command_name, cut_at_original, new_facts, one_line

_SIGNATURE = "InterScan Messaging Security"
_SENT = lazy_re(r"^\s*Sent <<<\s*(" + SENT_COMMANDS + r"|[A-Z]{4})\b\s*:?\s*<?([^>\s]*)",
                re.I)
_RECEIVED = lazy_re(r"^\s*Received >>>\s*(.+)$", re.I)
_UNABLE = lazy_re(r"(?:Reason:\s*)?(Unable to deliver (?:the )?message to <([^>\s]+)>[^\n]*)", re.I)


class InterScan:
    name = "interscan"

    def detect(self, msg: Message) -> bool:
        if "interscan" in (msg.headers.get("content-type") or "").lower():
            return True
        return _SIGNATURE in msg.plain_text[:2000]

    def decode(self, msg: Message) -> Facts | None:
        report = msg.find("text/plain")
        text = cut_at_original(report.text if report is not None else msg.plain_text)[:20000]
        found: dict[str, RecipientFacts] = {}
        command: str | None = None
        rcpt: str | None = None
        # a reply to MAIL or DATA, with its command: it concerns every recipient named after it
        pending: tuple[str, str | None] | None = None
        for line in text.split("\n"):
            sent = _SENT.match(line)
            if sent:
                command = command_name(sent.group(1))
                rcpt = clean_address(sent.group(2)) if command == "RCPT" else None
                continue
            received = _RECEIVED.match(line)
            if received:
                reply = received.group(1).strip()
                if reply[:1] not in ("4", "5"):
                    continue
                if rcpt is not None:
                    found[rcpt] = RecipientFacts(recipient=rcpt, diagnostic=reply, smtp_command=command,
                                                 evidence=[line.strip()])
                else:
                    pending = (reply, command)
                continue
            unable = _UNABLE.search(line)
            if unable:
                addr = clean_address(unable.group(2))
                if addr is None:
                    continue
                sentence = one_line(unable.group(1)) or ""
                if addr in found:
                    found[addr].evidence.append(sentence)
                elif pending is not None:
                    found[addr] = RecipientFacts(recipient=addr, diagnostic=pending[0],
                                                 smtp_command=pending[1], evidence=[sentence])
                else:
                    found[addr] = RecipientFacts(recipient=addr, diagnostic=sentence, evidence=[sentence])
        if not found:
            return None
        return new_facts(self.name, msg, found.values(), context=text[:3000])


DECODER = InterScan()
