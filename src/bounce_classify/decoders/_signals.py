"""Cheap signals that a message is a bounce at all, shared by text decoders."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Headers, Message
from ..model import RecipientFacts
from ._common import body_text, clean_address, original_from_text, original_part

BOUNCE_SENDER = lazy_re(
    r"(?:^|[<\s\"])(?:mailer-daemon|postmaster|mail-?daemon|mdaemon|mail\s*delivery|"
    r"mail\s*administrator|mailadmin|bounce[sd]?|nobody|returned|double-bounce|daemon)\b",
    re.I,
)
BOUNCE_SUBJECT = lazy_re(
    r"undeliver|undelivered|returned mail|returning message|delivery (?:status )?notification|"
    r"delivery fail|failure notice|failed delivery|mail delivery|non[- ]?deliver|could not be delivered|"
    r"couldn't be delivered|not delivered|delivery problem|mail failure|delivery report|nondelivery|"
    r"unzustellbar|non remis|non recapitabile|onbestelbaar|n\u00e3o[_ ]entregue|no entregado|"
    r"\u4e0d\u9054|\u914d\u9001\u5931\u6557|error|rejected|warning: could not send|delayed mail|"
    r"delivery delayed|message delayed|notice|bounce|unable to deliver|\u0435\u0434\u043e\u0441\u0442|"
    r"\u043d\u0435 \u0434\u043e\u0441\u0442\u0430\u0432\u043b\u0435\u043d|niedostarcz|kunde inte levereras|kunne ikke leveres|teslim edilemedi|nedoru\u010d|"
    r"\u30a8\u30e9\u30fc|\u9001\u4fe1\u3067\u304d\u307e\u305b\u3093",
    re.I,
)


def from_mail_system(msg: Message) -> bool:
    """The sender is a mail system (MAILER-DAEMON, postmaster, ...) or the subject a bounce's."""
    h = msg.headers
    return bool(BOUNCE_SENDER.search(h.decoded("from") or "") or BOUNCE_SUBJECT.search(h.decoded("subject") or ""))


def declares_dsn(msg: Message) -> bool:
    """The message's own Content-Type says it is a delivery status report (RFC 3464 / 6533)."""
    return msg.content_type == "multipart/report" and \
        msg.params.get("report-type", "").lower() in ("delivery-status", "global-delivery-status")


def looks_like_bounce(msg: Message) -> bool:
    h = msg.headers
    if from_mail_system(msg) or "x-failed-recipients" in h or declares_dsn(msg):
        return True
    rp = (h.get("return-path") or "").strip()
    return rp in ("<>", "") and "return-path" in h


def sender_addresses(msg: Message, text: str | None = None) -> list[str]:
    """``senders`` of a message, finding its returned original (in ``text``, the report's text,
    when the caller has it at hand)."""
    return senders(msg, original_part(msg) or original_from_text(body_text(msg) if text is None else text))


def senders(msg: Message, original: Headers | None) -> list[str]:
    """Addresses that are not the failed recipient: the bounce's own From and To, the address
    it was delivered to (Delivered-To, X-Original-To, Envelope-To: the envelope sender the
    report went back to, or whoever it was forwarded to), then the returned original's
    (``original``) From, Sender and Return-Path.

    The original's sender matters when the bounce went to another address (a VERP or bounce
    mailbox in the return path): a reply quoting the sender ("<sender@x>... Please use the smtp
    server of your ISP") must not read as a second failed recipient.
    """
    out = []
    for name in ("from", "to", "return-path", "reply-to", "delivered-to", "x-original-to", "envelope-to"):
        a = clean_address(msg.headers.get(name))
        if a and a not in out:
            out.append(a)
    if original is not None:
        for name in ("from", "sender", "return-path"):
            a = clean_address(original.get(name))
            if a and a not in out:
                out.append(a)
    return out


# What only a delay warning says: the message is still queued and the MTA keeps trying.
DELAY_NOTICE = lazy_re(
    r"has not yet been delivered|have not yet been delivered|no action is required on your part|"
    r"this is (?:just |only )?a warning|will (?:continue to )?(?:attempt|try) (?:delivery|to deliver)|"
    r"delivery attempts will continue|will continue to be attempted|will be retried|still being retried|"
    r"THIS IS A WARNING|Delivery is delayed to these recipients",
    re.I,
)


def mark_delays(recipients: list[RecipientFacts], text: str) -> None:
    """A text-only report that says the MTA is still trying: its recipients are delayed."""
    if recipients and DELAY_NOTICE.search(text[:6000]):
        for r in recipients:
            if r.action is None and not (r.status or r.reply_code or "4").startswith("5"):
                r.action = "delayed"
