"""The interface every decoder implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..message import Message
from ..model import Facts


@runtime_checkable
class Decoder(Protocol):
    """A decoder reads one format and extracts facts; it never decides reasons.

    ``name`` is what ends up in ``decoded_by``.  ``detect`` must be cheap: it
    looks at headers (and at most the start of the text) and says whether
    ``decode`` is worth running.  ``decode`` returns ``None`` when the message
    is not in its format after all, so the next decoder gets a turn.
    """

    name: str

    def detect(self, msg: Message) -> bool: ...

    def decode(self, msg: Message) -> Facts | None: ...


@runtime_checkable
class JsonDecoder(Protocol):
    """A decoder for provider notifications delivered as JSON documents."""

    name: str

    def detect(self, doc: dict[str, object]) -> bool: ...

    def decode(self, doc: dict[str, object]) -> Facts | None: ...
