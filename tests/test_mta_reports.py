"""Real MTAs write the reports, and bounce-classify reads them.

A private Postfix, Exim, OpenSMTPD, Sendmail and DragonFly Mail Agent (dma) each relay test messages to an aiosmtpd server on loopback
that answers each recipient as its table says (user unknown, mailbox full, blocked, spam at
DATA, greylisted), to a server with a SIZE limit, to a closed port, and to a local user who
does not exist.  Each MTA then writes its own notifications: bounces, delay warnings and (from
Postfix) a success report.  They come back to the same aiosmtpd server as the sender's mail
and are classified with `classify()`, so these cases check the decoders and the rules against
what the installed MTAs really write, not against copies.

They need root, Debian's postfix package, Exim (exim4-daemon-light), OpenSMTPD, Sendmail
(sendmail-bin, sendmail-cf and m4) and dma, which .ci/run provides.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from email.utils import make_msgid
from typing import Any

import pytest

from bounce_classify import classify
from bounce_classify.model import Result
from conftest import require_server
from servers import (
    BannerServer,
    Dma,
    DnsServer,
    Exim,
    OpenSMTPD,
    Postfix,
    Sendmail,
    dma_missing,
    exim_missing,
    free_port,
    opensmtpd_missing,
    postfix_missing,
    private_etc_missing,
    sendmail_missing,
    wait_for,
)

ORIGIN = "origin.test"  # the sender's domain: its mail, notifications included, goes to the sink
SENDER = f"sender@{ORIGIN}"
DEST, SMALL, CLOSED, REFUSING = "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"  # one address per next hop: Exim
# keys its retry data and reuses connections by address, not by port

# The downstream server's answer, by the recipient's local part: (SMTP stage, reply).
# Other recipients are accepted.
REPLIES = {
    "nouser": ("RCPT", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"),
    "full": ("RCPT", "452 4.2.2 <{rcpt}>: Mailbox full"),
    "listed": ("RCPT", "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"),
    "spam": ("DATA", "550 5.7.1 Message rejected as spam by Content Filtering"),
    "grey": ("RCPT", "451 4.7.1 <{rcpt}>: Recipient address rejected: Greylisted, please try again later"),
}
# The recipients' DNS, for the domains routed by their MX records: the MTAs' stub resolvers ask
# the server at RESOLVER (port 53, as a resolv.conf cannot name a port).  nx.test does not exist,
# nullmx.test says it takes no mail (RFC 7505), lame.test names a mail server that does not exist,
# and servfail.test's name server fails
RESOLVER = "127.0.0.35"
ZONE = {"nullmx.test": [("MX", "0 .")], "lame.test": [("MX", "10 mx.gone.test")],
        "servfail.test": [("RCODE", "SERVFAIL")]}
# what the server at refusing.test says instead of a greeting
GREETING_REFUSAL = "554 5.7.1 mx.refusing.test: Client host [127.0.0.1] blocked using bl.spamcop.net"
# a sender the downstream server refuses at MAIL FROM, for every recipient
REFUSED_SENDER = f"refused@{ORIGIN}"
MAIL_REPLY = "553 5.7.1 <{sender}>: Sender address rejected: not owned by user"


@dataclass
class Case:
    """One message: its recipients, and what each MTA's report must say of each recipient.

    ``expect`` maps an MTA to {(recipient, kind): fields}; fields left out are not checked, and
    an MTA left out does not send this message.
    """

    id: str
    recipients: list[str]
    expect: dict[str, dict[tuple[str, str], dict[str, Any]]]
    notify: str | None = None
    postfix_queue: str = "bounce-now"
    big: bool = False
    sender: str = SENDER


USER_UNKNOWN = dict(kind="bounce", status="5.1.1", reply_code="550", reason="userunknown", hop="recipient-mailbox",
                    hard_bounce=True)
BLOCKED = dict(kind="bounce", status="5.7.1", reply_code="554", reason="blocked", hop="recipient-policy",
               hard_bounce=False)
# Postfix and Exim name the server and the command it refused; OpenSMTPD's report names neither
SAID_AT_RCPT = dict(smtp_command="RCPT", remote_mta=DEST)
# OpenSMTPD keeps retrying a temporary failure, warns, and reports an expired envelope in the
# end with "Action: delayed": that last report is a bounce
EXPIRED_ENVELOPE = dict(action="delayed", status="4.4.7", diagnostic="Envelope expired", reason="expired",
                        hop="transport", permanent=True)
# no server was asked: the recipient's domain has no mail server, by DNS
HOST_UNKNOWN = dict(kind="bounce", reason="hostunknown", hop="recipient-mailbox", hard_bounce=True, smtp_command=None)


def _no_mx_found(rcpt: str) -> dict[tuple[str, str], dict[str, Any]]:
    """OpenSMTPD's warning that it found no usable MX, then its report of the expired envelope."""
    return {(rcpt, "delay"): dict(action="delayed", diagnostic="No MX found for domain", reason="networkerror",
                                  hop="transport", permanent=False),
            (rcpt, "bounce"): EXPIRED_ENVELOPE}


# a DNS lookup that failed for now
DNS_TEMPORARY = dict(action="delayed", reason="networkerror", hop="transport", fix_owner="recipient-admin",
                     permanent=False)
ALL = ("postfix", "exim", "opensmtpd", "sendmail")
# dma retries a temporary failure for days and sends no warnings: it runs the permanent cases
PERMANENT = (*ALL, "dma")
# dma reports each recipient in a bounce of its own; the others, a message's recipients together
REPORT_PER_RECIPIENT = {"dma"}
CASES = [
    Case("rcpt-user-unknown", ["nouser@dest.test"], {
        "postfix": {("nouser@dest.test", "bounce"): dict(USER_UNKNOWN, **SAID_AT_RCPT, action="failed")},
        "exim": {("nouser@dest.test", "bounce"): dict(USER_UNKNOWN, **SAID_AT_RCPT, action="failed")},
        "opensmtpd": {("nouser@dest.test", "bounce"): dict(USER_UNKNOWN, action="failed")},
        "sendmail": {("nouser@dest.test", "bounce"): dict(USER_UNKNOWN, **SAID_AT_RCPT, action="failed")},
        # dma's text names the server and the command, and has no DSN fields
        "dma": {("nouser@dest.test", "bounce"): dict(USER_UNKNOWN, **SAID_AT_RCPT, action=None)}}),
    # two recipients refused for different reasons: each keeps its own reply
    Case("two-recipients-one-report", ["nouser+2@dest.test", "listed+2@dest.test"], {
        mta: {("nouser+2@dest.test", "bounce"): USER_UNKNOWN, ("listed+2@dest.test", "bounce"): BLOCKED}
        for mta in PERMANENT}),
    Case("mailbox-full", ["full@dest.test"], {
        **{mta: {("full@dest.test", "bounce"): dict(kind="bounce", action="failed", reply_code="452",
                                                    reason="mailboxfull", hop="recipient-mailbox", hard_bounce=False)}
           for mta in ("postfix", "exim")},
        "opensmtpd": {("full@dest.test", "delay"): dict(action="delayed", status="4.2.2", reply_code="452",
                                                        reason="mailboxfull", hop="recipient-mailbox"),
                      ("full@dest.test", "bounce"): EXPIRED_ENVELOPE},
        # Sendmail warns, then gives up with "Action: failed" and 4.4.7, the last reply quoted
        "sendmail": {("full@dest.test", "delay"): dict(action="delayed", status="4.2.2", reply_code="452",
                                                       reason="mailboxfull", hop="recipient-mailbox", permanent=False),
                     ("full@dest.test", "bounce"): dict(action="failed", status="4.2.2", reply_code="452",
                                                        reason="mailboxfull", hop="recipient-mailbox",
                                                        hard_bounce=False)}}),
    Case("client-on-block-list", ["listed@dest.test"], {
        mta: {("listed@dest.test", "bounce"): BLOCKED} for mta in PERMANENT}),
    Case("spam-at-end-of-data", ["spam@dest.test"], {
        mta: {("spam@dest.test", "bounce"): dict(kind="bounce", status="5.7.1", reply_code="550",
                                                 reason="spamdetected", hop="recipient-policy")}
        for mta in PERMANENT}),
    Case("server-size-limit", ["big@small.test"], {
        mta: {("big@small.test", "bounce"): dict(kind="bounce", reason="mesgtoobig", hop="message")}
        for mta in PERMANENT}, big=True),
    Case("connection-refused", ["anyone@closed.test"], {
        "postfix": {("anyone@closed.test", "bounce"): dict(action="failed", status="4.4.1", reason="networkerror",
                                                           hop="transport")},
        # Exim warns first, with no cause (a refused connection is no reply), then gives up
        "exim": {("anyone@closed.test", "delay"): dict(action="delayed", diagnostic=None, reason="expired",
                                                       hop="transport", fix_owner="none", permanent=False),
                 ("anyone@closed.test", "bounce"): dict(action="failed", reason="expired", hop="transport",
                                                        permanent=True)},
        "opensmtpd": {("anyone@closed.test", "delay"): dict(action="delayed", reason="networkerror", hop="transport",
                                                            permanent=False),
                      ("anyone@closed.test", "bounce"): EXPIRED_ENVELOPE},
        # Sendmail's "Deferred: Connection refused by [127.0.0.3]": no server answered, so no
        # block list is to blame; its queue notes ("Will keep trying until ...") are left out
        "sendmail": {("anyone@closed.test", "delay"): dict(action="delayed", reason="networkerror", hop="transport",
                                                           fix_owner="none", permanent=False,
                                                           diagnostic=f"Deferred: Connection refused by [{CLOSED}]"),
                     ("anyone@closed.test", "bounce"): dict(action="failed", status="4.4.7", reason="networkerror",
                                                            hop="transport", fix_owner="recipient-admin",
                                                            diagnostic=f"Deferred: Connection refused by [{CLOSED}]")}}),
    Case("local-user-unknown", ["ghost@local.test"], {
        "postfix": {("ghost@local.test", "bounce"): dict(status="5.1.1", reply_code=None, reason="userunknown",
                                                         hop="recipient-mailbox", hard_bounce=True)},
        # Exim has no router for the address: "Unrouteable address", read as an unknown domain
        "exim": {("ghost@local.test", "bounce"): dict(reason="hostunknown", hop="recipient-mailbox",
                                                      hard_bounce=True)},
        "sendmail": {("ghost@local.test", "bounce"): dict(status="5.1.1", reply_code="550", reason="userunknown",
                                                          hop="recipient-mailbox", hard_bounce=True)}}),
    # the server refuses at its greeting, before any command.  OpenSMTPD reports only a network
    # error, retries, and lets the envelope expire; dma is left out, as it would send its bounce
    # through the same (refusing) smarthost
    Case("greeting-refused", ["anyone@refusing.test"], {
        **{mta: {("anyone@refusing.test", "bounce"): dict(kind="bounce", reason="blocked", hop="recipient-policy",
                                                          smtp_command="CONN", remote_mta=REFUSING)}
           for mta in ("postfix", "exim", "sendmail")},
        "opensmtpd": {("anyone@refusing.test", "delay"): dict(action="delayed", reason="networkerror",
                                                              hop="transport", permanent=False),
                      ("anyone@refusing.test", "bounce"): EXPIRED_ENVELOPE}}),
    # every recipient fails at once, with the reply to MAIL FROM; OpenSMTPD's report does not
    # name the command.  A server that checks the sender against logins is the sender's relay
    Case("sender-refused-at-mail", ["first@dest.test", "second@dest.test"], {
        mta: {(rcpt, "bounce"): dict(kind="bounce", status="5.7.1", reply_code="553", reason="rejected",
                                     hop="submission", smtp_command=None if mta == "opensmtpd" else "MAIL")
              for rcpt in ("first@dest.test", "second@dest.test")}
        for mta in PERMANENT}, sender=REFUSED_SENDER),
    # DNS says the recipient's domain does not exist; that it takes no mail (a null MX, RFC 7505);
    # or that its mail server is a name that does not exist.  OpenSMTPD retries the last two
    # ("No MX found for domain") and lets the envelope expire
    Case("domain-does-not-exist", ["anyone@nx.test"], {
        mta: {("anyone@nx.test", "bounce"): HOST_UNKNOWN} for mta in ALL}),
    Case("null-mx", ["anyone@nullmx.test"], {
        **{mta: {("anyone@nullmx.test", "bounce"): dict(kind="bounce", reason="notaccept", hop="recipient-mailbox",
                                                        hard_bounce=True)} for mta in ("postfix", "exim", "sendmail")},
        "opensmtpd": _no_mx_found("anyone@nullmx.test")}),
    Case("mx-names-no-host", ["anyone@lame.test"], {
        **{mta: {("anyone@lame.test", "bounce"): HOST_UNKNOWN} for mta in ("postfix", "exim", "sendmail")},
        "opensmtpd": _no_mx_found("anyone@lame.test")}),
    # the recipient's name server fails (SERVFAIL): a DNS problem on the way, retried.  Exim's
    # warning and its final report name no cause, so they can only say the retries ran out
    Case("dns-server-failure", ["anyone@servfail.test"], {
        **{mta: {("anyone@servfail.test", "delay"): DNS_TEMPORARY} for mta in ("postfix", "opensmtpd")},
        "exim": {("anyone@servfail.test", "delay"): dict(action="delayed", diagnostic=None, reason="expired",
                                                         hop="transport", fix_owner="none", permanent=False),
                 ("anyone@servfail.test", "bounce"): dict(action="failed", diagnostic="retry timeout exceeded",
                                                          reason="expired", hop="transport", permanent=True)},
        # Sendmail gives up with 4.4.7, quoting the last answer
        "sendmail": {("anyone@servfail.test", "delay"): DNS_TEMPORARY,
                     ("anyone@servfail.test", "bounce"): dict(action="failed", status="4.4.7", reason="networkerror",
                                                              hop="transport", diagnostic=(
                                                                  "451 servfail.test: Name server timeout"))}},
        postfix_queue="delay-warning"),
    # the sending MTA must use TLS for plain.test, and its server offers no STARTTLS.  Exim
    # defers, and its reports name the host but no cause.  (OpenSMTPD would mark the host as
    # failing, and hold back the reports that go to the same host.)
    Case("tls-required-not-offered", ["anyone@plain.test"], {
        "postfix": {("anyone@plain.test", "bounce"): dict(kind="bounce", status="4.7.4", reason="securityerror",
                                                          hop="transport", fix_owner="sender-admin",
                                                          remote_mta=DEST)},
        "exim": {("anyone@plain.test", "delay"): dict(action="delayed", diagnostic=None, reason="expired",
                                                      hop="transport", remote_mta=DEST),
                 ("anyone@plain.test", "bounce"): dict(action="failed", reason="expired", hop="transport",
                                                       remote_mta=DEST)}}),
    Case("success-report", ["reader@dest.test"], {
        "postfix": {("reader@dest.test", "delivered"): dict(action="relayed", status="2.0.0", reason="delivered",
                                                            hop=None)},
        # Sendmail quotes the reply to RCPT, "250 2.1.5 OK", under its summary Status 2.0.0
        "sendmail": {("reader@dest.test", "delivered"): dict(action="relayed", status="2.1.5", reason="delivered",
                                                             hop=None)}}, notify="NOTIFY=SUCCESS"),
    Case("greylisted-delay-warning", ["grey@dest.test"], {
        mta: {("grey@dest.test", "delay"): dict(action="delayed", status="4.7.1", reply_code="451", permanent=False,
                                                hard_bounce=False)}
        for mta in ALL}, postfix_queue="delay-warning"),
]

POSTFIX_MAIN = """\
myhostname = mail.origin.test
mydomain = origin.test
myorigin = origin.test
mydestination = local.test
relay_domains = dest.test, small.test, closed.test, refusing.test, plain.test
transport_maps = inline:{{ dest.test=smtp:[{dest}]:{down}, plain.test=smtp-tls:[{dest}]:{down}, small.test=smtp:[{small}]:{small_port}, closed.test=smtp:[{closed}]:{closed_port}, refusing.test=smtp:[{refusing}]:{refusing_port}, origin.test=smtp:[{dest}]:{down} }}
smtp_connect_timeout = 5s
"""
POSTFIX_QUEUES = {
    # a temporary failure is final at once: Postfix tries each message only once
    "bounce-now": "maximal_queue_lifetime = 0\nbounce_queue_lifetime = 0\n",
    # a message still deferred after a second is worth a warning to its sender
    "delay-warning": ("maximal_queue_lifetime = 1d\ndelay_warning_time = 1s\nqueue_run_delay = 1s\n"
                      "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n"),
}
# smtp-tls: a client that sends only over TLS
POSTFIX_SERVICES = ("smtp      unix  - - n - - smtp\nlocal     unix  - n n - - local\n"
                    "smtp-tls  unix  - - n - - smtp -o smtp_tls_security_level=encrypt\n")
# Exim: a warning after a second on the queue; greylisting is retried for an hour, a refused
# connection for a few seconds, and anything else given up at once
EXIM_MAIN = "delay_warning = 1s\nignore_bounce_errors_after = 0s\n"
# and it sends plain.test's mail only over TLS
EXIM_TRANSPORT = "hosts_require_tls = ${if eq{$domain}{plain.test}{*}{}}\n"
# OpenSMTPD: a warning after a second, and an envelope expires after four
OPENSMTPD_MAIN = "queue ttl 4s\nbounce warn-interval 1s\n"
# Sendmail: the same, and a connection that nobody answers is given up after two seconds
SENDMAIL_MAIN = ("define(`confTO_QUEUEWARN', `1s')dnl\ndefine(`confTO_QUEUERETURN', `4s')dnl\n"
                 "define(`confTO_CONNECT', `2s')dnl\n")
EXIM_RETRY = "grey@dest.test * F,1h,1s\nclosed.test * F,3s,1s\n* * F,1s,1s\n"


def _reply(address: str) -> tuple[str, str]:
    """The table's answer for a recipient, keyed by its local part up to any "+tag"."""
    local, _, domain = address.partition("@")
    if domain == ORIGIN:
        return "", ""
    stage, reply = REPLIES.get(local.partition("+")[0], ("", ""))
    return stage, reply.format(rcpt=address)


class Downstream:
    """The recipients' servers and the sender's mailbox in one aiosmtpd handler."""

    def __init__(self) -> None:
        self.reports: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address == REFUSED_SENDER:
            return MAIL_REPLY.format(sender=address)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        stage, reply = _reply(address)
        if stage == "RCPT":
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        for stage, reply in map(_reply, envelope.rcpt_tos):
            if stage == "DATA":
                return reply
        if all(a.endswith("@" + ORIGIN) for a in envelope.rcpt_tos):  # a notification, to the sender
            with self.lock:
                self.reports.append(envelope.content)
        return "250 2.0.0 OK queued"


def _message(sender: str, recipients: list[str], big: bool) -> tuple[bytes, str]:
    msgid = make_msgid(domain=ORIGIN)
    body = "Hello.\r\n" + ("y" * 76 + "\r\n") * (80 if big else 1)
    # the subject names the recipient, as a real one may: the reports quote it
    text = (f"From: Sender <{sender}>\r\nTo: {', '.join(recipients)}\r\nSubject: For {recipients[0]}\r\n"
            f"Message-ID: {msgid}\r\n\r\n{body}")
    return text.encode(), msgid.strip("<>")


@dataclass
class Outcome:
    found: dict[tuple[str, str], tuple[dict, int]] = field(default_factory=dict)  # (rcpt, kind) -> (record, report)
    sent: dict[str, str] = field(default_factory=dict)  # recipient -> Message-ID sent


@pytest.fixture(scope="module")
def downstream():
    from aiosmtpd.controller import Controller

    ports = {"down": free_port(DEST), "small_port": free_port(SMALL), "closed_port": free_port(CLOSED)}
    handler = Downstream()
    controllers = [Controller(handler, hostname=DEST, port=ports["down"], server_hostname="mx.dest.test"),
                   Controller(handler, hostname=SMALL, port=ports["small_port"], server_hostname="mx.small.test",
                              data_size_limit=2000)]
    for c in controllers:
        c.start()
    refusing = BannerServer(GREETING_REFUSAL.encode() + b"\r\n", host=REFUSING)  # refuses at its greeting
    ports["refusing_port"] = refusing.port
    try:
        yield handler, ports
    finally:
        for c in controllers:
            c.stop()
        refusing.close()


@pytest.fixture(scope="module")
def resolver(tmp_path_factory):
    """A directory to lay over /etc: its resolv.conf names the DNS server serving ZONE."""
    missing = private_etc_missing()
    if missing:
        require_server(f"the MTAs cannot be given their own resolver: {missing}")
    try:
        dns = DnsServer(ZONE, host=RESOLVER, port=53)
    except OSError as e:
        require_server(f"no DNS server can listen on {RESOLVER} port 53 for the MTAs' resolvers: {e}")
    etc = tmp_path_factory.mktemp("etc")
    (etc / "resolv.conf").write_text(f"nameserver {RESOLVER}\noptions timeout:2 attempts:2\n")
    etc.chmod(0o755)
    try:
        yield etc
    finally:
        dns.close()


def _collect(handler: Downstream, expected: set[tuple[str, str]], logs, tick=None) -> dict:
    def all_reported():
        if tick is not None:
            tick()
        with handler.lock:
            reports = list(handler.reports)
        found: dict[tuple[str, str], tuple[dict, int]] = {}
        for i, raw in enumerate(reports):
            for rec in map(Result.to_dict, classify(raw)):
                found.setdefault((rec["recipient"], rec["kind"]), (rec, i))
        return found if expected <= set(found) else None

    try:
        return wait_for(all_reported, 60, "the notifications")
    except AssertionError:
        raise AssertionError(f"not every expected report came:\n{logs()}") from None


def _run(handler: Downstream, mta: str, send, logs, tick=None) -> Outcome:
    with handler.lock:
        handler.reports.clear()
    out = Outcome()
    for case in CASES:
        if mta in case.expect:
            message, msgid = _message(case.sender, case.recipients, case.big)
            send(case, message)
            out.sent.update(dict.fromkeys(case.recipients, msgid))
    expected = {key for case in CASES for key in case.expect.get(mta, {})}
    out.found = _collect(handler, expected, logs, tick)
    return out


def _require(missing: str | None) -> None:
    if missing:
        require_server(missing)


def _routes(ports: dict[str, int], sep: str) -> dict[str, str]:
    """Where each domain's mail goes, as "host{sep}port": the sender's own back to the sink."""
    return {"dest.test": f"{DEST}{sep}{ports['down']}", "small.test": f"{SMALL}{sep}{ports['small_port']}",
            "closed.test": f"{CLOSED}{sep}{ports['closed_port']}",
            "refusing.test": f"{REFUSING}{sep}{ports['refusing_port']}", ORIGIN: f"{DEST}{sep}{ports['down']}",
            "plain.test": f"{DEST}{sep}{ports['down']}"}


@pytest.fixture(scope="module")
def postfix_reports(downstream, resolver) -> Outcome:
    _require(postfix_missing())
    handler, ports = downstream
    main = POSTFIX_MAIN.format(dest=DEST, small=SMALL, closed=CLOSED, refusing=REFUSING, **ports)
    instances: dict[str, Postfix] = {}
    try:
        for name, extra in POSTFIX_QUEUES.items():
            instances[name] = Postfix(main + extra, POSTFIX_SERVICES, etc=resolver)

        def send(case: Case, message: bytes) -> None:
            instances[case.postfix_queue].send(case.sender, case.recipients, message,
                                               (case.notify,) if case.notify else ())

        return _run(handler, "postfix", send, lambda: "".join(p.maillog() for p in instances.values()))
    finally:
        for p in instances.values():
            p.close()


@pytest.fixture(scope="module")
def exim_reports(downstream, resolver) -> Outcome:
    _require(exim_missing())
    handler, ports = downstream
    exim = Exim("mail.origin.test", _routes(ports, "::"), "local.test", EXIM_MAIN, EXIM_RETRY, etc=resolver,
                transport=EXIM_TRANSPORT)
    try:
        return _run(handler, "exim", lambda case, message: exim.send(case.sender, case.recipients, message),
                    exim.mainlog, tick=exim.run_queue)  # each poll is a queue run: retries and warnings
    finally:
        exim.close()


def _check(outcome: Outcome, mta: str, case: Case, decoder: str, reporting_mta: str) -> None:
    for (rcpt, kind), fields in case.expect[mta].items():
        rec, _ = outcome.found[(rcpt, kind)]
        got = {k: rec.get(k) for k in fields}
        assert got == fields, (rcpt, rec)
        assert rec["decoded_by"] == decoder
        assert rec["reporting_mta"] == reporting_mta
        assert rec["original"]["message_id"] == outcome.sent[rcpt]  # links the report to the message sent
    bounced = [key for key in case.expect[mta] if key[1] == "bounce"]
    if len(bounced) > 1:  # one message's recipients, refused together, are reported together
        reports = {outcome.found[key][1] for key in bounced}
        assert len(reports) == (len(bounced) if mta in REPORT_PER_RECIPIENT else 1)


@pytest.fixture(scope="module")
def opensmtpd_reports(downstream, resolver) -> Outcome:
    _require(opensmtpd_missing())
    handler, ports = downstream
    smtpd = OpenSMTPD("mail.origin.test", _routes(ports, ":"), OPENSMTPD_MAIN, etc=resolver)
    try:
        return _run(handler, "opensmtpd", lambda case, message: smtpd.send(case.sender, case.recipients, message),
                    smtpd.logs)
    finally:
        smtpd.close()


@pytest.fixture(scope="module")
def sendmail_reports(downstream, resolver) -> Outcome:
    _require(sendmail_missing())
    handler, ports = downstream
    sendmail = Sendmail("mail.origin.test", _routes(ports, ":"), "local.test", SENDMAIL_MAIN, etc=resolver)
    try:
        def send(case: Case, message: bytes) -> None:
            notify = case.notify.partition("=")[2].lower() if case.notify else None  # NOTIFY=SUCCESS: -N success
            sendmail.send(case.sender, case.recipients, message, notify)

        return _run(handler, "sendmail", send, lambda: "", tick=sendmail.run_queue)  # retries and warnings
    finally:
        sendmail.close()


@pytest.fixture(scope="module")
def dma_reports(downstream) -> Outcome:
    _require(dma_missing())
    handler, ports = downstream
    routes = _routes(ports, ":")
    dma = Dma("mail.origin.test")
    try:
        def send(case: Case, message: bytes) -> None:  # one smarthost per run: the recipients' own
            dma.send(case.sender, case.recipients, message, routes[case.recipients[0].rpartition("@")[2]])

        return _run(handler, "dma", send, dma.queue)
    finally:
        dma.close()


# each MTA, and the decoder that must read its reports
MTAS = {"postfix": "postfix", "exim": "exim", "opensmtpd": "rfc3464", "sendmail": "sendmail", "dma": "dragonfly"}


@pytest.mark.parametrize(("mta", "case"), [(mta, c) for mta in MTAS for c in CASES if mta in c.expect],
                         ids=lambda v: v if isinstance(v, str) else v.id)
def test_the_mta_writes_and_bounce_classify_reads(request, mta: str, case: Case) -> None:
    outcome = request.getfixturevalue(f"{mta}_reports")  # started once per module, for its first case
    _check(outcome, mta, case, MTAS[mta], "mail.origin.test")
