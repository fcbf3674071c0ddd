"""au by KDDI (EZweb) mobile mail: "Mail System Error - Returned Mail" from Postmaster@ezweb.ne.jp.

The carrier states its own verdict in a heading above the addresses: "The user(s) account
is disabled." for a suspended subscriber, "Each of the following recipients was rejected
by a remote mail server." for a refusal, "Your message was not delivered within …" for
an expiry.  A refusal with no SMTP dialogue under it is the subscriber's own reception
filter (domain or address filtering, a feature of Japanese mobile mail).  Some reports
add a delivery-status part; the heading is in the text part either way.
"""

from __future__ import annotations

from ..message import Message
from ..model import Facts
from . import generic, rfc3464
from ._delegate import decode_with


class EZweb:
    name = "ezweb"

    def detect(self, msg: Message) -> bool:
        sender = (msg.headers.get("from") or "").lower()
        return "postmaster@ezweb.ne.jp" in sender and \
            (msg.headers.decoded("subject") or "").strip().lower().startswith("mail system error")

    def decode(self, msg: Message) -> Facts | None:
        return decode_with(self.name, msg, (rfc3464.DECODER, generic.DECODER))


DECODER = EZweb()
