"""The renderer interface (for type checking; renderers are duck-typed at run time)."""

from __future__ import annotations

from typing import Protocol

from ..model import Result


class Renderer(Protocol):
    def write(self, result: Result) -> None: ...

    def close(self) -> None: ...
