"""RFC 3834 automatic responses: vacation and out-of-office replies.

``Auto-Submitted`` alone does not make an auto-reply: most bounces carry it
too.  This decoder runs after every bounce decoder has declined the message.
"""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Headers, Message
from ..model import Facts, RecipientFacts
from ._common import clean_address, new_facts, one_line, original_part

# "Automatic reply" and "out of office" as mail clients title them, in the languages they ship
# in. Some put the words in brackets before the original subject ("[Automatyczna odpowied\u017a]
# Re: ..."); a list's tag ("[vacation-club] ...") is not that.
_WORDS = (r"auto(?:matic)?[ -]?(?:reply|response|antwort|r\u00e9ponse)|auto:|out of (?:the )?office|"
          r"vacation|abwesenheit|absence|r\u00e9ponse automatique|respuesta autom\u00e1tica|"
          r"resposta autom\u00e1tica|risposta automatica|automatisch antwoord|automatyczna odpowied|"
          r"automatisk(?:t)? svar|automaattinen vastaus|automatick\u00e1 odpov\u011b\u010f|automatische antwort|"
          r"autosvar|frav\u00e6rsmelding|otomatik yan\u0131t|otomatik yanit|automatikus v\u00e1lasz|r\u0103spuns automat|"
          r"\u03b1\u03c5\u03c4\u03cc\u03bc\u03b1\u03c4\u03b7 \u03b1\u03c0\u03ac\u03bd\u03c4\u03b7\u03c3\u03b7|"  # Greek
          r"\uc790\ub3d9 \ud68c\uc2e0|"  # Korean
          r"fuera de la oficina|absent du bureau|fora do escrit\u00f3rio|fuori (?:sede|ufficio)|afwezig|"
          r"\u0430\u0432\u0442\u043e\u043e\u0442\u0432\u0435\u0442|"  # Russian
          r"\u81ea\u52d5\u5fdc\u7b54|\u81ea\u52d5\u8fd4\u4fe1|\u4e0d\u5728|"  # Japanese
          r"\u81ea\u52a8\u56de\u590d|\u81ea\u52d5\u56de\u8986|\u81ea\u52d5\u56de\u5fa9")  # Chinese
_SUBJECT = lazy_re(rf"^\s*(?:\[\s*(?:{_WORDS})\w*\s*\]|(?:{_WORDS}))", re.I)
_DAEMON = lazy_re(r"^(?:mailer-daemon|postmaster|root|double-bounce|mail-daemon)@", re.I)


class AutoReply:
    name = "autoreply"

    def detect(self, msg: Message) -> bool:
        h = msg.headers
        auto = (h.get("auto-submitted") or "").strip().lower()
        if auto.startswith(("auto-replied", "auto-generated", "auto-notified")):
            return True
        if (h.get("precedence") or "").strip().lower() in ("auto_reply", "auto-reply"):
            return True
        if (h.get("x-apple-action") or "").strip().lower() == "vacation":
            return True
        if "x-autoreply" in h or "x-autorespond" in h or "x-vacationmessage" in h:
            return True
        return bool(_SUBJECT.match(h.decoded("subject") or ""))

    def decode(self, msg: Message) -> Facts | None:
        sender = clean_address(msg.headers.decoded("from"))
        if sender is None or _DAEMON.match(sender):
            return None
        subject = one_line(msg.headers.decoded("subject")) or ""
        rcpt = RecipientFacts(recipient=sender, diagnostic=subject or None,
                              evidence=[f"From: {sender}", f"Subject: {subject}"])
        return new_facts(self.name, msg, [rcpt], kind="autoreply", original=original_part(msg) or _replied_to(msg))


_MSG_ID = lazy_re(r"<([^<>\s]{1,250}@[^<>\s]{1,250})>")


def _replied_to(msg: Message) -> Headers | None:
    """The message an auto-reply answers, when it quotes none: the one Message-ID of In-Reply-To
    (RFC 3834 asks responders to set it), so the reply links back to what was sent."""
    ids = _MSG_ID.findall(msg.headers.get("in-reply-to") or "")
    return Headers([("Message-ID", f"<{ids[0]}>")]) if len(ids) == 1 else None


DECODER = AutoReply()
