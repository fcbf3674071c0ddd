"""Exim: "Mail delivery failed: returning message to sender", X-Failed-Recipients."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts
from ..patterns import ci_regex
from ._mta import decode_standard

_BODY = ci_regex(r"This message was created automatically by mail delivery software|"
                   r"could not be delivered to one or more of its\s+recipients|"
                   r"has not yet been delivered to one or more of its")
_START = lazy_re(r"(?:following address\(es\) failed|following address\(es\) deferred|"
                    r"address\(es\) failed|have not yet been delivered[^\n]*)\s*:?\s*$", re.I | re.M)


class Exim:
    name = "exim"

    def detect(self, msg: Message) -> bool:
        mid = msg.headers.get("message-id") or ""
        subject = (msg.headers.decoded("subject") or "").lower()
        if subject.startswith(("mail delivery failed", "warning: message", "mail failure")):
            return True
        if re.match(r"\s*<E1[0-9A-Za-z]{5}-", mid):
            return True
        return bool(_BODY.search(msg.plain_text[:2000]))

    def decode(self, msg: Message) -> Facts | None:
        return decode_standard(msg, self.name, start=_START, prefer_text=False)


DECODER = Exim()
