"""Apache James: "Hi. This is the James mail server at host." under the subject "[BOUNCE]".

The text follows qmail's wording ("I'm afraid I wasn't able to deliver your message to the
following addresses"), then lists the message's details ("RCPT TO: addr", "Size (in
bytes): ...") and ends with "Error message below:" and the remote's reply.
"""

from __future__ import annotations

from ..message import Message
from ..model import Facts
from . import generic, qmail
from ._delegate import decode_with


class ApacheJames:
    name = "apache-james"

    def detect(self, msg: Message) -> bool:
        head = msg.plain_text[:600]
        if "This is the James mail server" in head:
            return True
        subject = (msg.headers.decoded("subject") or "").strip()
        return subject.startswith("[BOUNCE]") and "Message details:" in msg.plain_text[:3000]

    def decode(self, msg: Message) -> Facts | None:
        return decode_with(self.name, msg, (qmail.DECODER, generic.DECODER))


DECODER = ApacheJames()
