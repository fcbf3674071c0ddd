"""Shared extraction helpers for decoders: addresses, codes, commands, text."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..lazyre import lazy_re
from ..message import MAX_TEXT, Headers, Message, decode_header_value
from ..model import Facts, RecipientFacts
from ..patterns import PatternSet, ci_regex

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; these names are for annotations only
    from typing import Any

# "/" is legal in a local part but, in a bounce, comes from a path ("/home/u/.forward/x@y" in a
# pipe's error); leaving it out reads the address at the end of the path
# \w covers the letters of every script; a UTF-8 local part (RFC 6531) may also hold symbols
# and emoji, which it does not
ADDRESS = lazy_re(r"[\w.!#$%&'*+=?^`{|}~\u2600-\u27bf\U0001f000-\U0001faff-]{1,128}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,10}")
STATUS = lazy_re(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)")
REPLY = lazy_re(r"(?:^|[\s:;(<\"'#\[])([245][0-5]\d)(?=[\s\-,;:)>\]]|\.(?!\d)|$)")
_HTML_SCRIPT = lazy_re(r"(?is)<(script|style)\b.*?</\1\s*>")
_HTML_BREAK = lazy_re(r"(?i)<br\s*/?>|</(p|div|tr|li|h\d)>")
_ANGLED = lazy_re(r"<([^<>\s]{1,500})>")
SPACES = lazy_re(r"\s+")
TAGS = lazy_re(r"<[^<>]{0,2000}>")

class FirstOf:
    """Ordered case-insensitive patterns: which comes first in the list among those that match.

    All patterns are searched at once (an RE2 set), so a text that matches none, the usual
    case, costs one pass instead of one per pattern.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = [ci_regex(p) for p in patterns]
        self._set = PatternSet((p.pattern for p in self.patterns), case_sensitive=False)

    def search(self, text: str) -> tuple[int, Any] | None:
        """(index, match) of the first pattern in list order that matches, or None."""
        hits = self._set.matching(text)
        if not hits:
            return None
        i = min(hits)
        return i, self.patterns[i].search(text)


# "... (in reply to RCPT TO command)", "after RCPT TO:<...>", ">>> RCPT To:<...>"
_COMMANDS = (
    (r"\b(?:in reply to|in response to|after|while sending|during|at)\s+(?:the\s+)?end of data\b", "DATA"),
    # Postfix's "refused to talk to me": the server's greeting was a refusal
    (r"\b(?:after|during)\s+(?:the\s+)?initial connection\b|\bin reply to (?:the\s+)?(?:initial\s+)?greeting\b"
     r"|\brefused to talk to me\b", "CONN"),
    (r"\b(?:in reply to|after|while sending|during|response to|failed at|at)\s+(?:the\s+)?"
     r"(RCPT(?: TO)?|MAIL(?: FROM)?|DATA|EHLO|HELO|STARTTLS|AUTH|BDAT|CONNECT)\b", None),
    (r">>> (RCPT|MAIL|DATA|EHLO|HELO|STARTTLS|AUTH)", None),
    (r"\b(?:does not|did not|didn't) like (?:our )?recipient\b", "RCPT"),
    (r"\b(?:does not|did not|didn't) like (?:our )?sender\b", "MAIL"),
    (r"\b(?:does not|did not|didn't) like our final DATA\b", "DATA"),
    (r"\b(?:does not|did not|didn't) like our (RCPT(?: TO)?|MAIL(?: FROM)?|DATA|EHLO|HELO)\b", None),
    (r"\[(RCPT_TO|MAIL_FROM|DATA|EHLO)\]", None),
    (r"\b(RCPT TO|MAIL FROM) response\b", None),
    (r"\bSMTP AUTH\b|\bAUTH(?:ENTICATION)? (?:failed|unsuccessful|credentials invalid)", "AUTH"),
    (r"\bconnect(?:ion)? (?:to|refused|timed out)", "CONN"),
)
_COMMAND_SET = FirstOf(p for p, _ in _COMMANDS)


# A recipient line is short; searching a megabyte line (an attachment read as text) for an
# address would cost seconds, so line readers look only this far into a line.
MAX_LINE = 1000


def address_in_line(line: str) -> re.Match[str] | None:
    """The first address within a line's first MAX_LINE characters."""
    return ADDRESS.search(line, 0, MAX_LINE) if "@" in line else None


def clean_address(value: str | None) -> str | None:
    """``rfc822; <Foo@Example.org>`` -> ``foo@example.org``; None when no address."""
    if not value:
        return None
    v = value.strip()
    if ";" in v[:12]:
        v = v.split(";", 1)[1]
    # as written first: an encoded word in an address is what the envelope carried
    m = ADDRESS.search(v) or ADDRESS.search(decode_header_value(v))
    if not m:
        return None
    addr = m.group(0).strip(".'\"")
    local, _, domain = addr.rpartition("@")
    if local[:5].lower() == "smtp=":
        local = local[5:]  # an X.400 gateway's "dda:SMTP=user@example.org"
    if not local or not domain:
        return None
    return f"{local}@{domain}".lower()


def addresses(text: str) -> list[str]:
    return [a for a in (clean_address(m.group(0)) for m in ADDRESS.finditer(text)) if a]


def _own_words(text: str) -> str:
    """The reply without a callout report it quotes: Exim's "Called: <ip> Sent: RCPT TO:<a>
    Response: 550 5.1.1 ..." is the called server's reply, and its status is not this one's."""
    called = text.find("Called:")
    if called > 0 and "Response:" in text[called:]:
        return text[:called]
    return text


def first_status(text: str | None) -> str | None:
    if not text:
        return None
    m = STATUS.search(_own_words(text))
    return f"{m.group(1)}.{int(m.group(2))}.{int(m.group(3))}" if m else None


def all_statuses(text: str) -> list[str]:
    return [f"{m.group(1)}.{int(m.group(2))}.{int(m.group(3))}" for m in STATUS.finditer(_own_words(text))]


# A line that opens an SMTP session, or a command within one, in a transcript
SESSION_START = r"While talking to |\.\.\. while talking to |>>> "


def first_reply_code(text: str | None) -> str | None:
    if not text:
        return None
    # A greeting or an acknowledgement may come first ("220-laposte 421 4.2.1 Service
    # refused"): the failure is the first 4xx or 5xx reply, when there is one.
    # A number between two colons is a group of an IPv6 address ("2606:2800:220:6d::1") or
    # part of a time, not a reply.
    first = None
    text = text[:600]
    for m in REPLY.finditer(text):
        if text[m.start(1) - 1:m.start(1)] == ":" and text[m.end(1):m.end(1) + 1] == ":":
            continue
        if m.group(1)[0] in "45":
            return m.group(1)
        first = first or m.group(1)
    return first


# how a transcript's command words are reported: "RCPT TO" is RCPT
COMMAND_WORDS = {"RCPT TO": "RCPT", "MAIL FROM": "MAIL", "CONNECT": "CONN"}
# the commands a client sends, as a session transcript writes them (an alternation for patterns)
SENT_COMMANDS = r"RCPT TO|MAIL FROM|DATA|EHLO|HELO|STARTTLS|AUTH|BDAT"


def command_name(word: str) -> str:
    """The SMTP command a transcript's word names ("rcpt to" → RCPT, "ehlo" → EHLO)."""
    word = word.upper().replace("_", " ")
    return COMMAND_WORDS.get(word, word.split()[0])


def detect_command(text: str | None) -> str | None:
    if not text:
        return None
    found = _COMMAND_SET.search(text)
    if found is None:
        return None
    i, m = found
    fixed = _COMMANDS[i][1]
    if fixed:
        return fixed
    return command_name(m.group(1))


# The common shape of an RFC 5322 date ("Thu, 9 Nov 2017 02:02:04 +0900 (JST)"), read without
# loading email.utils (which imports socket, random and calendar: about 5 ms of a hook's start).
# Anything else goes to email.utils.
_RFC5322_DATE = lazy_re(
    r"(?:[A-Za-z]{3},?\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-])(\d{2})(\d{2})"
    r"(?:\s*\([^()]*\))?$")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                        "nov", "dec"), 1)}
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _quick_rfc5322(v: str) -> str | None:
    m = _RFC5322_DATE.match(v)
    if m is None:
        return None
    day, mon, year, hour, minute = int(m[1]), _MONTHS.get(m[2].lower()), int(m[3]), int(m[4]), int(m[5])
    second = int(m[6] or 0)
    if mon is None or not (1 <= day <= _MONTH_DAYS[mon - 1]) or hour > 23 or minute > 59 or second > 59:
        return None  # let email.utils judge (and refuse) it
    if mon == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return None
    stamp = f"{year:04d}-{mon:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    if m[7] == "-" and m[8] == "00" and m[9] == "00":
        return stamp  # RFC 5322: "-0000" means the zone is unknown, as email.utils reads it
    if int(m[8]) > 23 or int(m[9]) > 59:
        return None
    return f"{stamp}{m[7]}{m[8]}:{m[9]}"


def iso_time(value: str | None) -> str | None:
    """An RFC 5322 (or already ISO 8601) date as ISO 8601; None when unreadable."""
    if not value:
        return None
    v = SPACES.sub(" ", value).strip()
    if ";" in v[:10]:
        v = v.split(";", 1)[1].strip()
    quick = _quick_rfc5322(v)
    if quick is not None:
        return quick
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(v).isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    from datetime import datetime

    try:
        return datetime.fromisoformat(v.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return None


_MULTILINE_PREFIX = lazy_re(r"(?:^|\s)([245]\d\d)[- ](?:([245]\.\d{1,3}\.\d{1,3})\s+)?")


def collapse_reply(text: str) -> str:
    """``550-5.7.26 a 550-5.7.26 b 550 5.7.26 c`` -> ``550 5.7.26 a b c``."""
    first = _MULTILINE_PREFIX.search(text)
    if not first:
        return text
    code, status = first.group(1), first.group(2)
    rest = text[first.end():]
    if status:
        pat = re.compile(r"\s" + code + r"[- ]" + re.escape(status) + r"\s+")
    else:
        pat = re.compile(r"\s" + code + r"-(?=\S)")
    cleaned = pat.sub(" ", rest)
    head = text[: first.end()].replace(code + "-", code + " ", 1)
    return head + cleaned


def one_line(text: str | None) -> str | None:
    """Unfold to one line; None for nothing."""
    if text is None:
        return None
    t = SPACES.sub(" ", text).strip()
    return t or None


def strip_dsn_type(value: str | None) -> str | None:
    """``smtp; 550 ...`` -> ``550 ...``; ``dns; mx.example.org`` -> ``mx.example.org``."""
    if value is None:
        return None
    v = value.strip()
    head, sep, rest = v.partition(";")
    if sep and len(head) <= 20 and " " not in head.strip():
        v = rest.strip()
    return v or None


def html_to_text(text: str) -> str:
    text = _HTML_SCRIPT.sub(" ", text)
    text = _HTML_BREAK.sub("\n", text)
    import html

    return html.unescape(TAGS.sub(" ", text))


def body_text(msg: Message) -> str:
    """Readable text of the report (HTML turned into text when that is all there is), up to MAX_TEXT."""
    parts = msg.text_parts()
    out = []
    for p in parts:
        text = p.text[:MAX_TEXT]
        out.append(html_to_text(text) if p.content_type == "text/html" else text)
    return "\n".join(out)[:MAX_TEXT]


def summary(headers: Headers | None, with_to: bool = True) -> dict[str, str | None]:
    """The ``bounce`` / ``original`` sub-record of a message's headers."""
    if headers is None:
        return {"message_id": None, "from": None, "to": None, "subject": None, "date": None}
    out: dict[str, str | None] = {
        "message_id": _msgid(headers.get("message-id")),
        "from": _addr_or_text(headers.decoded("from")),
    }
    if with_to:
        out["to"] = _addr_or_text(headers.decoded("to"))
    out["subject"] = one_line(headers.decoded("subject"))
    out["date"] = one_line(headers.get("date"))
    return out


def _msgid(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip()
    m = _ANGLED.search(v)
    return m.group(1) if m else (v.split()[0] if v else None)


def _addr_or_text(value: str | None) -> str | None:
    if not value:
        return None
    found = addresses(value)
    return ", ".join(found) if found else one_line(value)


ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers",
                  "message/global", "message/global-headers")

# "Original message" in the languages of the mail systems and clients met in practice: a
# bounce's heading over the returned original, and a client's heading over a forwarded message
ORIGINAL_MESSAGE_NAMES = (r"Message d'origine|Message original|Urspr\u00fcngliche Nachricht|Originalnachricht|"
                          r"Mensaje original|Mensagem original|Messaggio originale|Oorspronkelijk bericht|"
                          # Exchange's heading over the original's headers, in its other languages
                          r"En-t\u00eates de message d'origine|Encabezados del mensaje original|"
                          r"Cabe\u00e7alhos originais da mensagem|Intestazioni originali del messaggio")

# lines that introduce the returned original inside a plain-text bounce
TEXT_ORIGINAL_MARKERS = lazy_re(
    r"^(?:[-=_| ]*+(?:This is a copy of the message|Below this line is a copy of the message|"
    r"Original message(?: headers)? follows|Unsent message (?:below|follows)|Message text follows|Original message|Returned message|"
    r"Undelivered message|Returned mail follows|The original message(?! was received)|Message header follows|Start of returned message|"
    r"original message headers|Included is a copy|Original Message|Message headers follow|"
    r"Original message follows|Your message reads|Here is a copy|The header of the original message|"
    + ORIGINAL_MESSAGE_NAMES + r"|\u5143\u306e\u30e1\u30c3\u30bb\u30fc\u30b8)"
    r"|Content-Type: message/rfc822|Original message headers:)",
    re.I | re.M,
)


def original_part(msg: Message) -> Headers | None:
    """Headers of the returned original: a message/rfc822 part, else text after a marker."""
    for part in msg.walk():
        if part is not msg and part.content_type in ORIGINAL_TYPES:
            inner = part.message
            if inner is not None and inner.headers.fields:
                return inner.headers
    return None


def original_from_text(text: str) -> Headers | None:
    """Headers of an original pasted into a text bounce after a separator line."""
    m = TEXT_ORIGINAL_MARKERS.search(text)
    if not m:
        return None
    rest = text[m.end():]
    nl = rest.find("\n")
    rest = rest[nl + 1:] if nl >= 0 else ""
    rest = rest.lstrip("\n ")
    from ..message import parse_headers
    head = rest.split("\n\n", 1)[0]
    hdrs = parse_headers(head.encode("utf-8", "replace"))
    return hdrs if hdrs.fields else None


def addressees(original: Headers) -> list[str]:
    """The returned original's To addresses that can stand for the failed recipient.

    A post to a mailing list is addressed to the list (its ``List-Post`` or ``X-BeenThere``
    address): the member whose server refused the copy is not named there, so the list's own
    address is left out rather than reported as the recipient.
    """
    to = addresses(original.get("to") or "")
    if not to:
        return to
    lists = set(addresses(" ".join(original.get_all("list-post") + original.get_all("x-beenthere"))))
    return [a for a in to if a not in lists]


def cut_at_original(text: str) -> str:
    m = TEXT_ORIGINAL_MARKERS.search(text)
    return text[: m.start()] if m else text


def new_facts(name: str, msg: Message, recipients: Iterable[RecipientFacts],
              reporting_mta: str | None = None, context: str = "",
              original: Headers | None = None, kind: str | None = None) -> Facts:
    return Facts(
        decoded_by=name,
        recipients=list(recipients),
        kind=kind,
        reporting_mta=reporting_mta,
        context=context,
        original_headers=original if original is not None else original_part(msg),
    )

