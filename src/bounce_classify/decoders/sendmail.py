"""Sendmail: "Returned mail: see transcript for details" with a session transcript."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts
from ..patterns import ci_regex
from ._mta import decode_standard

_BODY = ci_regex(r"-----\s*Transcript of session follows\s*-----|The original message was received at")
_START = lazy_re(r"-----\s*The following addresses? (?:had|has) (?:permanent fatal errors|"
                    r"transient non-fatal errors)\s*-----|-----\s*Transcript of session follows\s*-----", re.I)


class Sendmail:
    name = "sendmail"

    def detect(self, msg: Message) -> bool:
        subject = (msg.headers.decoded("subject") or "").lower()
        if subject.startswith(("returned mail:", "warning: could not send message")):
            return True
        return bool(_BODY.search(msg.plain_text[:3000]))

    def decode(self, msg: Message) -> Facts | None:
        return decode_standard(msg, self.name, start=_START)


DECODER = Sendmail()
