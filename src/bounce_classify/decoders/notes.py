"""Lotus Notes / HCL Domino SMTP MTA: "------- Failure Reasons --------" reports.

The report names the reason first, then the failed address, then "------- Returned Message
--------" and the original.  Domino's own router writes "was not delivered to: / because:"
paragraphs, which the generic reader handles.
"""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import ADDRESS, body_text, clean_address, new_facts, one_line, original_from_text

_REASONS = lazy_re(r"^-+\s*Failure Reasons\s*-+\s*$", re.I | re.M)
_RETURNED = lazy_re(r"^-+\s*Returned Message\s*-+\s*$", re.I | re.M)


class Notes:
    name = "notes"

    def detect(self, msg: Message) -> bool:
        return bool(_REASONS.search(msg.plain_text[:5000]))

    def decode(self, msg: Message) -> Facts | None:
        text = body_text(msg)
        start = _REASONS.search(text)
        if start is None:
            return None
        end = _RETURNED.search(text, start.end())
        region = text[start.end(): end.start() if end else len(text)]
        reason_lines: list[str] = []
        recipients: list[RecipientFacts] = []
        for line in region.split("\n"):
            stripped = line.strip()
            if not stripped:
                continue
            if ADDRESS.fullmatch(stripped.strip("<>")):
                a = clean_address(stripped)
                if a:
                    recipients.append(RecipientFacts(recipient=a, diagnostic=one_line(" ".join(reason_lines)),
                                                     evidence=reason_lines[:4] + [stripped]))
                    reason_lines = []
            else:
                reason_lines.append(stripped)
        if not recipients:
            return None
        facts = new_facts(self.name, msg, recipients, context=region[:2000])
        if facts.original_headers is None and end is not None:
            facts.original_headers = original_from_text("Original message follows\n" + text[end.end():])
        return facts


DECODER = Notes()
