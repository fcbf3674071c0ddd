"""Google Groups: the group refused the post (it does not exist or you may not post)."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import body_text, clean_address, new_facts, one_line, original_from_text

_WHY = lazy_re(r"(?:the group you tried to contact|you tried to contact)[^\n]*(?:\n[^\n]+)*", re.I)


class GoogleGroups:
    name = "googlegroups"

    def detect(self, msg: Message) -> bool:
        failed = msg.headers.get("x-failed-recipients") or ""
        return "googlegroups.com" in failed.lower() or (
            "Google Groups" in msg.plain_text[:3000] and "mailer-daemon@googlemail.com" in
            (msg.headers.get("from") or "").lower())

    def decode(self, msg: Message) -> Facts | None:
        text = body_text(msg)
        rcpts = [a for a in (clean_address(v) for v in msg.headers.get_all("x-failed-recipients")) if a]
        if not rcpts:
            return None
        m = _WHY.search(text)
        if m is None and "the response from the remote server was" in text.lower():
            # a plain Gmail bounce quoting a server's reply for an address at googlegroups.com
            # ("Address not found"): not the group's refusal, so the Gmail decoder reads it
            return None
        diag = one_line(m.group(0)) if m else None
        recipients = [RecipientFacts(recipient=a, diagnostic=diag) for a in rcpts]
        return new_facts(self.name, msg, recipients, context=text[:3000], original=original_from_text(text))


DECODER = GoogleGroups()
