"""RFC 3464 delivery status notifications (and RFC 6533 global ones)."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import addresses, body_text, cut_at_original, new_facts, one_line, original_part, strip_dsn_type
from ._dsn import recipients_from_text
from ._signals import sender_addresses
from ._textscan import attach_commands, attach_diagnostics, attach_mailer_replies, scan_blocks

DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")


def decode_dsn(msg: Message, name: str, context_from_text: bool = True) -> Facts | None:
    """Shared by every decoder whose format carries a delivery-status part."""
    part = msg.find(*DSN_TYPES)
    if part is not None:
        text = part.text
        human = body_text(msg) if context_from_text else ""
    else:
        # delivery-status fields pasted into the text (a report whose MIME structure was lost
        # or never there): read them where they are, the text before them is the human part
        full = body_text(msg)
        m = _INLINE_DSN.search(full)
        if m is None:
            return None
        text, human = full[m.start():], full[: m.start()]
    per_message, recipients = recipients_from_text(text)
    recipients = [r for r in recipients if r.recipient or r.status or r.action]
    if not recipients:
        return None
    _fill_unreadable_recipients(recipients, human, msg)
    attach_diagnostics(recipients, human)
    attach_mailer_replies(recipients, human)
    attach_commands(recipients, human)
    facts = new_facts(name, msg, recipients,
                      reporting_mta=one_line(strip_dsn_type(per_message.get("reporting-mta"))),
                      context=human)
    arrival = per_message.get("arrival-date")
    if arrival:
        facts.timestamp = one_line(arrival)
    return facts


_INLINE_DSN = lazy_re(
    r"^(?:Reporting-MTA|Final-Recipient|Original-Recipient)\s*:.*\n(?:[ \t].*\n|[A-Za-z-]+\s*:.*\n){0,12}?"
    r"(?:Action|Status)\s*:", re.I | re.M)


def _fill_unreadable_recipients(recipients: list[RecipientFacts], human: str, msg: Message) -> None:
    """A Final-Recipient that is no address (``@mx.example.org``): take it from the text or original."""
    missing = [r for r in recipients if r.recipient is None]
    if len(missing) != 1:
        return
    candidates = [b.recipient for b in scan_blocks(cut_at_original(human), sender_addresses(msg))]
    if not candidates:
        original = original_part(msg)
        if original is not None:
            candidates = addresses(original.get("to") or "")
    known = {r.recipient for r in recipients}
    candidates = [c for c in dict.fromkeys(candidates) if c not in known]
    if len(candidates) == 1:
        missing[0].recipient = candidates[0]


class RFC3464:
    name = "rfc3464"

    def detect(self, msg: Message) -> bool:
        if msg.content_type == "multipart/report":
            return True
        return msg.find(*DSN_TYPES) is not None

    def decode(self, msg: Message) -> Facts | None:
        return decode_dsn(msg, self.name)


DECODER = RFC3464()
