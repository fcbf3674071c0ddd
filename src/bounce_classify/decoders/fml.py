"""fml (a Japanese mailing-list manager): notices marked with an ``X-MLServer: fml …`` header.

The list server answers a post it will not distribute with a notice to the poster: "You are
not a member of this mailing list <list@domain>." (the list takes posts from members only),
or "Loop Alert: Duplicated Message-ID" when a message comes round again.  The failed
address is the list's, or the one the loop was seen for, named in angle brackets.
"""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import body_text, clean_address, new_facts, one_line

_NOTICES = lazy_re(r"^[ \t]*((?:You are not a member of this mailing list|Duplicated Message-ID in)"
                      r"[ \t]*<([^<>\s]{3,254})>[^\n]*)", re.I | re.M)


class FML:
    name = "fml"

    def detect(self, msg: Message) -> bool:
        return (msg.headers.get("x-mlserver") or "").lstrip().lower().startswith("fml")

    def decode(self, msg: Message) -> Facts | None:
        text = body_text(msg)
        recipients = []
        for m in _NOTICES.finditer(text[:5000]):
            addr = clean_address(m.group(2))
            if addr:
                line = one_line(m.group(1))
                recipients.append(RecipientFacts(recipient=addr, diagnostic=line, evidence=[line] if line else []))
        if not recipients:
            return None
        return new_facts(self.name, msg, recipients, context=text[:2000])


DECODER = FML()
