"""Postfix: "Undelivered Mail Returned to Sender" / "This is the mail system at host"."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts
from ..patterns import ci_regex
from ._mta import decode_standard

_BODY = ci_regex(r"This is the mail system at host|The Postfix program|postfix")
_START = lazy_re(r"^\s*The mail system\s*$|^\s*The Postfix program\s*$", re.I | re.M)


class Postfix:
    name = "postfix"

    def detect(self, msg: Message) -> bool:
        subject = (msg.headers.decoded("subject") or "").lower()
        if subject.startswith(("undelivered mail returned to sender", "delayed mail (still being retried)",
                               "successful mail delivery report", "mail delivery status report")):
            return True
        if "x-postfix-queue-id" in msg.body[:20000].decode("latin-1").lower():
            return True
        return bool(_BODY.search(msg.plain_text[:600]))

    def decode(self, msg: Message) -> Facts | None:
        return decode_standard(msg, self.name, start=_START)


DECODER = Postfix()
