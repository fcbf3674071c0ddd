"""DragonFly Mail Agent (dma): "There was an error delivering your mail to <addr>."."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import body_text, clean_address, new_facts, original_from_text

_RCPT = lazy_re(r"error delivering your mail to <?([^>\s]+)>?\.?\s*$", re.I | re.M)
_END = lazy_re(r"^\s*Message headers follow\.?\s*$|^\s*Original message follows", re.I | re.M)


class DragonFly:
    name = "dragonfly"

    def detect(self, msg: Message) -> bool:
        return "DragonFly Mail Agent" in (msg.headers.get("received") or "") or \
            "This is the DragonFly Mail Agent" in msg.plain_text[:500]

    def decode(self, msg: Message) -> Facts | None:
        text = body_text(msg)
        m = _RCPT.search(text)
        if not m:
            return None
        rcpt = clean_address(m.group(1))
        end = _END.search(text, m.end())
        diag = text[m.end(): end.start() if end else len(text)].strip()
        r = RecipientFacts(recipient=rcpt, diagnostic=diag, evidence=[m.group(0)] + diag.split("\n")[:8])
        facts = new_facts(self.name, msg, [r], context=text[:3000])
        if facts.original_headers is None and end:
            facts.original_headers = original_from_text(text[end.start():])
        return facts


DECODER = DragonFly()
