"""Table-driven: every fixture folder has expected.toml; each case runs with LF, CRLF and CR."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bounce_classify import classify

FIXTURES = Path(__file__).parent / "fixtures"
FIELDS = ("kind", "recipient", "status", "reply_code", "reason", "hop", "permanent", "hard_bounce", "decoded_by",
          "smtp_command", "rule")


def _cases():
    for table in sorted(FIXTURES.glob("*/expected.toml")):
        data = tomllib.loads(table.read_text(encoding="utf-8"))
        for case in data["case"]:
            for ending in ("lf", "crlf", "cr"):
                yield pytest.param(table.parent.name, case, ending,
                                   id=f"{table.parent.name}/{case['file']}/{case.get('recipient')}/{ending}")


def _with_ending(raw: bytes, ending: str) -> bytes:
    lf = raw.replace(b"\r\n", b"\n")
    if ending == "crlf":
        return lf.replace(b"\n", b"\r\n")
    if ending == "cr":
        return lf.replace(b"\n", b"\r")
    return lf


@pytest.mark.parametrize(("fmt", "case", "ending"), list(_cases()))
def test_fixture_expected(fmt: str, case: dict, ending: str) -> None:
    raw = _with_ending((FIXTURES / fmt / case["file"]).read_bytes(), ending)
    results = classify(raw)
    matching = [r for r in results if r.recipient == case.get("recipient")]
    assert matching, f"no result for {case.get('recipient')}; got {[r.recipient for r in results]}"
    got = matching[0].to_dict()
    for field in FIELDS:
        if field in case:
            assert got[field] == case[field], f"{field}: expected {case[field]!r}, got {got[field]!r}"
    for field in case.get("null", []):
        assert got[field] is None, f"{field}: expected null, got {got[field]!r}"


def test_every_fixture_has_an_expectation() -> None:
    listed = set()
    for table in FIXTURES.glob("*/expected.toml"):
        for case in tomllib.loads(table.read_text(encoding="utf-8"))["case"]:
            listed.add(table.parent / case["file"])
    on_disk = {p for p in FIXTURES.glob("*/*") if p.suffix in (".eml", ".json", ".msg", ".mbox")}
    assert on_disk - listed == set(), "fixtures without an expected result"
