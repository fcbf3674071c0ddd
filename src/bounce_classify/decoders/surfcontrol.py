"""SurfControl E-mail Filter: "Your message could not be sent." with X-SEF-* headers.

The gateway sends a multipart/report: a text part listing the attempts ("Failed to send to
identified host, <addr>: [ip], <reply>"), a delivery-status part and the original.
"""

from __future__ import annotations

from ..message import Message
from ..model import Facts
from . import generic, rfc3464
from ._delegate import decode_with


class SurfControl:
    name = "surfcontrol"

    def detect(self, msg: Message) -> bool:
        h = msg.headers
        if "x-sef-processed" in h:
            return True
        return "surfcontrol" in (h.get("x-mailer") or "").lower()

    def decode(self, msg: Message) -> Facts | None:
        return decode_with(self.name, msg, (rfc3464.DECODER, generic.DECODER))


DECODER = SurfControl()
