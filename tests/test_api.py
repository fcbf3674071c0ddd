"""The Python API: classify(bytes) and the iterator that never stops on a bad message."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from bounce_classify import Failure, Result, classify, classify_paths

FIXTURES = Path(__file__).parent / "fixtures"
CONTRACT_FIELDS = [
    "schema", "source", "message", "kind", "recipient", "action", "status", "reply_code", "diagnostic",
    "reason", "hop", "permanent", "hard_bounce", "fix_owner", "remediation", "rule", "decoded_by",
    "reporting_mta", "remote_mta", "smtp_command", "timestamp", "feedback_type", "bounce", "original", "token",
]


def test_to_dict_is_exactly_the_contract_record() -> None:
    r = classify((FIXTURES / "postfix/mailbox-full-text.eml").read_bytes())[0]
    d = r.to_dict()
    assert list(d) == CONTRACT_FIELDS
    assert set(d["bounce"]) == {"message_id", "from", "subject", "date"}
    assert set(d["original"]) == {"message_id", "from", "to", "subject", "date"}
    json.dumps(d)
    assert all(v != "" for v in d.values())


def test_result_is_frozen_and_picklable() -> None:
    r = classify((FIXTURES / "sendmail/user-unknown.eml").read_bytes())[0]
    with pytest.raises(AttributeError, match="frozen"):
        r.reason = "x"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(r)) == r


@pytest.mark.parametrize("raw", [b"", b"x", b"\n", b"\x00\x01\x02", b"From: a\n\n"])
def test_tiny_inputs_give_a_not_bounce_record(raw: bytes) -> None:
    results = classify(raw)
    assert len(results) == 1
    assert results[0].kind == "not-bounce" and results[0].recipient is None


def test_token_is_stable_and_independent_of_line_ends() -> None:
    raw = (FIXTURES / "exim/unrouteable.eml").read_bytes()
    a = classify(raw)[0].token
    assert a == classify(raw)[0].token
    assert a == classify(raw.replace(b"\n", b"\r\n"))[0].token


def test_iterator_reports_a_bad_path_and_goes_on(tmp_path: Path) -> None:
    good = tmp_path / "good.eml"
    good.write_bytes((FIXTURES / "qmail/blocked.eml").read_bytes())
    out = list(classify_paths([str(tmp_path / "missing.eml"), str(good)]))
    assert isinstance(out[0], Failure) and "no such file" in out[0].error
    assert isinstance(out[1], list) and isinstance(out[1][0], Result)
    assert out[1][0].recipient == "reader@isp.example"


def test_iterator_survives_a_decoder_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bounce_classify.api as api

    calls = {"n": 0}
    real = api._classify_mime

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "_classify_mime", flaky)
    for name in ("a.eml", "b.eml"):
        (tmp_path / name).write_bytes((FIXTURES / "yahoo/no-account.eml").read_bytes())
    out = list(classify_paths([str(tmp_path)]))
    assert isinstance(out[0], Failure) and "boom" in out[0].error
    assert isinstance(out[1], list) and out[1][0].reason == "userunknown"


def test_original_header_option_adds_named_headers() -> None:
    raw = (FIXTURES / "exchange-online/dbeb-5.4.1.eml").read_bytes()
    r = classify(raw, original_headers=["X-List-Subscriber"])[0]
    assert r.original is not None
    assert r.original["headers"] == {"X-List-Subscriber": "4711"}
    assert r.original["message_id"] == "jan-update-0001@sender.example"


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_mbox_with_any_line_end_yields_every_message(tmp_path: Path, ending: bytes) -> None:
    bounces = [(FIXTURES / "postfix" / "mailbox-full-text.eml").read_bytes(),
               (FIXTURES / "sendmail" / "user-unknown.eml").read_bytes()]
    box = b""
    for raw in bounces:
        box += b"From MAILER-DAEMON  Mon Feb  2 10:00:00 2026\n" + raw.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n\n"
    path = tmp_path / "archive"
    path.write_bytes(box.replace(b"\n", ending))
    batches = list(classify_paths([str(path)]))
    assert [type(b) for b in batches] == [list, list]
    assert [b[0].message for b in batches] == [1, 2]  # type: ignore[index]
    assert all(b[0].kind == "bounce" and b[0].recipient for b in batches)  # type: ignore[index]


def test_mbox_message_with_a_line_of_megabytes_is_kept_whole(tmp_path: Path) -> None:
    # a returned original with its base64 on one line: the reader passes the line on in pieces,
    # and the message must come out whole, the next one still separate
    from bounce_classify.read import iter_items

    first = (FIXTURES / "postfix" / "mailbox-full-text.eml").read_bytes().replace(b"\r\n", b"\n").rstrip(b"\n")
    first += b"\n\n" + b"QUJD" * 1_500_000 + b"\n"
    second = (FIXTURES / "sendmail" / "user-unknown.eml").read_bytes().replace(b"\r\n", b"\n")
    sep = b"From MAILER-DAEMON  Mon Feb  2 10:00:00 2026\n"
    path = tmp_path / "archive"
    path.write_bytes(sep + first + b"\n" + sep + second)
    items = list(iter_items([str(path)]))
    assert [getattr(i, "data", None) for i in items] == [first + b"\n", second]
    batches = list(classify_paths([str(path)]))
    assert [(b[0].message, b[0].kind) for b in batches] == [(1, "bounce"), (2, "bounce")]  # type: ignore[index]


@pytest.mark.parametrize(("separator", "messages"), [
    (b"From MAILER-DAEMON  Mon Feb  2 10:00:00 2026\n", 2),       # exact asctime date: a separator
    (b"From MAILER-DAEMON  Mon Feb  2 10:00:00 CET 2026\n", 2),   # with a zone name, as some writers add
    (b"From the team, 10:00 as agreed\n", 1),                      # body text, not a separator
])
def test_mbox_separator_without_a_blank_line_before_it(tmp_path: Path, separator: bytes, messages: int) -> None:
    first = (FIXTURES / "postfix" / "mailbox-full-text.eml").read_bytes().replace(b"\r\n", b"\n").rstrip(b"\n")
    second = (FIXTURES / "sendmail" / "user-unknown.eml").read_bytes().replace(b"\r\n", b"\n")
    path = tmp_path / "archive"
    path.write_bytes(b"From MAILER-DAEMON  Mon Feb  2 09:59:00 2026\n" + first + b"\n" + separator + second)
    batches = list(classify_paths([str(path)]))
    assert len(batches) == messages
    assert all(isinstance(b, list) and b for b in batches)


@pytest.mark.parametrize("name", ["bounce-in-sns-envelope.json", "complaint.json"])
def test_classify_accepts_notification_json_bytes(name: str) -> None:
    raw = (FIXTURES / "ses-notification" / name).read_bytes()
    results = classify(raw)
    assert results and all(r.decoded_by == "ses-notification" for r in results)


def test_classify_reads_outlook_msg_bytes() -> None:
    from conftest import require_program

    require_program("msgconvert", "it converts Outlook .msg files")
    raw = (FIXTURES / "outlook" / "ndr-recipient-not-found.msg").read_bytes()
    results = classify(raw)
    assert [(r.recipient, r.reason) for r in results] == [("m.keller@partner.example", "userunknown")]
    assert results[0].original is not None and results[0].original["message_id"] == "programme-2026@sender.example"


@pytest.mark.parametrize("sizes", [[0], [5], [100, 7], [300 * 1024, 300 * 1024, 10]],
                         ids=["empty", "small", "two chunks", "past the switch to OpenSSL"])
def test_digests_are_sha256_whichever_implementation_computes_them(sizes: list[int]) -> None:
    """Tokens and quarantine names rest on these: the built-in SHA-256 and OpenSSL's must agree."""
    import hashlib

    from bounce_classify import digest

    chunks = [bytes([i % 251]) * n for i, n in enumerate(sizes)]
    joined = b"".join(chunks)
    want = hashlib.sha256(joined).hexdigest()
    assert digest.sha256_hex_of_chunks(chunks) == want
    assert digest.sha256_hex(joined) == want
    if len(joined) > digest.SWITCH_AFTER:
        assert digest._new is not digest._builtin  # a large input moved the process to OpenSSL
