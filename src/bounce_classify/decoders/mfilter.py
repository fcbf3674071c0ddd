"""m-FILTER (Digital Arts' mail gateway): "-------server message" / "-------SMTP command" reports.

The report lists the failed addresses, then the remote server's reply under
"-------server message", the command it answered under "-------SMTP command", and the
original under "-------original message" (or a summary under "-------original mail info").
The command matters: the same "unknown user" reply means a missing mailbox at RCPT TO and a
filter after DATA.
"""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import SMTP_COMMANDS, Facts, RecipientFacts
from ._common import addresses, body_text, new_facts, one_line, original_from_text

_SECTION = lazy_re(r"^-{5,}\s*(server message|SMTP command|original (?:message|mail info))\s*$", re.I | re.M)


def _sections(text: str) -> tuple[str, dict[str, str]]:
    """The text before the first section marker, and each section's text by its lower-case name."""
    marks = list(_SECTION.finditer(text))
    if not marks:
        return text, {}
    out: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out.setdefault(m.group(1).lower(), text[m.end():end].strip())
    return text[: marks[0].start()], out


class MFilter:
    name = "mfilter"

    def detect(self, msg: Message) -> bool:
        head = msg.plain_text[:4000]
        return "-------" in head and "-------smtp command" in head.lower()

    def decode(self, msg: Message) -> Facts | None:
        text = body_text(msg)
        preamble, sections = _sections(text)
        reply = one_line(sections.get("server message", "")) or None
        words = sections.get("smtp command", "").split()
        command = words[0].upper() if words and words[0].upper() in SMTP_COMMANDS else None
        failed = addresses(preamble) or (addresses(reply) if reply else [])
        if not failed:
            return None
        recipients = [RecipientFacts(recipient=a, diagnostic=reply, smtp_command=command,
                                     evidence=[line for line in (reply, command) if line])
                      for a in dict.fromkeys(failed)]
        facts = new_facts(self.name, msg, recipients, context=preamble[:2000])
        if facts.original_headers is None:
            for key in ("original message", "original mail info"):
                if key in sections:
                    facts.original_headers = original_from_text("Original message follows\n\n" + sections[key])
                    break
        return facts


DECODER = MFilter()
