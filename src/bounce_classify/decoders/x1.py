"""An unattributed MTA (Sisimai calls it X1): "---The following addresses had delivery errors---".

Each failed address sits on its own line with the verdict in brackets, for example
``kijitora@example.org [User unknown]``.  No SMTP dialogue or status code is quoted; the
bounce comes from a relay that accepted the message first.
"""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import ADDRESS, body_text, clean_address, new_facts, original_from_text

_HEADING = "---The following addresses had delivery errors---"
_LINE = lazy_re(r"^\s*(\S+@\S+)\s+\[([^\]\n]{1,200})\]\s*$", re.M)


class X1:
    name = "x1"

    def detect(self, msg: Message) -> bool:
        return _HEADING in msg.plain_text[:3000]

    def decode(self, msg: Message) -> Facts | None:
        text = body_text(msg)
        start = text.find(_HEADING)
        if start < 0:
            return None
        section = text[start + len(_HEADING):]
        recipients = []
        for m in _LINE.finditer(section[:5000]):
            if ADDRESS.fullmatch(m.group(1).strip("<>")):
                recipients.append(RecipientFacts(recipient=clean_address(m.group(1)), diagnostic=m.group(2).strip(),
                                                 evidence=[m.group(0).strip()]))
        if not recipients:
            return None
        facts = new_facts(self.name, msg, recipients, context=text[:3000])
        if facts.original_headers is None:
            facts.original_headers = original_from_text(text)
        return facts


DECODER = X1()
