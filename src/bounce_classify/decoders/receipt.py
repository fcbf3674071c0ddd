"""Delivery receipts written as text: Outlook and Exchange's "Delivered:" and "Relayed:".

A sender who asks Outlook for a delivery receipt gets, from servers that do not send a
DSN, a plain message titled "Delivered: <subject>" saying "Your message has been
delivered to the following recipients:" with one recipient per line, or "Relayed:
<subject>" saying delivery "is complete, but no delivery notification was sent by the
destination server". Older Exchange writes "Your message / To: … / was delivered to the
following recipient(s):" and names the recipients by display name only, so the address
comes from the quoted "To:" line.  Each recipient becomes a ``delivered`` record.
"""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import addresses, new_facts

_SUBJECT = lazy_re(r"^\s*(delivered|relayed)\s*:", re.I)
_HEADING = lazy_re(
    r"^[ \t]*(?P<heading>Your message has been delivered to the following recipients?|"
    r"(?:Your message )?was delivered to the following recipient\(s\)|"
    r"Delivery to these recipients or (?:groups|distribution lists) is complete, but no delivery "
    r"notification was sent by the destination server)\s*:?[ \t]*$", re.I | re.M)
# the recipients' block ends at the original's quoted "Subject:" or at two blank lines
_BLOCK_END = lazy_re(r"^[ \t]*(?:Subject|Sent)[ \t]*:|\n[ \t]*\n[ \t]*\n", re.I | re.M)
# the older layout quotes the original's "To:" above the heading, as "Name <address>" items
_QUOTED_TO = lazy_re(r"^[ \t]+To:[ \t]*([^\n]+)", re.I | re.M)
_NAMED = lazy_re(r"\s*\"?([^\"<>;,]*?)\"?\s*<([^<>\s]{1,320})>")


class Receipt:
    name = "receipt"

    def detect(self, msg: Message) -> bool:
        if not _SUBJECT.match(msg.headers.decoded("subject") or ""):
            return False
        return msg.find("message/delivery-status", "message/feedback-report") is None

    def decode(self, msg: Message) -> Facts | None:
        action = _SUBJECT.match(msg.headers.decoded("subject") or "")
        text = msg.plain_text[:20000]
        m = _HEADING.search(text)
        if action is None or m is None:
            return None
        rest = text[m.end():m.end() + 8000]
        end = _BLOCK_END.search(rest)
        block = rest[:end.start()] if end else rest
        if "@" not in block:
            block = _named_recipients(text[:m.start()], block)
        heading = " ".join(m.group("heading").split())
        seen: set[str] = set()
        recipients = []
        for addr in addresses(block):
            if addr.lower() in seen:
                continue
            seen.add(addr.lower())
            recipients.append(RecipientFacts(recipient=addr, action=action.group(1).lower(),
                                             diagnostic=heading, evidence=[heading]))
        if not recipients:
            return None
        return new_facts(self.name, msg, recipients, kind="delivered")


def _named_recipients(above: str, names: str) -> str:
    """The addresses on the quoted "To:" line whose display names the receipt lists.

    The older layout names each recipient it delivered to ("Kim Lee on <date>"); an address
    whose name is not among them was not reported delivered, unless the line has one address.
    """
    quoted = _QUOTED_TO.search(above)
    if quoted is None:
        return ""
    line = quoted.group(1)
    named = _NAMED.findall(line)
    if len(addresses(line)) <= 1:
        return line
    listed = names.lower()
    return " ".join(addr for name, addr in named if name.strip() and name.strip().lower() in listed)


DECODER = Receipt()
