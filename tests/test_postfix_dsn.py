"""A real Postfix writes the bounces, and bounce-classify reads them.

A private Postfix instance relays test messages to an aiosmtpd server on loopback that
answers each recipient as its table says (user unknown, mailbox full, blocked, spam at
DATA, a SIZE limit), to a closed port, and to a local user who does not exist.  Postfix
then writes its own delivery status notifications: bounces, a delay warning and a
success report.  They come back to the same aiosmtpd server as the sender's mail, and
each is classified with `classify()`, so these cases check the Postfix decoder and the
rules against the DSNs the installed Postfix really writes, not against copies.

It needs root and Debian's postfix package, which .ci/run installs.
"""

from __future__ import annotations

import socket
import threading
from email.utils import make_msgid

import pytest

from bounce_classify import classify
from bounce_classify.model import Result
from conftest import require_server
from servers import Postfix, postfix_missing, wait_for

ORIGIN = "origin.test"  # the sender's domain: its mail, bounces included, goes to the sink

# The downstream server's answer, by the recipient's local part: (SMTP stage, reply).
# Other recipients are accepted.
REPLIES = {
    "nouser": ("RCPT", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"),
    "gone": ("RCPT", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in relay recipient table"),
    "full": ("RCPT", "452 4.2.2 <{rcpt}>: Mailbox full"),
    "listed": ("RCPT", "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"),
    "spam": ("DATA", "550 5.7.1 Message rejected as spam by Content Filtering"),
    "grey": ("RCPT", "451 4.7.1 <{rcpt}>: Recipient address rejected: Greylisted, please try again later"),
}

# Each case: the recipients of one message, the NOTIFY option, which Postfix sends it, and what
# each recipient's record must say.  Fields left out are not checked.
CASES = [
    ("rcpt-user-unknown", ["nouser@dest.test"], None, "bounce-now",
     {"nouser@dest.test": dict(kind="bounce", action="failed", status="5.1.1", reply_code="550",
                                reason="userunknown", hop="recipient-mailbox", smtp_command="RCPT",
                                remote_mta="127.0.0.1")}),
    ("two-recipients-one-report", ["nouser+2@dest.test", "gone@dest.test"], None, "bounce-now",
     {"nouser+2@dest.test": dict(kind="bounce", status="5.1.1", reason="userunknown"),
      "gone@dest.test": dict(kind="bounce", status="5.1.1", reason="userunknown")}),
    ("mailbox-full-tried-once", ["full@dest.test"], None, "bounce-now",
     {"full@dest.test": dict(kind="bounce", action="failed", status="4.2.2", reply_code="452",
                             reason="mailboxfull", hop="recipient-mailbox")}),
    ("client-on-block-list", ["listed@dest.test"], None, "bounce-now",
     {"listed@dest.test": dict(kind="bounce", status="5.7.1", reply_code="554", reason="blocked",
                               hop="recipient-policy")}),
    ("spam-at-end-of-data", ["spam@dest.test"], None, "bounce-now",
     {"spam@dest.test": dict(kind="bounce", status="5.7.1", reply_code="550", reason="spamdetected",
                             hop="recipient-policy", smtp_command="DATA")}),
    ("server-size-limit", ["big@small.test"], None, "bounce-now",
     {"big@small.test": dict(kind="bounce", status="5.3.4", reason="mesgtoobig", hop="message")}),
    ("connection-refused", ["anyone@closed.test"], None, "bounce-now",
     {"anyone@closed.test": dict(kind="bounce", action="failed", status="4.4.1", reason="networkerror",
                                 hop="transport")}),
    ("local-user-unknown", ["ghost@local.test"], None, "bounce-now",
     {"ghost@local.test": dict(kind="bounce", status="5.1.1", reply_code=None, reason="userunknown",
                               hop="recipient-mailbox")}),
    ("success-report", ["reader@dest.test"], "NOTIFY=SUCCESS", "bounce-now",
     {"reader@dest.test": dict(kind="delivered", action="relayed", status="2.0.0", reason="delivered")}),
    ("greylisted-delay-warning", ["grey@dest.test"], None, "delay-warning",
     {"grey@dest.test": dict(kind="delay", action="delayed", status="4.7.1", reply_code="451",
                             permanent=False, hard_bounce=False)}),
]

COMMON = """\
myhostname = mail.origin.test
mydomain = origin.test
myorigin = origin.test
mydestination = local.test
relay_domains = dest.test, small.test, closed.test
transport_maps = inline:{{ dest.test=smtp:[127.0.0.1]:{down}, small.test=smtp:[127.0.0.1]:{small}, closed.test=smtp:[127.0.0.1]:{closed}, origin.test=smtp:[127.0.0.1]:{down} }}
smtp_connect_timeout = 5s
"""
CONFIGS = {
    # a temporary failure is final at once: Postfix tries each message only once
    "bounce-now": "maximal_queue_lifetime = 0\nbounce_queue_lifetime = 0\n",
    # a message still deferred after a second is worth a warning to its sender
    "delay-warning": ("maximal_queue_lifetime = 1d\ndelay_warning_time = 1s\nqueue_run_delay = 1s\n"
                      "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n"),
}
SERVICES = "smtp      unix  - - n - - smtp\nlocal     unix  - n n - - local\n"


def _reply(address: str) -> tuple[str, str]:
    """The table's answer for a recipient, keyed by its local part up to any "+tag"."""
    local, _, domain = address.partition("@")
    if domain == ORIGIN:
        return "", ""
    stage, reply = REPLIES.get(local.partition("+")[0], ("", ""))
    return stage, reply.format(rcpt=address)


class Downstream:
    """The recipients' server and the sender's mailbox in one aiosmtpd handler."""

    def __init__(self) -> None:
        self.reports: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        stage, reply = _reply(address)
        if stage == "RCPT":
            return reply.format(rcpt=address)
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _message(recipients: list[str], big: bool) -> tuple[bytes, str]:
    msgid = make_msgid(domain=ORIGIN)
    body = "Hello.\r\n" + ("y" * 76 + "\r\n") * (80 if big else 1)
    text = (f"From: Sender <sender@{ORIGIN}>\r\nTo: {', '.join(recipients)}\r\nSubject: test\r\n"
            f"Message-ID: {msgid}\r\n\r\n{body}")
    return text.encode(), msgid.strip("<>")


@pytest.fixture(scope="module")
def reports():
    """Send every case through Postfix and classify what it writes back: recipient -> (records, msgid)."""
    missing = postfix_missing()
    if missing:
        require_server(missing)
    from aiosmtpd.controller import Controller

    handler = Downstream()
    down, small = _free_port(), _free_port()
    servers = [Controller(handler, hostname="127.0.0.1", port=down, server_hostname="mx.dest.test"),
               Controller(handler, hostname="127.0.0.1", port=small, server_hostname="mx.small.test",
                          data_size_limit=2000)]
    for controller in servers:
        controller.start()
    common = COMMON.format(down=down, small=small, closed=_free_port())
    instances: dict[str, Postfix] = {}
    try:
        for name, extra in CONFIGS.items():
            instances[name] = Postfix(common + extra, SERVICES)
        sent: dict[str, str] = {}
        for _, recipients, notify, config, _ in CASES:
            message, msgid = _message(recipients, big=any("@small." in r for r in recipients))
            instances[config].send(f"sender@{ORIGIN}", recipients, message, (notify,) if notify else ())
            sent.update(dict.fromkeys(recipients, msgid))
        expected = {r for *_, want in CASES for r in want}

        def all_reported():
            with handler.lock:
                found = {}
                for i, raw in enumerate(handler.reports):
                    for rec in map(Result.to_dict, classify(raw)):
                        found.setdefault(rec["recipient"], (rec, i))
            return found if expected <= set(found) else None

        try:
            found = wait_for(all_reported, 60, "Postfix's notifications")
        except AssertionError:
            with handler.lock:
                got = {rec.recipient for raw in handler.reports for rec in classify(raw)}
            raise AssertionError(f"no report for {sorted(expected - got)}\n"
                                 + "".join(p.maillog() for p in instances.values())) from None
        yield found, sent
    finally:
        for p in instances.values():
            p.close()
        for controller in servers:
            controller.stop()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_postfix_writes_and_bounce_classify_reads(reports, case) -> None:
    found, sent = reports
    _, recipients, _, _, want = case
    for rcpt, fields in want.items():
        rec, _ = found[rcpt]
        got = {k: rec.get(k) for k in fields}
        assert got == fields, (rcpt, rec)
        assert rec["decoded_by"] == "postfix"
        assert rec["reporting_mta"] == "mail.origin.test"
        assert rec["original"]["message_id"] == sent[rcpt]  # links the report to the message sent
    if len(want) > 1:  # one message's recipients, refused together, are reported together
        assert len({found[r][1] for r in want}) == 1
