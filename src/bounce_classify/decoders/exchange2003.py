"""Exchange 2000/2003: "Your message did not reach some or all of the intended recipients"."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import address_in_line, body_text, clean_address, new_facts, one_line, original_from_text

# the report's opening sentence, then the headings of its list of recipients: any of them
# identifies the family, and the list starts after a heading
_OPENING = "did not reach some or all of the intended recipients"
_LIST_HEADINGS = ("did not reach the following recipient(s):", "the following recipient(s) could not be reached:")
_HEADINGS = (_OPENING, *_LIST_HEADINGS)
_START = lazy_re("|".join(re.escape(h) for h in _LIST_HEADINGS), re.I)
_REASON = lazy_re(r"^\s*(?:(.+?)\s*)?<[^>]*#\s*([245]\.\d{1,3}\.\d{1,3})\s*>?", re.M)


class Exchange2003:
    name = "exchange2003"

    def detect(self, msg: Message) -> bool:
        h = msg.headers
        if "x-ms-embedded-report" in h:
            return True
        if "produced by microsoft exchange" in (h.get("x-mimeole") or "").lower():
            return True
        head = msg.plain_text[:3000].lower()
        # Exchange 5.5's Internet Mail Service and 2000/2003 without their own headers still
        # write the heading (and MSEXCH:IMS codes) of this family
        return any(h in head for h in _HEADINGS)

    def decode(self, msg: Message) -> Facts | None:
        from .rfc3464 import decode_dsn

        facts = decode_dsn(msg, self.name)
        if facts is not None:
            return facts
        text = body_text(msg)
        m = _START.search(text)
        if not m:
            return None
        section = text[m.end():]
        end = re.search(r"\n\s*\n\s*\n|^\s*-{3,}|Original message", section, re.M)
        lines = section[: end.start() if end else 3000].split("\n")
        recipients: list[RecipientFacts] = []
        current: RecipientFacts | None = None
        # the address lines ("<addr> on <date>") are indented less than the reason under them
        first = next((ln for ln in lines if " on " in ln and address_in_line(ln)), "")
        margin = len(first) - len(first.lstrip())
        for line in lines:
            a = address_in_line(line)
            indent = len(line) - len(line.lstrip())
            if a and " on " in line and indent <= margin:
                addr = clean_address(a.group(0))
                current = RecipientFacts(recipient=addr, evidence=[line.strip()])
                recipients.append(current)
                continue
            if current is not None and line.strip():
                current.evidence.append(line.strip())
                current.diagnostic = one_line((current.diagnostic or "") + " " + line.strip())
        if not recipients:
            return None
        return new_facts(self.name, msg, recipients, context=text[:3000], original=original_from_text(text))


DECODER = Exchange2003()
