"""Decoders for gateways and relays that wrap a common MTA text in their own envelope.

A filtering gateway (Active!hunter, MX Logic, SurfControl …) or a hosted service such as
Zoho Mail writes its bounce in a layout some other decoder already reads (Sendmail, Exim,
RFC 3464).  What it adds is its identity, and that matters to the rules: a gateway
that accepted the message and later found no such user behind it has filtered the
message; it did not refuse a recipient at RCPT TO.  These decoders recognise the
gateway by its signature and read the body with the decoders listed for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..message import Message
from ..model import Facts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .base import Decoder


def decode_with(name: str, msg: Message, readers: Sequence[Decoder]) -> Facts | None:
    """The facts from the first reader that decodes ``msg``, credited to decoder ``name``."""
    for reader in readers:
        facts = reader.decode(msg)
        if facts is not None and facts.recipients:
            facts.decoded_by = name
            return facts
    return None
