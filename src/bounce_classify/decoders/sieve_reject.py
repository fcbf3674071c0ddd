"""A Sieve "reject" (RFC 5429): the recipient's own mail filter refused the message.

The delivery agent (Dovecot's Pigeonhole, Cyrus) answers with a message disposition
notification rather than a DSN: ``multipart/report; report-type=disposition-notification``
whose ``Disposition`` is ``automatic-action/MDN-sent-automatically; deleted``, with the
filter's reason in the text part.  A read receipt the *reader* deleted says
``manual-action`` and is no bounce.
"""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import clean_address, new_facts, one_line
from ._dsn import parse_fields

_MDN_TYPES = ("message/disposition-notification", "message/global-disposition-notification")
_AUTO_DELETED = lazy_re(r"^\s*automatic-action\s*/[^;]*;\s*(?:deleted|rejected)\b", re.I)
# "Your message to <x> was automatically rejected:\n<reason>"
_REJECTED = lazy_re(r"\brejected:?[ \t]*\n?(.{1,500})", re.I | re.S)


class SieveReject:
    name = "sieve-reject"

    def detect(self, msg: Message) -> bool:
        return msg.content_type == "multipart/report" and \
            msg.params.get("report-type", "").lower() in ("disposition-notification",
                                                          "global-disposition-notification")

    def decode(self, msg: Message) -> Facts | None:
        part = msg.find(*_MDN_TYPES)
        if part is None:
            return None
        per_message, blocks = parse_fields(part.text)
        fields = {**per_message, **(blocks[0] if blocks else {})}
        if not _AUTO_DELETED.match(fields.get("disposition", "")):
            return None
        recipient = clean_address(fields.get("final-recipient") or fields.get("original-recipient"))
        if recipient is None:
            return None
        human = msg.plain_text
        m = _REJECTED.search(human)
        reason = one_line((m.group(1) if m else human).split("\n\n", 1)[0])
        rcpt = RecipientFacts(recipient=recipient, action="failed", diagnostic=reason,
                              evidence=[f"Disposition: {one_line(fields['disposition'])}"] + ([reason] if reason else []))
        return new_facts(self.name, msg, [rcpt], reporting_mta=_ua_host(fields.get("reporting-ua")))


def _ua_host(value: str | None) -> str | None:
    """Reporting-UA's name, the host that wrote the report (RFC 8098: "ua-name; ua-product"):
    "mx.example.org; Dovecot Mail Delivery Agent" -> "mx.example.org"; the product when alone."""
    name, _, product = (one_line(value) or "").partition(";")
    return name.strip() or product.strip() or None


DECODER = SieveReject()
