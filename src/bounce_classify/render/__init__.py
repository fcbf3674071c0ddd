"""The render layer: records out, in the format asked for.  Nothing is computed here."""

from __future__ import annotations

from .base import renderer_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .protocol import Renderer

FORMATS = ("table", "jsonl", "json", "csv")


def __getattr__(name: str) -> object:
    if name == "Renderer":  # the protocol imports typing: only when asked for
        from .protocol import Renderer

        return Renderer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FORMATS", "Renderer", "renderer_for"]
