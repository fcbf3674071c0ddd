"""Zoho Mail: Exim-like text from mailer-daemon@mail.zoho.com, with an X-ZohoMail header.

Each failed address is followed on the same line by Zoho's summary, for example
"Invalid Address, ERROR_CODE :550, ERROR_CODE :Requested action not taken: mailbox
unavailable"; the remote server's enhanced code appears there when it gave one.
"""

from __future__ import annotations

from ..message import Message
from ..model import Facts
from . import exim
from ._delegate import decode_with


class Zoho:
    name = "zoho"

    def detect(self, msg: Message) -> bool:
        h = msg.headers
        if "x-zohomail" not in h:
            return False
        return "mailer-daemon" in (h.get("from") or "").lower()

    def decode(self, msg: Message) -> Facts | None:
        return decode_with(self.name, msg, (exim.DECODER,))


DECODER = Zoho()
