"""Amazon SES delivery status notifications (current and the 2011-2012 legacy form)."""

from __future__ import annotations

import json
import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import body_text, clean_address, new_facts, one_line

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
            return facts
        text = body_text(msg)
        if text.lstrip().startswith("{"):
            return _notification_by_email(text)
        legacy = _LEGACY.search(text)
        if legacy:
            r = RecipientFacts(recipient=clean_address(legacy.group(1)), diagnostic=one_line(legacy.group(2)))
            return new_facts(self.name, msg, [r], context=text[:3000])
        return None


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
