"""qmail (and its relatives): "Hi. This is the qmail-send program at ..."."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts
from ..patterns import ci_regex
from ._mta import decode_standard
from .rfc3464 import DSN_TYPES

_BODY = ci_regex(r"This is the qmail-send program|I'm afraid I wasn't able to deliver your message|"
                   r"qmail-send|Remote host said:")
_START = lazy_re(r"wasn't able to deliver your message to the following addresses\.?|"
                    r"unable to deliver your message to the following address", re.I)
_STOP = lazy_re(r"^--- (?:Below this line is a copy of the message|Enclosed are the original headers)", re.M)


class Qmail:
    name = "qmail"

    def detect(self, msg: Message) -> bool:
        if _BODY.search(msg.plain_text[:1500]):
            return True
        # qmail's subject alone is weak: other MTAs use "failure notice" too, and one that writes
        # a delivery-status part is read better by the RFC 3464 reader
        subject = (msg.headers.decoded("subject") or "").lower()
        return (subject.startswith("failure notice") and "x-ymailisg" not in msg.headers
                and msg.find(*DSN_TYPES) is None)

    def decode(self, msg: Message) -> Facts | None:
        return decode_standard(msg, self.name, start=_START, stop=_STOP, prefer_text=True)


DECODER = Qmail()
