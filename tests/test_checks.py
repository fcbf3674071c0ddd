"""Live checks against real servers on loopback: an authoritative DNS server and aiosmtpd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bounce_classify.check.dns import check_domain
from bounce_classify.check.smtp import check_smtp
from servers import BannerServer, DnsServer, SmtpServer, StallingServer, make_certificate, txt

FIXTURES = Path(__file__).parent / "fixtures"
SES_TOKENS = ("tok1abc", "tok2def", "tok3ghi")


def _chain(n: int) -> dict[str, list[tuple[str, str]]]:
    """An SPF record whose includes need 12 DNS lookups."""
    zone: dict[str, list[tuple[str, str]]] = {}
    for i in range(n):
        nxt = f" include:spf{i + 1}.chain.test" if i + 1 < n else ""
        zone[f"spf{i}.chain.test"] = [("TXT", txt(f"v=spf1 ip4:192.0.2.{i}{nxt} ~all"))]
    return zone


ZONE: dict[str, list[tuple[str, str]]] = {
    # a domain set up right for SES
    "good.test": [("TXT", txt("v=spf1 include:amazonses.com -all")), ("MX", "10 mx.good.test.")],
    "mx.good.test": [("A", "127.0.0.1")],
    "_dmarc.good.test": [("TXT", txt("v=DMARC1; p=reject; rua=mailto:dmarc@good.test; adkim=s"))],
    "amazonses.com": [("TXT", txt("v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 -all"))],
    **{f"{t}._domainkey.good.test": [("CNAME", f"{t}.dkim.amazonses.com.")] for t in SES_TOKENS},
    **{f"{t}.dkim.amazonses.com": [("TXT", txt("v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"))]
       for t in SES_TOKENS},
    "mail.good.test": [("MX", "10 feedback-smtp.us-east-1.amazonses.com."),
                       ("TXT", txt("v=spf1 include:amazonses.com ~all"))],
    # the sender of the founding DMARC case: no DMARC, SPF without the provider
    "sender.example": [("TXT", txt("v=spf1 ip4:198.51.100.7 ~all")), ("MX", "10 mx.good.test.")],
    # broken in several ways
    "chain.test": [("TXT", txt("v=spf1 include:spf0.chain.test ~all")), ("MX", "0 .")],
    **_chain(12),
    "_dmarc.chain.test": [("TXT", txt("v=DMARC1; p=none; pct=50"))],
    "twice.test": [("TXT", txt("v=spf1 mx -all")), ("TXT", txt("v=spf1 a -all"))],
    "open.test": [("TXT", txt("v=spf1 +all")), ("TXT", txt("v=spf1x-not-spf"))],
    "typo.test": [("TXT", txt("v=spf1 inclde:amazonses.com ~all"))],
    # recipient domains for the transport check
    "recipient.test": [("MX", "10 mx.recipient.test.")],
    "mx.recipient.test": [("A", "127.0.0.1")],
    "dead.test": [("MX", "10 nowhere.dead.test.")],
}


@pytest.fixture(scope="module")
def dns_server():
    srv = DnsServer(ZONE)
    yield srv
    srv.close()


def by_check(findings) -> dict[str, str]:
    return {f.check: f.status for f in findings}


# (domain, options, expected statuses for some checks)
DOMAIN_CASES = [
    ("good.test", {"provider": "ses", "dkim_selectors": SES_TOKENS, "mail_from": "mail.good.test"},
     {"spf.syntax": "pass", "spf.lookups": "pass", "spf.provider": "pass", "dkim:tok1abc": "pass",
      "dkim:tok3ghi": "pass", "dmarc.policy": "pass", "dmarc.rua": "pass", "mail-from.mx": "pass",
      "mail-from.spf.provider": "pass", "mx": "pass"}),
    ("good.test", {"provider": "ses", "dkim_selectors": ("missing1",)}, {"dkim:missing1": "fail"}),
    ("sender.example", {"provider": "ses"}, {"spf.provider": "fail", "dmarc": "fail", "mx": "pass"}),
    ("chain.test", {}, {"spf.lookups": "fail", "dmarc.policy": "warn", "dmarc.pct": "warn", "dmarc.rua": "warn",
                        "mx": "warn"}),
    ("twice.test", {}, {"spf": "fail"}),
    ("open.test", {}, {"spf.all": "fail"}),
    ("typo.test", {}, {"spf.syntax": "fail"}),
    ("nonexistent.test", {}, {"spf": "fail", "dmarc": "fail", "mx": "warn"}),
]


@pytest.mark.parametrize("domain,opts,expected", DOMAIN_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(DOMAIN_CASES)])
def test_check_domain(dns_server, domain, opts, expected) -> None:
    got = by_check(check_domain(domain, nameserver=dns_server.address, **opts))
    assert {k: got.get(k) for k in expected} == expected


def test_spf_lookup_count_follows_the_chain(dns_server) -> None:
    f = {x.check: x for x in check_domain("chain.test", nameserver=dns_server.address)}
    assert f["spf.lookups"].seen == "12 DNS lookups"
    assert "ip4:" in (f["spf.lookups"].advice or "")


def test_unreachable_name_server_is_a_finding_not_a_crash() -> None:
    srv = StallingServer()  # TCP only; UDP to a closed port gets nothing back
    try:
        f = check_domain("good.test", nameserver=f"127.0.0.1:{srv.port}", timeout=0.5)
    finally:
        srv.close()
    assert [x.check for x in f] == ["dns"] and f[0].status == "fail"


# -- SMTP ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def relay(tls):
    srv = SmtpServer(*tls, user="AKIAEXAMPLE", password="right-password")
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def plain_relay(tls):
    srv = SmtpServer(*tls, user="AKIAEXAMPLE", password="right-password", starttls=False)
    yield srv
    srv.close()


# (name, server fixture, kwargs, failed step, hop, remediation must mention)
SMTP_CASES = [
    ("right password passes", "relay", {"password": "right-password"}, None, None, None),
    ("stale password fails at AUTH", "relay", {"password": "old-password"}, "AUTH", "submission",
     "ses smtp-password"),
    ("unknown recipient fails at RCPT", "relay", {"password": "right-password", "mail_from": "me@good.test",
                                                  "rcpt_to": "nobody@unknown.test"}, "RCPT", "recipient-mailbox",
     None),
    ("no STARTTLS offered", "plain_relay", {"password": "right-password"}, "STARTTLS", "submission", "TLS"),
    ("untrusted certificate", "relay", {"password": "right-password", "cafile": None}, "STARTTLS", "submission",
     "certificate"),
]


@pytest.mark.parametrize("name,server,kwargs,step,hop,mention", SMTP_CASES, ids=[c[0] for c in SMTP_CASES])
def test_check_smtp(request, tls, name, server, kwargs, step, hop, mention) -> None:
    srv = request.getfixturevalue(server)
    kw = {"cafile": str(tls[0]), "user": "AKIAEXAMPLE", "timeout": 5.0, **kwargs}
    rep = check_smtp("127.0.0.1", srv.port, **kw)
    assert rep.failed_step == step
    assert rep.hop == hop
    if step is None:
        assert [s.step for s in rep.steps] == ["CONN", "EHLO", "STARTTLS", "AUTH"]
        assert rep.auth_methods == ["LOGIN", "PLAIN"]
    else:
        assert rep.steps[-1].step == step and not rep.steps[-1].ok
    if mention:
        assert mention in (rep.remediation or "")


def test_implicit_tls(tls) -> None:
    srv = SmtpServer(*tls, user="AKIAEXAMPLE", password="right-password", implicit=True)
    try:
        rep = check_smtp("127.0.0.1", srv.port, user="AKIAEXAMPLE", password="right-password",
                         cafile=str(tls[0]), implicit_tls=True)
    finally:
        srv.close()
    assert rep.ok and rep.tls == "implicit"
    assert [s.step for s in rep.steps] == ["CONN", "EHLO", "AUTH"]


def test_a_stalled_server_is_a_bounded_failure() -> None:
    srv = StallingServer()
    try:
        rep = check_smtp("127.0.0.1", srv.port, timeout=1.0)
    finally:
        srv.close()
    assert rep.failed_step == "CONN"
    assert "stalled" in (rep.steps[-1].detail or "")


# -- the command line: diagnose on the founding cases ------------------------------------------

def cli(args: list[str], stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bounce_classify", *args], input=stdin, capture_output=True,
                          timeout=60, env={**os.environ, **(env or {})})


def hops(out: bytes) -> dict[str, str]:
    return {h["hop"]: h["state"] for h in json.loads(out)["chain"]}


@pytest.mark.parametrize("password,state,mention", [
    ("old-password", "fails at AUTH: 535 Authentication Credentials Invalid", "ses smtp-password"),
    ("right-password", "accepts these credentials", "put exactly these"),
])
def test_diagnose_gmail_alias_over_ses(relay, tls, password, state, mention) -> None:
    p = cli(["diagnose", str(FIXTURES / "gmail/send-mail-as-ses-535.eml"), "--format", "json",
             "--relay", f"127.0.0.1:{relay.port}", "--user", "AKIAEXAMPLE", "--cafile", str(tls[0])],
            stdin=password.encode() + b"\n")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["bounce"]["hop"] == "submission"
    chain = hops(p.stdout)
    assert chain["submission"] == "failed here" and chain["message"] == "passed"
    assert chain["transport"] == "not checked"
    evidence = " ".join(next(h for h in d["chain"] if h["hop"] == "submission")["evidence"])
    assert state in evidence
    assert any(mention in s for s in d["next_steps"])


def test_diagnose_exchange_dmarc_rejection_checks_the_sender_domain(dns_server) -> None:
    p = cli(["diagnose", str(FIXTURES / "exchange-online/dmarc-5.7.509.eml"), "--format", "json",
             "--nameserver", dns_server.address])
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["bounce"]["hop"] == "sender-authentication"
    here = next(h for h in d["chain"] if h["hop"] == "sender-authentication")
    assert here["state"] == "failed here"
    statuses = {f["check"]: f["status"] for f in here["findings"]}
    assert statuses["dmarc"] == "fail"
    assert any(s.startswith("dmarc: publish a TXT record at _dmarc.sender.example") for s in d["next_steps"])


def test_diagnose_transport_probes_the_recipient_mx(dns_server, tmp_path: Path) -> None:
    banner = BannerServer()
    bounce = (b"From: MAILER-DAEMON@relay.sender.test\nTo: me@good.test\n"
              b"Subject: Undelivered Mail Returned to Sender\n\n"
              b"<pat@recipient.test>: connect to mx.recipient.test[127.0.0.1]:25: Connection timed out\n")
    path = tmp_path / "b.eml"
    path.write_bytes(bounce)
    try:
        p = cli(["diagnose", str(path), "--format", "json", "--nameserver", dns_server.address,
                 "--smtp-port", str(banner.port)])
    finally:
        banner.close()
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["bounce"]["hop"] == "transport"
    here = next(h for h in d["chain"] if h["hop"] == "transport")
    assert any("answers on port" in e and "220 mx.recipient.test" in e for e in here["evidence"])


def test_diagnose_offline_runs_no_check() -> None:
    p = cli(["diagnose", str(FIXTURES / "exchange-online/dmarc-5.7.509.eml"), "--offline", "--format", "json"])
    d = json.loads(p.stdout)
    here = next(h for h in d["chain"] if h["hop"] == "sender-authentication")
    assert here["findings"] == [] and "live checks skipped (--offline)" in here["evidence"]


def test_check_commands_exit_status_and_password_from_stdin(relay, tls, dns_server) -> None:
    p = cli(["check", "smtp", f"127.0.0.1:{relay.port}", "--user", "AKIAEXAMPLE", "--cafile", str(tls[0]),
             "--format", "json"], stdin=b"right-password\n")
    assert p.returncode == 0 and json.loads(p.stdout)["ok"] is True
    p = cli(["check", "smtp", f"127.0.0.1:{relay.port}", "--user", "AKIAEXAMPLE", "--cafile", str(tls[0]),
             "--format", "json"], stdin=b"", env={"BOUNCE_CLASSIFY_SMTP_PASSWORD": "old-password"})
    assert p.returncode == 1 and json.loads(p.stdout)["failed_step"] == "AUTH"
    p = cli(["check", "domain", "good.test", "--provider", "ses", "--nameserver", dns_server.address,
             "--format", "json"])
    assert p.returncode == 0, p.stdout  # warnings (DKIM not given) do not fail
    p = cli(["check", "domain", "chain.test", "--nameserver", dns_server.address, "--format", "json"])
    assert p.returncode == 1
    p = cli(["check", "domain", "x.test", "--provider", "nosuch"])
    assert p.returncode == 2 and b"unknown provider" in p.stderr
