"""The cases the project was born from: the failing hop and an actionable fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bounce_classify import classify

FIXTURES = Path(__file__).parent / "fixtures"


def _one(rel: str):
    results = classify((FIXTURES / rel).read_bytes())
    assert len(results) == 1
    return results[0]


def test_gmail_send_mail_as_with_ses_535_is_the_submission_hop() -> None:
    r = _one("gmail/send-mail-as-ses-535.eml")
    assert r.hop == "submission"
    assert r.fix_owner == "sender"
    text = r.remediation or ""
    assert "Send mail as" in text and "SMTP credentials" in text
    assert "derived from the current IAM secret" in text
    assert "bounce-classify ses smtp-password" in text
    assert r.remote_mta == "email-smtp.us-east-1.amazonaws.com"


@pytest.mark.parametrize(("rel", "hop", "reason"), [
    ("exchange-online/dbeb-5.4.1.eml", "recipient-mailbox", "userunknown"),
    ("exchange-online/dmarc-5.7.509.eml", "sender-authentication", "authfailure"),
    ("exchange-online/banned-ip-5.7.606.eml", "recipient-policy", "blocked"),
    ("exchange-online/outbound-ip-5.7.708.eml", "sending-provider", "badreputation"),
    ("amazon-ses/user-unknown-5.1.1.eml", "recipient-mailbox", "userunknown"),
])
def test_exchange_online_and_ses_hops(rel: str, hop: str, reason: str) -> None:
    r = _one(rel)
    assert (r.hop, r.reason) == (hop, reason)
    assert r.remediation and "{" not in r.remediation


def test_remediation_names_the_concrete_thing() -> None:
    r = _one("exchange-online/banned-ip-5.7.606.eml")
    assert "sender.office.com" in (r.remediation or "")
    r = _one("exchange-online/dmarc-5.7.509.eml")
    assert "sender.example" in (r.remediation or "")


def test_exchange_wrapper_reads_the_remote_reply_after_arrow() -> None:
    r = _one("exchange-online/wrapper-5.1.351.eml")
    assert r.diagnostic is not None and r.diagnostic.startswith("550 5.1.1")
    assert r.reason == "userunknown"
