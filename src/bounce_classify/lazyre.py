"""Regular expressions compiled on first use, so start-up pays only for the ones a run needs.

A one-message run from a mail hook imports every decoder but exercises a handful of its
patterns; compiling all of them at import would cost more than classifying the message.
``lazy_re`` returns an object that behaves as the compiled pattern: its first use compiles it
and binds the compiled pattern's methods onto itself, so later calls cost what they would on
the pattern itself.
"""

from __future__ import annotations

import re
from typing import Any, AnyStr, cast

_BOUND = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split",
          "pattern", "flags", "groups", "groupindex")


class _LazyPattern:
    def __init__(self, pattern: str | bytes, flags: int) -> None:
        self._args: tuple[Any, int] = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_args":
            raise AttributeError(name)
        pattern, flags = self._args
        compiled: re.Pattern[Any] = re.compile(pattern, flags)
        for attr in _BOUND:
            setattr(self, attr, getattr(compiled, attr))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy_re({self._args[0]!r}, {self._args[1]!r})"


def lazy_re(pattern: AnyStr, flags: int | re.RegexFlag = 0) -> re.Pattern[AnyStr]:
    """``re.compile(pattern, flags)``, deferred until the pattern is first used."""
    return cast("re.Pattern[AnyStr]", _LazyPattern(pattern, int(flags)))
