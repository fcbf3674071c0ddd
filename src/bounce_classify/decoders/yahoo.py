"""Yahoo! Mail: X-YMailISG, "Sorry, we were unable to deliver your message"."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts
from ._mta import decode_standard

_START = lazy_re(r"unable to deliver your message to the following address(?:es)?\.?", re.I)
_STOP = lazy_re(r"^--- Below this line is a copy of the message", re.M)


class Yahoo:
    name = "yahoo"

    def detect(self, msg: Message) -> bool:
        return "x-ymailisg" in msg.headers or "Sorry, we were unable to deliver your message" in msg.plain_text[:1000]

    def decode(self, msg: Message) -> Facts | None:
        return decode_standard(msg, self.name, start=_START, stop=_STOP, prefer_text=True)


DECODER = Yahoo()
