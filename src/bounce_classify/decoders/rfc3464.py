"""RFC 3464 delivery status notifications (and RFC 6533 global ones)."""

from __future__ import annotations

from ..message import Message
from ..model import Facts
from ._common import body_text, new_facts, one_line, strip_dsn_type
from ._dsn import recipients_from_text
from ._textscan import attach_commands, attach_diagnostics

DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")


def decode_dsn(msg: Message, name: str, context_from_text: bool = True) -> Facts | None:
    """Shared by every decoder whose format carries a delivery-status part."""
    part = msg.find(*DSN_TYPES)
    if part is None:
        return None
    text = part.payload.decode("utf-8", "replace")
    per_message, recipients = recipients_from_text(text)
    if not recipients:
        return None
    human = body_text(msg) if context_from_text else ""
    attach_diagnostics(recipients, human)
    attach_commands(recipients, human)
    facts = new_facts(name, msg, recipients,
                      reporting_mta=one_line(strip_dsn_type(per_message.get("reporting-mta"))),
                      context=human)
    arrival = per_message.get("arrival-date")
    if arrival:
        facts.timestamp = one_line(arrival)
    return facts


class RFC3464:
    name = "rfc3464"

    def detect(self, msg: Message) -> bool:
        if msg.content_type == "multipart/report":
            return True
        return msg.find(*DSN_TYPES) is not None

    def decode(self, msg: Message) -> Facts | None:
        return decode_dsn(msg, self.name)


DECODER = RFC3464()
