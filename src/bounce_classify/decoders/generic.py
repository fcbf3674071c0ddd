"""The last resort: bounce-shaped text with no known MTA signature."""

from __future__ import annotations

from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import (
    addressees,
    addresses,
    body_text,
    clean_address,
    cut_at_original,
    new_facts,
    original_from_text,
    original_part,
)
from ._dsn import recipients_from_text
from ._signals import declares_dsn, from_mail_system, looks_like_bounce, mark_delays, sender_addresses
from ._textscan import bare_listed_names, error_paragraph, reporter_domain, scan_recipients


class Generic:
    name = "generic"

    def detect(self, msg: Message) -> bool:
        return looks_like_bounce(msg)

    def decode(self, msg: Message) -> Facts | None:
        text = body_text(msg)
        exclude = sender_addresses(msg, text)
        recipients: list[RecipientFacts] = []
        if "recipient:" in text.lower():
            _, recipients = recipients_from_text(text)
            recipients = [r for r in recipients if r.recipient and (r.status or r.diagnostic or r.action)]
        if not recipients:
            recipients = scan_recipients(text, exclude)
        if not recipients:
            failed = [a for a in (clean_address(v) for v in msg.headers.get_all("x-failed-recipients")) if a]
            diag = error_paragraph(text)
            recipients = [RecipientFacts(recipient=a, diagnostic=diag) for a in failed]
        if not recipients:
            recipients = _local_users(msg, text)
        original = original_part(msg) or original_from_text(text)
        if not recipients and original is not None:
            # a bounce that names nobody ("Delivery report unavailable", an empty DSN): the
            # returned original's single To is whom it was for
            named = addressees(original)
            to = [a for a in named if a not in exclude]
            if len(set(to)) == 1:
                diag = error_paragraph(text)
                recipients = [RecipientFacts(recipient=to[0], diagnostic=diag,
                                             evidence=[f"To: {to[0]} (returned original)"])]
            elif not named and addresses(original.get("to") or ""):
                # a list post came back: To names the list, and the member is not named
                recipients = [RecipientFacts(recipient=None, diagnostic=error_paragraph(text), evidence=[
                    f"To: {original.get('to')} is the mailing list's own address (the returned "
                    "original's List-Post or X-BeenThere); the member whose server refused the copy "
                    "is not named"])]
        if not recipients and declares_dsn(msg) and from_mail_system(msg):
            # a delivery report from a mail system whose parts never arrived ("<<< No Message
            # Collected >>>"): still a bounce, though nobody can be named
            recipients = [RecipientFacts(recipient=None, diagnostic=error_paragraph(text), evidence=[
                "Content-Type: multipart/report; report-type=delivery-status, from a mail system, "
                "but no recipient could be read (a truncated or damaged report)"])]
        if not recipients:
            return None
        mark_delays(recipients, cut_at_original(text))
        facts = new_facts(self.name, msg, recipients, context=text[:4000])
        if facts.original_headers is None:
            facts.original_headers = original
        return facts


def _local_users(msg: Message, text: str) -> list[RecipientFacts]:
    """Bare local parts listed under an error heading, in a report from the mail system of a
    domain: they are that domain's users."""
    domain = reporter_domain(msg.headers.get("from"))
    listed = bare_listed_names(text) if domain else None
    if not listed:
        return []
    head, names = listed
    return [RecipientFacts(recipient=f"{n.lower()}@{domain}", diagnostic=head,
                           evidence=[head, f"{n} (a bare local part; the domain is the reporter's, {domain})"])
            for n in names]


DECODER = Generic()
