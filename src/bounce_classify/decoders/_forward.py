"""Bounces a person forwarded: the message inside a forward, attached or pasted inline.

Mail administrators are sent bounces by their users, and save them as they were sent: a
forward with the bounce attached (message/rfc822), or pasted into the text under the mail
client's forward heading ("---------- Forwarded message ---------", "Begin forwarded
message:", "-----Original Message-----", then From/Date/Subject lines).  The bounce is the
message inside; the forward's own note and addresses are not part of it.
"""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import MAX_TEXT, Message, Part
from ._common import ORIGINAL_MESSAGE_NAMES

# "Fwd:", "Fw:", and the prefixes of other languages' clients (TR, WG, RV, ENC, VS, VB, VL,
# PD, Doorst), after a list's [tag] if there is one
_FORWARD_SUBJECT = lazy_re(r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:fwd?|tr|wg|rv|enc|vs|vb|vl|pd|doorst)\s*:", re.I)

# the heading a mail client writes above the forwarded message, alone on its line
_HEADING = lazy_re(
    r"^[ \t>]*+(?:"
    r"-{2,}[ \t]*(?:forwarded message|original message|forwarded e-?mail|weitergeleitete nachricht|"
    r"message transf\u00e9r\u00e9|mensaje reenviado|mensagem encaminhada|messaggio inoltrato|doorgestuurd bericht|"
    + ORIGINAL_MESSAGE_NAMES + r")[ \t]*-{2,}"
    r"|begin forwarded message:"
    r"|_{20,}"
    r")[ \t]*$", re.I | re.M)

# one line of the forwarded message's header block, as the client wrote it
_FIELD = lazy_re(r"[ \t>]*([A-Za-z][A-Za-z-]{0,30})[ \t]*:[ \t]*(.*)")

# what the clients call the fields, in their languages, and the header each stands for
_NAMES = {
    "from": "From", "von": "From", "de": "From", "da": "From", "van": "From",
    "to": "To", "an": "To", "\u00e0": "To", "a": "To", "para": "To", "aan": "To",
    "subject": "Subject", "betreff": "Subject", "objet": "Subject", "asunto": "Subject",
    "assunto": "Subject", "oggetto": "Subject", "onderwerp": "Subject",
    "date": "Date", "sent": "Date", "gesendet": "Date", "datum": "Date", "envoy\u00e9": "Date",
    "enviado": "Date", "fecha": "Date", "data": "Date", "inviato": "Date", "verzonden": "Date",
    "cc": "Cc", "reply-to": "Reply-To", "message-id": "Message-ID",
}

# how far into the forward's text the heading may be: a note of a few paragraphs above it
_SEARCH = 4000
_MAX_FIELDS = 12


def attached_message(msg: Message) -> tuple[Part | None, bool]:
    """The first message attached to ``msg`` and whether it is a report (multipart/report).

    None for a report itself: a DSN's attached message is the returned original, not a bounce.
    """
    if msg.content_type == "multipart/report":
        return None, False
    for part in msg.walk():
        if part is not msg and part.content_type == "message/rfc822":
            inner = part.message
            return part, inner is not None and inner.content_type == "multipart/report"
    return None, False


def unwrap(part: Part) -> Message:
    """The attached message of ``part`` as a message of its own."""
    return Message(part.payload.lstrip(b"\n"))


def inline_forward(msg: Message) -> Message | None:
    """The message pasted under a forward heading in ``msg``'s text, when ``msg`` is a forward.

    Only a message whose subject is a forward's ("Fwd: ...") is looked into, and only a heading
    followed by the forwarded header lines counts; their names are mapped to the headers they
    stand for ("Sent" is the Date), and the text after them is the forwarded message's body.
    """
    if not _FORWARD_SUBJECT.match(msg.headers.decoded("subject") or ""):
        return None
    parts = msg.text_parts()
    if not parts:
        return None
    text = parts[0].text[:MAX_TEXT]
    heading = _HEADING.search(text, 0, _SEARCH)
    if heading is None:
        return None
    lines = text[heading.end():].lstrip("\n").split("\n")
    fields: list[tuple[str, str]] = []
    at = 0
    while at < len(lines) and len(fields) < _MAX_FIELDS:
        m = _FIELD.fullmatch(lines[at])
        if m is None:
            break
        name = _NAMES.get(m.group(1).lower())
        if name is None:
            break
        fields.append((name, m.group(2).strip()))
        at += 1
    names = {n for n, _ in fields}
    if "From" not in names or not names & {"Subject", "Date"}:
        return None
    quoted = all(line.startswith(">") for line in lines[at:at + 20] if line.strip())
    body = [line[1:].removeprefix(" ") if quoted and line.startswith(">") else line for line in lines[at:]]
    head = "".join(f"{n}: {v}\n" for n, v in fields)
    raw = head + "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n" + "\n".join(body).lstrip("\n")
    return Message(raw.encode("utf-8", "surrogateescape"))
