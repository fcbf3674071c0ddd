"""MX Logic (a hosted filtering service): Exim's text sent from a host under mxlogic.net.

The bounce comes from ``MAILER-DAEMON@….mxlogic.net`` with a Message-ID starting
``<mxl~``, and its body is Exim's "This message was created automatically by mail
delivery software" report.
"""

from __future__ import annotations

from ..message import Message
from ..model import Facts
from . import exim
from ._delegate import decode_with


class MXLogic:
    name = "mxlogic"

    def detect(self, msg: Message) -> bool:
        h = msg.headers
        if (h.get("message-id") or "").lstrip().startswith("<mxl~"):
            return True
        sender = (h.get("from") or "").lower()
        return "mxlogic.net" in sender and "mailer-daemon" in sender

    def decode(self, msg: Message) -> Facts | None:
        return decode_with(self.name, msg, (exim.DECODER,))


DECODER = MXLogic()
