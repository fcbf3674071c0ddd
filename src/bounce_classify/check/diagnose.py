"""``diagnose``: classify a bounce, then run only the live checks its failing hop calls for.

The report walks the relay chain in order and gives each hop one of three states:
``passed`` (the message got beyond it, or a live check passed), ``failed here`` (the
bounce puts the failure there; live checks add their findings) or ``not checked``.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from typing import Any

from ..model import Result
from . import FAIL, Finding, worst

CHAIN = ("message", "submission", "sending-provider", "sender-authentication", "transport", "recipient-policy",
         "recipient-mailbox")
PASSED, FAILED, NOT_CHECKED = "passed", "failed here", "not checked"
_SES_HOST = re.compile(r"\bemail-smtp\.([a-z0-9-]+)\.amazonaws\.com\b", re.I)
_HOST = re.compile(r"\b((?:[a-z0-9-]+\.)+[a-z]{2,})\b", re.I)


@dataclass
class HopReport:
    hop: str
    state: str
    evidence: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"hop": self.hop, "state": self.state, "evidence": self.evidence, "findings": self.findings}


@dataclass
class Diagnosis:
    result: Result | None
    chain: list[HopReport]
    next_steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "bounce": None if r is None else {k: r.to_dict()[k] for k in (
                "recipient", "status", "reply_code", "diagnostic", "reason", "hop", "remediation", "rule",
                "decoded_by", "remote_mta")},
            "chain": [h.to_dict() for h in self.chain],
            "next_steps": self.next_steps,
        }


@dataclass
class LiveOptions:
    offline: bool = False
    nameserver: str | None = None
    timeout: float = 5.0
    relay: str | None = None  # HOST[:PORT] to test instead of the relay named in the bounce
    user: str | None = None
    password: str | None = None
    cafile: str | None = None
    insecure: bool = False
    smtp_port: int = 25  # the port probed on the recipient's MX
    provider: str | None = None
    dkim_selectors: tuple[str, ...] = ()


def _domain(addr: str | None) -> str | None:
    if not addr:
        return None
    m = re.search(r"@([A-Za-z0-9.-]+)", addr)
    return m.group(1).lower().rstrip(".") if m else None


def _provider(raw: bytes, result: Result) -> str | None:
    text = (result.diagnostic or "") + " " + (result.remote_mta or "") + " " + (result.reporting_mta or "")
    if b"amazonses.com" in raw or "amazonses" in text or _SES_HOST.search(text):
        return "ses"
    return None


def _relay(result: Result) -> str | None:
    text = " ".join(x for x in (result.diagnostic, result.remote_mta, result.remediation) if x)
    m = _SES_HOST.search(text)
    if m:
        return m.group(0).lower()
    return result.remote_mta


def diagnose(raw: bytes, opts: LiveOptions) -> Diagnosis:
    from ..api import classify

    results = classify(raw, original_headers=("Return-Path",))
    failing = next((r for r in results if r.kind in ("bounce", "delay")), None)
    if failing is None:
        return Diagnosis(None, [], [f"this is not a bounce (kind: {results[0].kind}); nothing to diagnose"])
    hop = failing.hop or "unknown"
    chain = []
    idx = CHAIN.index(hop) if hop in CHAIN else None
    for i, name in enumerate(CHAIN):
        if idx is not None and i < idx:
            chain.append(HopReport(name, PASSED, ["the message got past this hop to the one that failed"]))
        elif name == hop:
            ev = [failing.diagnostic or f"{failing.reply_code or ''} {failing.status or ''}".strip(),
                  f"reason {failing.reason}, rule {failing.rule}"]
            chain.append(HopReport(name, FAILED, [e for e in ev if e]))
        else:
            chain.append(HopReport(name, NOT_CHECKED))
    diag = Diagnosis(failing, chain)
    if failing.remediation:
        diag.next_steps.append(failing.remediation)
    if idx is None:
        diag.next_steps.append("the bounce does not show which hop failed; no live check applies")
        return diag
    here = chain[idx]
    if opts.offline:
        here.evidence.append("live checks skipped (--offline)")
        return diag
    provider = opts.provider or _provider(raw, failing)
    if hop == "sender-authentication":
        _check_sender_domains(failing, provider, opts, here, diag)
    elif hop == "submission":
        _check_relay(failing, opts, here, diag)
    elif hop == "transport":
        _check_recipient_domain(failing, opts, here, diag)
    else:
        here.evidence.append(f"no live check applies to the {hop} hop")
    return diag


def _check_sender_domains(r: Result, provider: str | None, opts: LiveOptions, here: HopReport,
                          diag: Diagnosis) -> None:
    from .dns import check_domain

    original = r.original or {}
    from_domain = _domain(original.get("from")) or _domain((r.bounce or {}).get("to"))
    rp = _domain((original.get("headers") or {}).get("Return-Path"))
    if from_domain is None:
        here.evidence.append("the returned original has no From address to check")
        return
    mail_from = rp if rp and rp != from_domain else None
    findings = check_domain(from_domain, provider=provider, dkim_selectors=opts.dkim_selectors,
                            mail_from=mail_from, nameserver=opts.nameserver, timeout=opts.timeout)
    here.findings.extend(f.to_dict() for f in findings)
    failed = [f for f in findings if f.status == FAIL]
    here.evidence.append(f"checked {from_domain}" + (f" and MAIL FROM {mail_from}" if mail_from else "")
                         + f": {worst(findings)}")
    for f in failed:
        diag.next_steps.append(f"{f.check}: {f.advice}")
    if not failed:
        diag.next_steps.append(f"the DNS of {from_domain} looks right now: if it was fixed since the bounce, resend")


def _check_relay(r: Result, opts: LiveOptions, here: HopReport, diag: Diagnosis) -> None:
    from .smtp import check_smtp, parse_target

    target = opts.relay or _relay(r)
    if not target:
        here.evidence.append("the bounce names no relay host; give one with --relay HOST[:PORT]")
        return
    host, port = parse_target(target)
    if opts.user is None:
        here.evidence.append(f"relay {host}:{port} not tested: no credentials given")
        diag.next_steps.append(f"test the login yourself: printf '%s' \"$SMTP_PASSWORD\" | bounce-classify check "
                               f"smtp {host}:{port} --user YOUR_SMTP_USER")
        return
    rep = check_smtp(host, port, user=opts.user, password=opts.password, timeout=opts.timeout,
                     cafile=opts.cafile, insecure=opts.insecure)
    here.findings.extend(s.to_dict() for s in rep.steps)
    if rep.ok:
        here.evidence.append(f"live check: the relay {host}:{port} accepts these credentials now "
                             f"({' -> '.join(s.step for s in rep.steps)} passed)")
        diag.next_steps.append("the credentials given work: put exactly these in the client or alias that bounced")
    else:
        failed = rep.steps[-1]
        here.evidence.append(f"live check: {host}:{port} fails at {rep.failed_step}: "
                             f"{failed.reply_code or ''} {failed.reply or failed.detail or ''}".strip())
        if rep.remediation:
            diag.next_steps.append(rep.remediation)


def _check_recipient_domain(r: Result, opts: LiveOptions, here: HopReport, diag: Diagnosis) -> None:
    from .dns import Resolver, check_mx

    domain = _domain(r.recipient)
    if domain is None:
        here.evidence.append("no recipient domain to check")
        return
    res = Resolver(opts.nameserver, opts.timeout)
    findings: list[Finding] = check_mx(res, domain)
    here.findings.extend(f.to_dict() for f in findings)
    here.evidence.append(f"MX of {domain}: {findings[0].status} ({findings[0].seen or 'none'})")
    if findings[0].status == FAIL:
        diag.next_steps.append(f"mx: {findings[0].advice}")
        return
    hosts = [h for _, h in res.mx(domain)] or [domain]
    for host in hosts[:3]:
        addrs = res.addresses(host)
        if not addrs:
            continue
        banner = _probe(addrs[0], opts.smtp_port, opts.timeout)
        here.findings.append({"check": f"port {opts.smtp_port} of {host}", "status": "pass" if banner else "fail",
                              "seen": banner or "no answer", "advice": None})
        if banner:
            here.evidence.append(f"{host} ({addrs[0]}) answers on port {opts.smtp_port}: {banner}")
            return
    here.evidence.append(f"no MX host of {domain} answers on port {opts.smtp_port}")
    diag.next_steps.append(f"the recipient's mail servers do not answer on port {opts.smtp_port}: "
                           "the recipient's admin must fix them; the sending MTA keeps retrying meanwhile")


def _probe(addr: str, port: int, timeout: float) -> str | None:
    try:
        with socket.create_connection((addr, port), timeout=timeout) as s:
            s.settimeout(timeout)
            data = s.recv(512)
            s.sendall(b"QUIT\r\n")
            return data.decode("utf-8", "replace").splitlines()[0].strip() if data else None
    except OSError:
        return None
