"""Exim: "Mail delivery failed: returning message to sender", X-Failed-Recipients."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ..patterns import ci_regex
from ._common import clean_address, new_facts
from ._mta import decode_standard

_BODY = ci_regex(r"This message was created automatically by mail delivery software|"
                   r"could not be delivered to one or more of its\s+recipients|"
                   r"has not yet been delivered to one or more of its")
_START = lazy_re(r"(?:following address\(es\) failed|following address\(es\) deferred|"
                    r"address\(es\) failed|ha(?:ve|s) not yet been delivered[^\n]*)\s*:?\s*$", re.I | re.M)


class Exim:
    name = "exim"

    def detect(self, msg: Message) -> bool:
        mid = msg.headers.get("message-id") or ""
        subject = (msg.headers.decoded("subject") or "").lower()
        if subject.startswith(("mail delivery failed", "warning: message", "mail failure")):
            return True
        if re.match(r"\s*<E1[0-9A-Za-z]{5}-", mid):
            return True
        return bool(_BODY.search(msg.plain_text[:2000]))

    def decode(self, msg: Message) -> Facts | None:
        return malformed_addresses(msg, self.name) or decode_standard(msg, self.name, start=_START,
                                                                      prefer_text=False)


# "Mail failure - malformed recipient address": Exim lists each address it could not parse as
# "  <what the header said>: <why>", and ignores it; the other recipients were accepted.
_MALFORMED_HEAD = lazy_re(r"recipient addresses that were\s+incorrectly constructed:\s*$", re.I | re.M)
_MALFORMED_LINE = lazy_re(r"^[ \t]+(\S[^\n]*?): ((?:malformed address|unbalanced|missing|[^\n]{0,40}"
                          r"(?:not follow|expected|unexpected))[^\n]*)$", re.I | re.M)
_ANGLE = lazy_re(r"<([^<>\s]+@[^<>\s]+)>")


def malformed_addresses(msg: Message, name: str) -> Facts | None:
    text = msg.plain_text
    head = _MALFORMED_HEAD.search(text[:4000])
    if head is None:
        return None
    recipients = []
    for m in _MALFORMED_LINE.finditer(text, head.end(), head.end() + 4000):
        raw = m.group(1)
        # read as an address header would: "phrase <addr>" means addr
        angle = _ANGLE.search(raw)
        addr = clean_address(angle.group(1) if angle else raw)
        if addr:
            recipients.append(RecipientFacts(recipient=addr, diagnostic=m.group(0).strip(),
                                             evidence=[m.group(0).strip()]))
    return new_facts(name, msg, recipients, context=text[:4000]) if recipients else None


DECODER = Exim()
