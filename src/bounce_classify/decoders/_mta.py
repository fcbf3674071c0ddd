"""The shared reading for MTA formats: the DSN part when there is one, else the text."""

from __future__ import annotations

import re

from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import body_text, clean_address, cut_at_original, new_facts, original_from_text, original_part
from ._signals import mark_delays, senders
from ._textscan import attach_commands, error_paragraph, paragraph_with, scan_recipients


def decode_standard(msg: Message, name: str, *, start: re.Pattern[str] | None = None,
                    stop: re.Pattern[str] | None = None, prefer_text: bool = False) -> Facts | None:
    """DSN part first (named for this MTA), else address blocks in the text after ``start``."""
    from .rfc3464 import decode_dsn

    if not prefer_text:
        facts = decode_dsn(msg, name)
        if facts is not None:
            return facts
    text = body_text(msg)
    region = text
    if start is not None:
        m = start.search(text)
        if m:
            # from the start of the marker's line: a list heading there ("The following
            # address(es) failed:") tells the scanner the addresses below it failed
            region = text[text.rfind("\n", 0, m.start()) + 1:]
    if stop is not None:
        m = stop.search(region)
        if m:
            region = region[: m.start()]
    original = original_part(msg) or original_from_text(text)
    recipients = scan_recipients(region, senders(msg, original))
    if not recipients:
        recipients = failed_recipients_header(msg, region)
    if not recipients and prefer_text:
        facts = decode_dsn(msg, name)
        if facts is not None:
            return facts
    if not recipients:
        return None
    attach_commands(recipients, text)
    mark_delays(recipients, cut_at_original(text))
    return new_facts(name, msg, recipients, context=text[:4000], original=original)


def failed_recipients_header(msg: Message, text: str) -> list[RecipientFacts]:
    """Recipients named in X-Failed-Recipients, with the error paragraph of the text."""
    out = []
    for value in msg.headers.get_all("x-failed-recipients"):
        for part in value.split(","):
            a = clean_address(part)
            if a:
                diag = paragraph_with(text, a) or error_paragraph(text)
                out.append(RecipientFacts(recipient=a, diagnostic=diag))
    return out
