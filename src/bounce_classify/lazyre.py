"""Regular expressions compiled on first use, so start-up pays only for the ones a run needs.

A one-message run from a mail hook imports every decoder but exercises a handful of its
patterns; compiling all of them at import would cost more than classifying the message.
``lazy_re`` returns an object that behaves as the compiled pattern: its first use compiles it
and binds the compiled pattern's methods onto itself, so later calls cost what they would on
the pattern itself.

Compiling is still the largest part of a one-message run: Python's ``re`` parses and
assembles every pattern in Python code, about 6 ms for the forty or so a message reaches.  So,
as Python keeps bytecode in ``__pycache__``, the assembled form of each pattern (the list of
opcodes the C matcher runs) is kept there too, keyed on the interpreter's cache tag and the
matcher's version, and a later process hands it straight to the C matcher.  Any doubt (another
interpreter, a damaged or foreign cache, a read-only install) falls back to ``re.compile``.
"""

from __future__ import annotations

import os
import re
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; these names are for annotations only
    from typing import Any, AnyStr

try:  # CPython's regex internals; without them every pattern is compiled the ordinary way
    import _sre
    from array import array

    # the array type code whose items are the matcher's code words
    _WORD = next(t for t in "IL" if array(t).itemsize == _sre.CODESIZE)
    from re import _compiler, _parser  # type: ignore[attr-defined]
    _CACHE: str | None = os.path.join(
        os.path.dirname(os.path.realpath(__file__)), "__pycache__",
        f"regex-v2.{sys.implementation.cache_tag}.{_sre.MAGIC}.marshal")
except (ImportError, AttributeError, StopIteration):  # pragma: no cover - other interpreters
    _CACHE = None

# (pattern, flags) -> (flags, code, groups, groupindex, indexgroup): what _sre.compile takes,
# the code packed as machine words (a list of Python ints would cost a bulk run megabytes)
_assembled: dict[tuple[Any, int], tuple[int, bytes, int, dict[str, int], tuple[str | None, ...]]] | None = None
_added = 0
_used: set[tuple[Any, int]] = set()
_MAX_ENTRIES = 2000


def _load() -> dict[tuple[Any, int], Any]:
    global _assembled
    if _assembled is None:
        _assembled = {}
        if _CACHE is not None:
            try:
                import marshal

                with open(_CACHE, "rb") as fh:
                    data = marshal.loads(fh.read())
                if isinstance(data, dict):
                    _assembled = data
            except (OSError, ValueError, EOFError, TypeError):
                pass
    return _assembled


def _save() -> None:
    """Write the cache when this process assembled patterns it did not find there."""
    if not _added or _CACHE is None or _assembled is None:
        return
    import marshal

    if len(_assembled) > _MAX_ENTRIES:  # patterns of older versions pile up: keep this run's
        for key in [k for k in _assembled if k not in _used]:
            del _assembled[key]
    tmp = f"{_CACHE}.{os.getpid()}.tmp"
    try:
        data = marshal.dumps(_assembled)
        os.makedirs(os.path.dirname(_CACHE), exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, _CACHE)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass


def compile_cached(pattern: Any, flags: int) -> re.Pattern[Any]:
    """``re.compile(pattern, flags)``, from the assembled form kept in the cache when it is there."""
    global _added
    if _CACHE is None:
        return re.compile(pattern, flags)
    flags = int(flags)  # a RegexFlag is an int subclass, which marshal does not take
    cache = _load()
    key = (pattern, flags)
    _used.add(key)
    entry = cache.get(key)
    if entry is not None:
        try:
            final, packed, groups, names, index = entry
            compiled: re.Pattern[Any] = _sre.compile(pattern, final, array(_WORD, packed).tolist(),
                                                     groups, names, index)
            return compiled
        except Exception:  # a cache from another build of the matcher: assemble again
            del cache[key]
    try:
        parsed = _parser.parse(pattern, flags)
        code = _compiler._code(parsed, flags)
        groupindex = dict(parsed.state.groupdict)
        indexgroup: list[str | None] = [None] * parsed.state.groups
        for name, i in groupindex.items():
            indexgroup[i] = name
        final, groups, index = int(flags | parsed.state.flags), parsed.state.groups - 1, tuple(indexgroup)
        compiled = _sre.compile(pattern, final, code, groups, groupindex, index)
        entry = (final, array(_WORD, code).tobytes(), groups, groupindex, index)
    except re.error:
        raise
    except Exception:  # the internals changed shape: the public way
        return re.compile(pattern, flags)
    cache[key] = entry
    if not _added:
        import atexit

        atexit.register(_save)
    _added += 1
    return compiled


_BOUND = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split",
          "pattern", "flags", "groups", "groupindex")


class _LazyPattern:
    def __init__(self, pattern: str | bytes, flags: int) -> None:
        self._args: tuple[Any, int] = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_args":
            raise AttributeError(name)
        pattern, flags = self._args
        compiled: re.Pattern[Any] = compile_cached(pattern, flags)
        for attr in _BOUND:
            setattr(self, attr, getattr(compiled, attr))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy_re({self._args[0]!r}, {self._args[1]!r})"


def lazy_re(pattern: AnyStr, flags: int | re.RegexFlag = 0) -> re.Pattern[AnyStr]:
    """``re.compile(pattern, flags)``, deferred until the pattern is first used."""
    return _LazyPattern(pattern, int(flags))  # type: ignore[return-value]
