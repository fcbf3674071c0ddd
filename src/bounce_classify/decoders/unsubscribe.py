"""Unsubscribe requests a mail client sends to a list's ``List-Unsubscribe: <mailto:…>`` address.

Apple Mail's "Unsubscribe" button sends a short message marked ``X-Apple-Unsubscribe: true``
(and ``Auto-Submitted``); other clients send a message whose subject is just
"unsubscribe", marked ``Auto-Submitted``.  Either way it is the subscriber opting out: a
``feedback`` record of type ``opt-out`` for the address in From, which a list manager
should remove.  It is not an auto-reply, although it carries Auto-Submitted.
"""

from __future__ import annotations

from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import clean_address, new_facts


class Unsubscribe:
    name = "unsubscribe"

    def detect(self, msg: Message) -> bool:
        h = msg.headers
        if (h.get("x-apple-unsubscribe") or "").strip().lower() == "true":
            return True
        auto = (h.get("auto-submitted") or "").strip().lower()
        return auto.startswith("auto-") and (h.decoded("subject") or "").strip().lower() == "unsubscribe"

    def decode(self, msg: Message) -> Facts | None:
        sender = clean_address(msg.headers.decoded("reply-to")) or clean_address(msg.headers.decoded("from"))
        if sender is None:
            return None
        evidence = [f"From: {sender}", f"Subject: {(msg.headers.decoded('subject') or '').strip()}"]
        if "x-apple-unsubscribe" in msg.headers:
            evidence.append("X-Apple-Unsubscribe: true")
        r = RecipientFacts(recipient=sender, feedback_type="opt-out", evidence=evidence,
                           labels={"feedback_type": "opt-out"})
        return new_facts(self.name, msg, [r], kind="feedback")


DECODER = Unsubscribe()
