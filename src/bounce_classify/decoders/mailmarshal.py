"""MailMarshal SMTP (a filtering gateway): "Undeliverable Mail: "<subject>"".

The report names the message ("Your message:", its From and Subject), then the reason
("Could not be delivered because of" and the remote's reply), then the addresses ("The
following recipients were affected:"), and an "Additional Information" table with
Reporting-MTA and Remote-MTA in angle brackets.
"""

from __future__ import annotations

from ..message import Message
from ..model import Facts
from . import generic
from ._delegate import decode_with


class MailMarshal:
    name = "mailmarshal"

    def detect(self, msg: Message) -> bool:
        subject = (msg.headers.decoded("subject") or "").lstrip()
        if not subject.lower().startswith("undeliverable mail:"):
            return False
        text = msg.plain_text[:3000]
        return "Could not be delivered because of" in text or "recipients were affected" in text

    def decode(self, msg: Message) -> Facts | None:
        return decode_with(self.name, msg, (generic.DECODER,))


DECODER = MailMarshal()
