"""Table-driven: how body and field bytes become text (message.decode_bytes)."""

from __future__ import annotations

import pytest

from bounce_classify.message import decode_bytes

JIS = "ユーザーは見つかりません".encode("iso-2022-jp")

CASES = [
    # (id, bytes, declared charset, expected text)
    ("utf-8", "Empfänger unbekannt".encode(), None, "Empfänger unbekannt"),
    ("declared latin-1", "Empfänger".encode("latin-1"), "iso-8859-1", "Empfänger"),
    ("undeclared 8-bit falls back to latin-1", "destinataire inconnu é".encode("latin-1"), None,
     "destinataire inconnu é"),
    ("iso-2022-jp by its escapes", JIS, None, "ユーザーは見つかりません"),
    ("iso-2022-jp with the escapes stripped", JIS.replace(b"\x1b", b""), "iso-2022-jp", "ユーザーは見つかりません"),
    ("stripped escapes, no charset", b"550 " + JIS.replace(b"\x1b", b""), None, "550 ユーザーは見つかりません"),
    ("dollar-B in plain text is left alone", b"price $B100 (B) ok", None, "price $B100 (B) ok"),
    ("unknown charset name", b"plain words", "x-no-such-charset", "plain words"),
]


@pytest.mark.parametrize(("data", "charset", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decode_bytes(data: bytes, charset: str | None, expected: str) -> None:
    assert decode_bytes(data, charset) == expected
