"""Amazon SES delivery status notifications (current and the 2011-2012 legacy form)."""

from __future__ import annotations

import json
import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import body_text, clean_address, new_facts, one_line

# SES's own words wrapped round the remote reply it got, quoted:
#   5.1.0 - Unknown address error 550-'5.7.1 <sender@...>... Access denied' (delivery attempts: 0)
# The code before the dash is SES's category, often a guess ("Unknown address error" for a
# refused sender); the quoted reply is the receiving server's, and it is the diagnostic.
_WRAPPED = lazy_re(r"^\s*([45]\.\d{1,3}\.\d{1,3}) - [^'\n]{0,80}?\b([45]\d\d)[- ]'(\s*([45]\.\d{1,3}\.\d{1,3})?[^'\n]*)'")
_LEGACY = lazy_re(r"The following message to <([^>]+)> was undeliverable\.\s*"
                     r"The reason for the problem:\s*(.+?)(?:\n\s*\n|$)", re.I | re.S)


class AmazonSES:
    name = "amazon-ses"

    def detect(self, msg: Message) -> bool:
        h = msg.headers
        if "x-ses-outgoing" in h or "x-aws-outgoing" in h:
            return "amazon workmail" not in (h.get("x-mailer") or "").lower()
        frm = (h.get("from") or "").lower()
        if "x-amz-sns-message-id" in h or "no-reply@sns.amazonaws.com" in frm:
            return True
        return "amazonses.com" in frm or "amazonses.com" in (h.get("message-id") or "").lower()

    def decode(self, msg: Message) -> Facts | None:
        from .rfc3464 import decode_dsn

        facts = decode_dsn(msg, self.name)
        if facts is not None:
            for r in facts.recipients:
                _unwrap(r)
            return facts
        text = body_text(msg)
        if text.lstrip().startswith("{"):
            return _notification_by_email(text)
        legacy = _LEGACY.search(text)
        if legacy:
            r = RecipientFacts(recipient=clean_address(legacy.group(1)), diagnostic=one_line(legacy.group(2)))
            return new_facts(self.name, msg, [r], context=text[:3000])
        return None


def _unwrap(r: RecipientFacts) -> None:
    """The receiving server's reply code and status, when SES quotes its reply."""
    m = _WRAPPED.match(r.diagnostic or "")
    if m is None:
        return
    ses_code, reply, quoted, status = m.groups()
    r.evidence.append(r.diagnostic or "")
    r.reply_code = reply
    r.diagnostic = f"{reply} {quoted.strip()}"
    if status:
        r.status = status
    elif r.status is None or r.status.endswith(".0.0"):
        r.status = ses_code  # the remote gave none: SES's category beats the DSN's X.0.0


def _notification_by_email(text: str) -> Facts | None:
    """An SNS e-mail subscription: the notification JSON is the body, possibly line-folded.

    Long lines get split on the way ("...!\n " or "\n "), and SNS appends an unsubscribe
    footer after the document, which ``raw_decode`` leaves alone.
    """
    from . import ses_notification

    body = text.strip()
    decoder = json.JSONDecoder()
    for candidate in (body, re.sub(r"!?\n[ \t]", "", body), body.replace("\n", "")):
        try:
            doc, _ = decoder.raw_decode(candidate)
        except ValueError:
            continue
        if isinstance(doc, dict) and ses_notification.DECODER.detect(doc):
            return ses_notification.DECODER.decode(doc)
    return None


DECODER = AmazonSES()
