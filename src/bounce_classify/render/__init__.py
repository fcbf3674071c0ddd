"""The render layer: records out, in the format asked for.  Nothing is computed here."""

from __future__ import annotations

from .base import Renderer, renderer_for

FORMATS = ("table", "jsonl", "json", "csv")

__all__ = ["FORMATS", "Renderer", "renderer_for"]
