"""SHA-256 for record tokens, message digests and quarantine names, cheap to start.

CPython's built-in SHA-256 loads in microseconds but hashes at about 6 ms per MB; hashlib's
(OpenSSL, with the CPU's SHA instructions) hashes ten times faster but costs about 2.5 ms to
import.  A one-message run (a mail hook) keeps the built-in; once a process has hashed enough
bytes that the import pays for itself, it switches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

try:
    from _sha256 import sha256 as _builtin  # CPython 3.11
except ImportError:
    try:
        from _sha2 import sha256 as _builtin  # CPython 3.12 and later
    except ImportError:  # other interpreters
        from hashlib import sha256 as _builtin

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; these names are for annotations only
    from typing import Any

SWITCH_AFTER = 512 * 1024
_hashed = 0
_new: Callable[..., Any] = _builtin


def _constructor(size: int) -> Callable[..., Any]:
    global _hashed, _new
    if _new is _builtin:
        _hashed += size
        if _hashed > SWITCH_AFTER:
            from hashlib import sha256

            _new = sha256
    return _new


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` in hex."""
    return str(_constructor(len(data))(data).hexdigest())


def sha256_hex_of_chunks(chunks: Iterable[bytes]) -> str:
    """The SHA-256 of the concatenated ``chunks`` in hex, without joining them."""
    chunks = list(chunks)
    h = _constructor(sum(len(c) for c in chunks))()
    for c in chunks:
        h.update(c)
    return str(h.hexdigest())
