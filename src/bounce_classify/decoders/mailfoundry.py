"""MailFoundry (a filtering appliance): "Message delivery has failed".

The text says "Unable to deliver message to: <addr>", then "Delivery failed for the
following reason:" and the remote's reply ("Server host[ip] failed with: 550 ...").
"""

from __future__ import annotations

from ..message import Message
from ..model import Facts
from . import generic
from ._delegate import decode_with


class MailFoundry:
    name = "mailfoundry"

    def detect(self, msg: Message) -> bool:
        subject = (msg.headers.decoded("subject") or "").strip().lower()
        if subject != "message delivery has failed":
            return False
        text = msg.plain_text[:2000]
        return "Unable to deliver message to:" in text and "Delivery failed for the following reason" in text

    def decode(self, msg: Message) -> Facts | None:
        return decode_with(self.name, msg, (generic.DECODER,))


DECODER = MailFoundry()
