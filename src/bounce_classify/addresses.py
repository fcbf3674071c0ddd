"""Address syntax for commands that take an address from a person (``ledger show``, ``ses
suppression``), checked with flanker's RFC 5321 parser.  Not used on the classification
path: flanker is imported only when one of these commands runs."""

from __future__ import annotations

import contextlib
import io


def parse_address(text: str) -> str | None:
    """The bare, lower-cased ``local@domain``, or None when it is not a valid address."""
    with contextlib.redirect_stderr(io.StringIO()):  # flanker's grammar tables chatter on first import
        from flanker.addresslib import address

    parsed = address.parse(text.strip(), addr_spec_only=True)
    if parsed is None or not getattr(parsed, "address", None):
        return None
    return str(parsed.address).lower()
