"""Active!hunter (a Japanese anti-spam gateway): "FAILURE NOTICE :" with an X-AHMAILID header.

The report is Sendmail's layout ("The following addresses had permanent fatal errors",
"Transcript of session follows") inside a multipart/report that has no
delivery-status part; the boundary carries the product name.
"""

from __future__ import annotations

from ..message import Message
from ..model import Facts
from . import qmail, sendmail
from ._delegate import decode_with


class ActiveHunter:
    name = "activehunter"

    def detect(self, msg: Message) -> bool:
        if "x-ahmailid" in msg.headers:
            return True
        return "Active!Hunter" in (msg.headers.get("content-type") or "")

    def decode(self, msg: Message) -> Facts | None:
        return decode_with(self.name, msg, (sendmail.DECODER, qmail.DECODER))


DECODER = ActiveHunter()
