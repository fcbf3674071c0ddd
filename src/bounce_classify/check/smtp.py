"""``check smtp``: walk the submission handshake one step at a time and stop at the first failure.

connect -> EHLO -> STARTTLS (or implicit TLS on 465) -> EHLO -> AUTH -> MAIL FROM -> RCPT TO.
DATA is never sent.  Each server reply that fails is judged by the same rules as a bounce,
so the report names the hop and the fix.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import asdict, dataclass, field
from typing import Any

_STATUS = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\b")


@dataclass(slots=True)
class Step:
    step: str  # CONN, EHLO, STARTTLS, AUTH, MAIL, RCPT
    ok: bool
    reply_code: int | None = None
    reply: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class SmtpReport:
    host: str
    port: int
    steps: list[Step] = field(default_factory=list)
    auth_methods: list[str] = field(default_factory=list)
    tls: str | None = None
    failed_step: str | None = None
    hop: str | None = None
    reason: str | None = None
    remediation: str | None = None
    rule: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed_step is None

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("host", "port", "auth_methods", "tls", "failed_step", "hop", "reason",
                                           "remediation", "rule")}
        d["ok"] = self.ok
        d["steps"] = [s.to_dict() for s in self.steps]
        return d


def parse_target(target: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port``; the default port is 587."""
    m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?|([^:]+)(?::(\d+))?", target.strip())
    if not m:
        raise ValueError(f"not a host or host:port: {target!r}")
    host = m.group(1) or m.group(3)
    port = int(m.group(2) or m.group(4) or 587)
    if not 0 < port < 65536:
        raise ValueError(f"not a port: {port}")
    return host, port


def _text(msg: bytes | str) -> str:
    return (msg.decode("utf-8", "replace") if isinstance(msg, bytes) else msg).replace("\n", " ").strip()


def check_smtp(host: str, port: int = 587, *, user: str | None = None, password: str | None = None,
               mail_from: str | None = None, rcpt_to: str | None = None, timeout: float = 10.0,
               cafile: str | None = None, insecure: bool = False, helo: str | None = None,
               implicit_tls: bool | None = None) -> SmtpReport:
    """``implicit_tls``: TLS from the first byte (SMTPS); by default on ports 465 and 2465."""
    rep = SmtpReport(host, port)
    ctx = ssl.create_default_context(cafile=cafile)
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    implicit = port in (465, 2465) if implicit_tls is None else implicit_tls
    client: smtplib.SMTP | None = None

    def fail(step: str, code: int | None, reply: str | None, detail: str | None = None) -> SmtpReport:
        rep.steps.append(Step(step, False, code, reply, detail))
        rep.failed_step = step
        _judge(rep, step, code, reply, detail)
        return rep

    try:
        try:
            if implicit:
                client = smtplib.SMTP_SSL(host, port, local_hostname=helo, timeout=timeout, context=ctx)
                rep.tls = "implicit"
            else:
                client = smtplib.SMTP(host, port, local_hostname=helo, timeout=timeout)
        except smtplib.SMTPConnectError as exc:
            return fail("CONN", exc.smtp_code, _text(exc.smtp_error))
        except ssl.SSLError as exc:
            return fail("CONN", None, None, f"TLS handshake failed: {exc.reason or exc}")
        except TimeoutError:
            return fail("CONN", None, None, f"no greeting within {timeout:g}s (connection stalled)")
        except smtplib.SMTPServerDisconnected as exc:
            if "timed out" in str(exc):
                return fail("CONN", None, None, f"no greeting within {timeout:g}s (connection stalled)")
            return fail("CONN", None, None, f"the server closed the connection before its greeting: {exc}")
        except OSError as exc:
            return fail("CONN", None, None, f"cannot connect: {exc.strerror or exc}")
        rep.steps.append(Step("CONN", True, 220, None, f"connected to {host}:{port}"))

        code, msg = client.ehlo()
        if code != 250:
            return fail("EHLO", code, _text(msg))
        rep.steps.append(Step("EHLO", True, code, _text(msg).split(" ")[0]))

        if not implicit:
            if not client.has_extn("starttls"):
                return fail("STARTTLS", None, None, "the server does not offer STARTTLS; credentials would travel "
                            "in clear text")
            try:
                code, msg = client.starttls(context=ctx)
            except smtplib.SMTPResponseException as exc:
                return fail("STARTTLS", exc.smtp_code, _text(exc.smtp_error))
            except ssl.SSLError as exc:
                return fail("STARTTLS", None, None, f"TLS handshake failed: {exc.reason or exc}")
            rep.tls = "starttls"
            rep.steps.append(Step("STARTTLS", True, 220, None, _tls_detail(client)))
            code, msg = client.ehlo()
            if code != 250:
                return fail("EHLO", code, _text(msg))

        rep.auth_methods = sorted(client.esmtp_features.get("auth", "").upper().split())
        if user is not None:
            if not rep.auth_methods:
                return fail("AUTH", None, None, "the server offers no AUTH method after TLS")
            if password is None:
                return fail("AUTH", None, None, "no password given (stdin or BOUNCE_CLASSIFY_SMTP_PASSWORD)")
            try:
                code, msg = client.login(user, password)
            except smtplib.SMTPAuthenticationError as exc:
                return fail("AUTH", exc.smtp_code, _text(exc.smtp_error))
            except smtplib.SMTPException as exc:
                return fail("AUTH", None, None, str(exc))
            rep.steps.append(Step("AUTH", True, code, _text(msg), f"methods offered: {' '.join(rep.auth_methods)}"))

        if mail_from is not None:
            code, msg = client.mail(mail_from)
            if code != 250:
                return fail("MAIL", code, _text(msg))
            rep.steps.append(Step("MAIL", True, code, _text(msg)))
            if rcpt_to is not None:
                code, msg = client.rcpt(rcpt_to)
                if code not in (250, 251):
                    return fail("RCPT", code, _text(msg))
                rep.steps.append(Step("RCPT", True, code, _text(msg)))
        return rep
    except TimeoutError:
        step = _next_step(rep)
        return fail(step, None, None, f"no reply within {timeout:g}s (the server stalled)")
    except smtplib.SMTPServerDisconnected as exc:
        if "timed out" in str(exc):
            return fail(_next_step(rep), None, None, f"no reply within {timeout:g}s (the server stalled)")
        return fail(_next_step(rep), None, None, f"the server closed the connection: {exc}")
    except OSError as exc:
        return fail(_next_step(rep), None, None, f"connection error: {exc}")
    finally:
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


def _next_step(rep: SmtpReport) -> str:
    order = ["CONN", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT"]
    done = {s.step for s in rep.steps if s.ok}
    return next((s for s in order if s not in done), "RCPT")


def _tls_detail(client: smtplib.SMTP) -> str:
    sock = client.sock
    if isinstance(sock, ssl.SSLSocket):
        return f"{sock.version()} {(sock.cipher() or ('?',))[0]}"
    return "TLS"


def _judge(rep: SmtpReport, step: str, code: int | None, reply: str | None, detail: str | None) -> None:
    """Name the hop and the fix for the failing step, with the bounce rules where there is a reply."""
    if code is not None and reply:
        from ..api import default_rules
        from ..model import Facts, RecipientFacts
        from ..rules import judge

        m = _STATUS.match(reply)
        r = RecipientFacts(recipient=None, status=m.group(1) if m else None, reply_code=str(code),
                           diagnostic=f"{code} {reply}", remote_mta=rep.host, smtp_command=step,
                           action="failed")
        facts = Facts(decoded_by="check-smtp", recipients=[r], reporting_mta=rep.host)
        j, _rule = judge(facts, default_rules(), r)
        rep.hop, rep.reason, rep.remediation, rep.rule = j.hop, j.reason, j.remediation, j.rule
        if j.hop not in (None, "unknown"):
            return
    # no reply (or no rule): the step itself says where the problem is
    rep.reason = rep.reason if rep.reason not in (None, "undefined", "onhold") else (
        "networkerror" if step == "CONN" else "securityerror" if step in ("STARTTLS", "AUTH") else "onhold")
    rep.hop = "submission"
    rep.rule = "check-smtp." + step.lower()
    rep.remediation = {
        "CONN": f"{rep.host}:{rep.port} did not answer: check the host name and port (587 STARTTLS, 465 TLS), "
                "and that a firewall lets the client reach it.",
        "EHLO": "The relay refused the greeting: check the client's host name (EHLO) and the relay's access rules.",
        "STARTTLS": "TLS to the relay failed: use port 587 with STARTTLS or 465 with TLS, and check the relay's "
                    "certificate (or pass --cafile for a private CA).",
        "AUTH": "The relay did not accept the login: check the user name and password configured in the client.",
    }.get(step, "The relay refused the envelope: read the reply above.")
