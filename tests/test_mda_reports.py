"""Dovecot's delivery agent writes the reports, and bounce-classify reads them.

Dovecot's dovecot-lda, with its Sieve and quota plugins, delivers a message into a mailbox that
has a Sieve "reject", a Sieve "vacation" or a full quota.  What it sends back to the sender (a
rejection as an MDN, a rejection as a DSN, a vacation reply) is captured and classified, so these
cases check the decoders against what a real delivery agent writes.  They need root and Debian's
dovecot-core and dovecot-sieve, which .ci/run provides.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import make_msgid
from typing import Any

import pytest

from bounce_classify import classify
from conftest import require_server
from servers import DovecotLDA, dovecot_missing

HOST = "mx.dest.test"
SENDER = "sender@origin.test"


@dataclass
class Case:
    id: str
    recipient: str
    expect: dict[str, Any]
    sieve: str | None = None
    quota: str | None = None
    big: bool = False


CASES = [
    # the recipient's own filter refused it: an MDN, "automatic-action/MDN-sent-automatically; deleted"
    Case("sieve-reject", "painter@dest.test",
         dict(kind="bounce", reason="filtered", hop="recipient-mailbox", hard_bounce=False, decoded_by="sieve-reject",
              diagnostic="I no longer read this address; please write to the office instead."),
         sieve='require ["reject"];\nreject "I no longer read this address; please write to the office instead.";\n'),
    # over quota: Dovecot 2.3 rejects with a DSN, Status 5.2.2
    Case("quota-exceeded", "rower@dest.test",
         dict(kind="bounce", action="failed", status="5.2.2", reason="mailboxfull", hop="recipient-mailbox",
              hard_bounce=False, decoded_by="rfc3464"),
         quota="*:storage=1k", big=True),
    # an auto-reply, no bounce: it names the message it answers in In-Reply-To
    Case("sieve-vacation", "keeper@dest.test",
         dict(kind="autoreply", reason="vacation", hard_bounce=False, decoded_by="autoreply"),
         sieve='require ["vacation"];\nvacation :days 1 :subject "Away until Monday" '
               '"I am away until Monday 30 November and will answer then.";\n'),
]


def _message(recipient: str, big: bool) -> tuple[bytes, str]:
    msgid = make_msgid(domain="origin.test")
    body = "Hello.\n" + ("y" * 76 + "\n") * (40 if big else 1)
    return (f"From: Sender <{SENDER}>\nTo: {recipient}\nSubject: For {recipient}\nMessage-ID: {msgid}\n\n{body}"
            .encode(), msgid.strip("<>"))


@pytest.fixture(scope="module")
def dovecot_reports() -> dict[str, tuple[list[dict], str]]:
    """For each case: the records of what the agent sent back, and the Message-ID delivered."""
    missing = dovecot_missing()
    if missing:
        require_server(missing)
    lda = DovecotLDA(HOST)
    try:
        out = {}
        for case in CASES:
            seen = set(lda.sent())
            message, msgid = _message(case.recipient, case.big)
            lda.deliver(SENDER, case.recipient, message, case.sieve, case.quota)
            sent = [raw for name, raw in lda.sent().items() if name not in seen]
            assert len(sent) == 1, (case.id, len(sent), lda.log())
            out[case.id] = ([r.to_dict() for r in classify(sent[0])], msgid)
        return out
    finally:
        lda.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_dovecot_writes_and_bounce_classify_reads(dovecot_reports, case: Case) -> None:
    records, msgid = dovecot_reports[case.id]
    assert [r["recipient"] for r in records] == [case.recipient]
    rec = records[0]
    assert {k: rec[k] for k in case.expect} == case.expect, rec
    if rec["kind"] == "bounce":
        assert rec["reporting_mta"] == HOST
    assert rec["original"]["message_id"] == msgid  # links the report to the message delivered
