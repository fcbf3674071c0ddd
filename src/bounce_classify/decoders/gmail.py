"""Gmail and Google Workspace notices ("** Address not found **", "Send mail as" failures)."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import (
    addressees,
    body_text,
    clean_address,
    cut_at_original,
    new_facts,
    one_line,
    original_from_text,
)
from ._textscan import attach_diagnostics

_RESPONSE = lazy_re(
    r"(?:The response (?:from the remote server )?was|Technical details of (?:permanent|temporary) failure|"
    r"The error that the other server returned was)\s*:\s*", re.I)
_OTHER_SERVER = lazy_re(r"The error that the other server returned was\s*:\s*", re.I)
_TO_LINE = lazy_re(
    r"(?:wasn't delivered to|to the following recipient failed permanently:|has been delayed:|"
    r"problem delivering your message to|Your message to|temporary problem delivering your message to|"
    r"following recipient failed temporarily:)\s*<?([^\s<>]+@[^\s<>]+?)>?(?:\s|\.\s|$)", re.I)
# Google's delay warnings: the message is still queued and being retried.
_DELAY = lazy_re(r"has been delayed:|THIS IS A WARNING MESSAGE ONLY|Message will be retried for", re.I)
_GOOGLE_FROM = lazy_re(r"mailer-daemon@(?:googlemail|google)\.com", re.I)


def _gmail_reply(text: str) -> str | None:
    body = cut_at_original(text)
    m = _OTHER_SERVER.search(body) or _RESPONSE.search(body)
    if not m:
        return None
    rest = body[m.end():].lstrip("\n")
    # the reply runs to the next blank line; Google wraps long replies
    end = re.search(r"\n\s*\n", rest)
    return one_line(rest[: end.start()] if end else rest)


class Gmail:
    name = "gmail"

    def detect(self, msg: Message) -> bool:
        # a group's refusal is the Google Groups decoder's (tried first); an ordinary bounce
        # for an address at googlegroups.com, which that decoder leaves, is read here
        return bool(_GOOGLE_FROM.search(msg.headers.get("from") or "")) and "Google Groups" not in msg.plain_text[:3000]

    def decode(self, msg: Message) -> Facts | None:
        from .rfc3464 import decode_dsn

        text = body_text(msg)
        reply = _gmail_reply(text)
        facts = decode_dsn(msg, self.name)
        if facts is not None:
            for r in facts.recipients:
                if reply and (not r.diagnostic or len(reply) > len(r.diagnostic)):
                    r.diagnostic = reply
            return facts
        rcpts = [a for a in (clean_address(v) for v in msg.headers.get_all("x-failed-recipients")) if a]
        if not rcpts:
            rcpts = [a for a in (clean_address(m.group(1)) for m in _TO_LINE.finditer(text)) if a]
        original = original_from_text(text)
        if not rcpts and original is not None:
            rcpts = addressees(original)[:1]
        if not rcpts:
            return None
        action = "delayed" if _DELAY.search(text[:3000]) else None
        recipients = [RecipientFacts(recipient=a, diagnostic=reply, action=action) for a in dict.fromkeys(rcpts)]
        attach_diagnostics(recipients, text)
        return new_facts(self.name, msg, recipients, context=text[:4000], original=original)


DECODER = Gmail()
