"""RE2 helpers shared by the decoders and the rules: one automaton for many patterns.

Python's engine tries every alternative of a case-insensitive alternation at every position,
and a list of patterns costs one pass per pattern.  RE2 runs one automaton over the text, in
time linear in the input whatever the pattern, and an RE2 set answers "which of these
patterns occur" in a single pass.  Patterns here are RE2 syntax: no look-arounds, and
``\\b``, ``\\w`` and ``\\s`` are ASCII.
"""

from __future__ import annotations

from collections.abc import Iterable

import re2

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; these names are for annotations only
    from typing import Any

_CI = re2.Options()
_CI.case_sensitive = False


def ci_regex(pattern: str) -> Any:
    """``pattern`` compiled case-insensitively with RE2."""
    return re2.compile(pattern, _CI)


# An RE2 set builds its DFA lazily, within a memory budget; past the budget it throws the states
# away and starts again, over and over.  The rules' set of 1,160 phrases outgrew the default
# 8 MB (measured: 16 ms instead of 3.3 ms for the corpus's 1,351 searches, with no more resident
# memory used at 64 MB, since the budget is a ceiling and not an allocation).
_SET_MEMORY = 64 << 20


class PatternSet:
    """Several patterns searched in one pass; ``matching`` gives the indices of those that occur."""

    def __init__(self, patterns: Iterable[str], case_sensitive: bool = True) -> None:
        options = re2.Options()
        options.case_sensitive = case_sensitive
        options.max_mem = _SET_MEMORY
        self._set = re2.Set.SearchSet(options)
        for p in patterns:
            self._set.Add(p)
        self._set.Compile()

    def matching(self, text: str) -> list[int] | None:
        """Indices of the patterns found in ``text``; None if RE2 cannot take the text (a lone surrogate)."""
        if not text:
            return []
        try:
            return self._set.Match(text) or []
        except UnicodeError:
            return None
