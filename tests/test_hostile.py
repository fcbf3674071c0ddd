"""Hostile input: mutated bounces never make the classifier raise, and always give records.

Seeds are the project's own fixtures, plus the shared corpus when it sits beside the
checkout.  HYPOTHESIS_EXAMPLES sets the number of examples (default 3000); the longer
run is ``python3 benchmarks/fuzz.py``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bounce_classify import classify
from bounce_classify.read import OLE_MAGIC

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "set-of-emails"
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "3000"))


def _seeds() -> list[bytes]:
    files = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".eml", ".json", ".mbox"))
    if CORPUS.exists():
        files += sorted(CORPUS.rglob("*.eml"))[::7]
    return [p.read_bytes() for p in files]


SEEDS = _seeds()


def truncate(data: bytes, at: int) -> bytes:
    return data[: at % (len(data) + 1)]


def flip_bits(data: bytes, positions: list[int]) -> bytes:
    buf = bytearray(data)
    for p in positions:
        if buf:
            buf[p % len(buf)] ^= 1 << (p % 8)
    return bytes(buf)


def huge_header(data: bytes, n: int) -> bytes:
    return b"X-Filler: " + b"a" * (n * 1000) + b"\r\n" + b"Received: from x\r\n" * n + data


def deep_nesting(data: bytes, depth: int) -> bytes:
    head = b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"z0\"\r\n\r\n"
    body = b"".join(b"--z%d\r\nContent-Type: multipart/mixed; boundary=\"z%d\"\r\n\r\n" % (i, i + 1)
                    for i in range(depth))
    return head + body + data + b"".join(b"\r\n--z%d--\r\n" % i for i in reversed(range(depth + 1)))


def bad_charset(data: bytes, name: str) -> bytes:
    return data.replace(b"charset=", b"charset=" + name.encode("ascii", "replace") + b"x", 3).replace(
        b"Subject: ", b"Subject: =?" + name.encode("ascii", "replace") + b"?Q?=FF=FE?= ", 1)


def nul_bytes(data: bytes, positions: list[int]) -> bytes:
    buf = bytearray(data)
    for p in positions:
        buf.insert(p % (len(buf) + 1), 0)
    return bytes(buf)


def giant_base64(data: bytes, kib: int) -> bytes:
    return data.replace(b"\r\n\r\n", b"\r\n\r\n" + b"QUJD" * (kib * 256) + b"\r\n", 1).replace(
        b"\n\n", b"\n\n" + b"QUJD" * (kib * 256) + b"\n", 1)


MUTATIONS = st.one_of(
    st.builds(lambda at: (truncate, at), st.integers(0, 1 << 20)),
    st.builds(lambda ps: (flip_bits, ps), st.lists(st.integers(0, 1 << 20), min_size=1, max_size=40)),
    st.builds(lambda n: (huge_header, n), st.integers(1, 200)),
    st.builds(lambda d: (deep_nesting, d), st.integers(1, 300)),
    st.builds(lambda name: (bad_charset, name), st.text(min_size=1, max_size=20)),
    st.builds(lambda ps: (nul_bytes, ps), st.lists(st.integers(0, 1 << 20), min_size=1, max_size=40)),
    st.builds(lambda k: (giant_base64, k), st.integers(1, 2048)),
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(seed=st.sampled_from(SEEDS), mutations=st.lists(MUTATIONS, min_size=1, max_size=3))
def test_mutated_messages_always_give_records(seed: bytes, mutations) -> None:
    data = seed
    for fn, arg in mutations:
        data = fn(data, arg)
    results = classify(data, source="fuzz")
    assert results, "every message gets at least one record"
    for r in results:
        d = r.to_dict()
        json.dumps(d)  # serialisable as the contract says
        assert d["kind"] in ("bounce", "delay", "feedback", "autoreply", "delivered", "not-bounce")
        assert d["token"] and d["source"] == "fuzz"


@settings(max_examples=max(200, EXAMPLES // 10), deadline=None, derandomize=True)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_always_give_records(data: bytes) -> None:
    # bytes with the Outlook .msg signature are a document classify() converts, and a damaged
    # one is a documented OutlookError (the next test), not a record
    assume(not data.startswith(OLE_MAGIC))
    assert classify(data)


@pytest.mark.parametrize("data", [OLE_MAGIC, OLE_MAGIC + b"\0" * 600, OLE_MAGIC + bytes(range(256)) * 4],
                         ids=["signature only", "signature and zeros", "signature and noise"])
def test_a_damaged_msg_given_to_classify_is_a_clear_error(data: bytes) -> None:
    from bounce_classify.read.outlook import OutlookError

    if shutil.which("msgconvert") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("msgconvert is not installed, and CI must run this test")
        pytest.skip("msgconvert (libemail-outlook-message-perl) is not installed")
    with pytest.raises(OutlookError, match=r"\.msg file"):
        classify(data)


# Inputs the long fuzz run found; each once raised.  (name, original From header)
FOUND_BY_FUZZING = [
    ("a From with an @ only after the first comma", b"Nobody, someone@x.example"),
    ("a From that is only an @", b"@"),
    ("a display name with a comma", b'"Doe, Jane" <jane@x.example>'),
]


@pytest.mark.parametrize("name,from_header", FOUND_BY_FUZZING, ids=[c[0] for c in FOUND_BY_FUZZING])
def test_inputs_found_by_fuzzing(name: str, from_header: bytes) -> None:
    raw = (b"From: MAILER-DAEMON@mx.example.org\nTo: me@example.org\nSubject: Undelivered Mail Returned to "
           b"Sender\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\n"
           b"<gone@example.net>: host mx.example.net said: 550 5.7.26 unauthenticated email (DMARC)\n"
           b"--B\nContent-Type: message/rfc822\n\nFrom: " + from_header + b"\nTo: gone@example.net\n"
           b"Subject: hi\n\nhello\n--B--\n")
    results = classify(raw)
    assert results[0].kind == "bounce" and results[0].recipient == "gone@example.net"


def test_a_msgconvert_that_hangs_is_stopped_with_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A .msg file that makes the converter run forever ends in OutlookError, not a hang."""
    import mailparser.utils

    from bounce_classify.read.outlook import OutlookError, msg_to_mime

    stuck = tmp_path / "msgconvert"
    stuck.write_text("#!/bin/sh\nexec sleep 30\n")
    stuck.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(mailparser.utils, "_MSGCONVERT_TIMEOUT", 1)
    with pytest.raises(OutlookError, match="msgconvert failed on this .msg file"):
        msg_to_mime(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 600)


# A text bounce followed by megabytes of short lines (a pasted original, or padding): the report
# at the top is still read whole.  (The time these take is measured by benchmarks/run.py.)
PADDING = [
    ("quoted lines", b"> a: b\n"),
    ("separator rules", b"-" * 30 + b"\n"),
    ("blank-ish lines", b" " * 30 + b"\n"),
    ("address lines", b"<someone@else.example>: x\n"),
]


@pytest.mark.parametrize("subject", [b"failure notice", b"Fwd: failure notice"])
@pytest.mark.parametrize("name,line", PADDING, ids=[p[0] for p in PADDING])
def test_a_report_before_megabytes_of_lines_is_read(subject: bytes, name: str, line: bytes) -> None:
    report = (b"Hi. This is the qmail-send program at mx.example.org.\nI'm afraid I wasn't able to deliver "
              b"your message to the following addresses.\nThis is a permanent error; I've given up.\n\n"
              b"<gone@example.net>:\n192.0.2.5 does not like recipient.\nRemote host said: 550 5.1.1 "
              b"unknown user\nGiving up on 192.0.2.5.\n\n--- Below this line is a copy of the message.\n\n")
    if subject.startswith(b"Fwd"):
        report = (b"please look\n\n---------- Forwarded message ---------\nFrom: MAILER-DAEMON@mx.example.org\n"
                  b"Subject: failure notice\n\n" + report)
    raw = (b"From: MAILER-DAEMON@mx.example.org\nTo: me@example.org\nSubject: " + subject +
           b"\nContent-Type: text/plain\n\n" + report + line * (6_000_000 // len(line)))
    results = classify(raw)
    assert [(r.kind, r.recipient, r.status, r.reason) for r in results] == [
        ("bounce", "gone@example.net", "5.1.1", "userunknown")]


# Remote-MTA and Reporting-MTA values are cut down to the host name before the comment after it;
# a value that is no host name (here 100,000 characters of colon groups, which an ambiguous
# address pattern took minutes over) is kept as written, and the report is still read.
@pytest.mark.parametrize("value", ["1:" * 50_000 + "x y", "a." * 50_000 + " (x", "[" + "1:" * 50_000])
def test_an_mta_field_that_is_no_host_name_is_kept_as_written(value: str) -> None:
    raw = ("From: MAILER-DAEMON@mx.example.org\nTo: me@example.org\nSubject: Undelivered Mail\n"
           "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
           "--b\nContent-Type: text/plain\n\nfailed\n\n--b\nContent-Type: message/delivery-status\n\n"
           f"Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; gone@example.net\n"
           f"Action: failed\nStatus: 5.1.1\nRemote-MTA: dns; {value}\n\n--b--\n").encode()
    results = classify(raw)
    assert [(r.recipient, r.status, r.reason) for r in results] == [("gone@example.net", "5.1.1", "userunknown")]
    assert results[0].remote_mta == value.strip()
