"""Format decoders, one file each, tried in one explicit order.

The order runs from the most specific signature to the least: complaint
reports, provider and MTA formats keyed on their headers and text, the plain
RFC 3464 reader, text delivery receipts, auto-replies, and the generic text reader last.  A test fails
when a decoder module in this package is missing from the registry.
"""

from __future__ import annotations

from ..message import Message
from ..model import Facts
from . import (
    activehunter,
    amazon_ses,
    apache_james,
    arf,
    autoreply,
    dragonfly,
    exchange2003,
    exchange2007,
    exchange_online,
    exim,
    ezweb,
    fml,
    generic,
    gmail,
    googlegroups,
    interscan,
    mailfoundry,
    mailmarshal,
    mdaemon,
    mfilter,
    mxlogic,
    notes,
    postfix,
    qmail,
    receipt,
    rfc3464,
    sendgrid_event,
    sendmail,
    ses_notification,
    sieve_reject,
    surfcontrol,
    unsubscribe,
    x1,
    x2,
    yahoo,
    zoho,
)
from ._finalize import finalize, normalise_recipients
from ._forward import attached_message, inline_forward, unwrap

TYPE_CHECKING = False
if TYPE_CHECKING:  # the protocols import typing, which a start-up need not pay for
    from .base import Decoder, JsonDecoder

REGISTRY: tuple[Decoder, ...] = (
    arf.DECODER,
    unsubscribe.DECODER,
    amazon_ses.DECODER,
    exchange_online.DECODER,
    exchange2003.DECODER,
    exchange2007.DECODER,
    googlegroups.DECODER,
    fml.DECODER,
    gmail.DECODER,
    yahoo.DECODER,
    ezweb.DECODER,
    dragonfly.DECODER,
    notes.DECODER,
    mfilter.DECODER,
    activehunter.DECODER,
    mxlogic.DECODER,
    surfcontrol.DECODER,
    interscan.DECODER,
    mailmarshal.DECODER,
    mailfoundry.DECODER,
    mdaemon.DECODER,
    apache_james.DECODER,
    zoho.DECODER,
    x1.DECODER,
    x2.DECODER,
    qmail.DECODER,
    exim.DECODER,
    sendmail.DECODER,
    postfix.DECODER,
    rfc3464.DECODER,
    receipt.DECODER,
    sieve_reject.DECODER,
    autoreply.DECODER,
    generic.DECODER,
)

# every decoder but the generic text reader, and that reader alone
_SPECIFIC = REGISTRY[:-1]
_LAST = REGISTRY[-1:]
_MAX_FORWARDS = 3

JSON_REGISTRY: tuple[JsonDecoder, ...] = (
    ses_notification.DECODER,
    sendgrid_event.DECODER,
)


def decode(msg: Message, _depth: int = 0) -> Facts | None:
    """The facts of a message from the first decoder that reads it, or None.

    A bounce a person forwarded is read from the message inside the forward (_forward): an
    attached report or a bounce pasted under the forward heading first; any other attached
    message after every decoder but the generic text reader has declined the outer one, since
    that reader would take the forward's own words for the bounce.  Forwards of forwards are
    followed a few levels deep.
    """
    attached = None
    if _depth < _MAX_FORWARDS:
        attached, is_report = attached_message(msg)
        inner = unwrap(attached) if is_report and attached is not None else inline_forward(msg)
        if inner is not None:
            facts = decode(inner, _depth + 1)
            if facts is not None:
                return facts
            if is_report:
                attached = None
    facts = _decode_one(msg, _SPECIFIC)
    if facts is not None:
        return facts
    if attached is not None:
        facts = decode(unwrap(attached), _depth + 1)
        if facts is not None:
            return facts
    return _decode_one(msg, _LAST)


def _decode_one(msg: Message, decoders: tuple[Decoder, ...]) -> Facts | None:
    for decoder in decoders:
        try:
            if not decoder.detect(msg):
                continue
            facts = decoder.decode(msg)
        except (ValueError, LookupError, UnicodeError, RecursionError):
            continue
        if facts is not None and facts.recipients:
            return finalize(facts, msg)
    return None


def decode_json(doc: dict[str, object]) -> Facts | None:
    for decoder in JSON_REGISTRY:
        try:
            if not decoder.detect(doc):
                continue
            facts = decoder.decode(doc)
        except (ValueError, LookupError, TypeError, AttributeError, RecursionError):
            continue
        if facts is not None and facts.recipients:
            return normalise_recipients(facts)
    return None


def __getattr__(name: str) -> object:
    if name in ("Decoder", "JsonDecoder"):
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["REGISTRY", "JSON_REGISTRY", "decode", "decode_json", "Decoder", "JsonDecoder"]
