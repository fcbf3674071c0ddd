"""A real Postfix on loopback delivers bounces to `bounce-classify hook` through a pipe transport.

The test writes its own Postfix instance (main.cf, master.cf, queue) in a temporary
directory, starts it, sends bounces over SMTP and reads the outcome from the ledger,
the quarantine and Postfix's own queue and log.  It needs root (Postfix's master runs
as root) and Debian's postfix package, which .ci/run installs.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from bounce_classify.ledger import open_ledger
from conftest import _free_port, require_server

FIXTURES = Path(__file__).parent / "fixtures"
PIPE_USER = "nobody"

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
bcl       unix  - n n - - pipe
  flags=Rq user={user} argv={python} -m bounce_classify hook --ledger {ledger} --quarantine {quarantine} --log {hooklog} --deadline 20
bclro     unix  - n n - - pipe
  flags=Rq user={user} argv={python} -m bounce_classify hook --ledger {ro_ledger} --quarantine {quarantine} --log {hooklog} --deadline 20
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {base}/queue
data_directory = {base}/data
mail_owner = postfix
myhostname = mx.bounces.test
mydomain = bounces.test
mydestination =
inet_protocols = ipv4
relay_domains = bounces.test, readonly.test
transport_maps = inline:{{ bounces.test=bcl: readonly.test=bclro: }}
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
bcl_destination_recipient_limit = 1
bclro_destination_recipient_limit = 1
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
smtp_dns_support_level = disabled
"""


def _check_environment() -> None:
    if shutil.which("postfix") is None and not Path("/usr/sbin/postfix").exists():
        require_server("Postfix is not installed (Debian package postfix); .ci/run installs it")
    if os.geteuid() != 0:
        require_server("the Postfix integration test needs root: Postfix's master process runs as root")
    probe = subprocess.run(["runuser", "-u", PIPE_USER, "--", sys.executable, "-c", "import bounce_classify"],
                           capture_output=True)
    if probe.returncode != 0:
        require_server(f"the pipe user {PIPE_USER!r} cannot run {sys.executable} with bounce_classify "
                       "(a parent directory lacks o+x); .ci/run grants it")


def _postfix(conf: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["postfix", "-c", str(conf), *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def mta():
    _check_environment()
    base = Path(tempfile.mkdtemp(prefix="bc-postfix-"))
    base.chmod(0o755)
    nobody = pwd.getpwnam(PIPE_USER)
    conf, state = base / "conf", base / "state"
    conf.mkdir()
    state.mkdir()
    os.chown(state, nobody.pw_uid, nobody.pw_gid)
    readonly = base / "readonly"  # owned by root, mode 755: the pipe user cannot create a ledger here
    readonly.mkdir(mode=0o755)
    port = _free_port()
    where = {"base": base, "port": port, "ledger": state / "ledger.sqlite3", "quarantine": state / "quarantine",
             "ro_ledger": readonly / "ledger.sqlite3", "hooklog": state / "hook.log"}
    (conf / "main.cf").write_text(MAIN_CF.format(base=base))
    (conf / "master.cf").write_text(MASTER_CF.format(port=port, user=PIPE_USER, python=sys.executable,
                                                     ledger=where["ledger"], ro_ledger=where["ro_ledger"],
                                                     quarantine=where["quarantine"], hooklog=where["hooklog"]))
    (base / "queue").mkdir()
    (base / "data").mkdir()
    postfix_user = pwd.getpwnam("postfix")
    os.chown(base / "data", postfix_user.pw_uid, postfix_user.pw_gid)
    p = _postfix(conf, "post-install", "create-missing")  # the queue's sub-directories and their owners
    assert p.returncode == 0, p.stdout + p.stderr
    p = _postfix(conf, "start")
    assert p.returncode == 0, p.stdout + p.stderr + _maillog({"base": base})
    deadline = time.monotonic() + 20
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as s:
                s.noop()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        yield {**where, "conf": conf}
    finally:
        _postfix(conf, "stop")
        time.sleep(0.5)
        _postfix(conf, "abort")
        shutil.rmtree(base, ignore_errors=True)


def _send(mta, rcpt: str, message: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", mta["port"], timeout=30) as s:
        s.sendmail("", [rcpt], message)  # bounces travel with the null sender


def _queue(mta) -> list[dict]:
    p = subprocess.run(["postqueue", "-c", str(mta["conf"]), "-j"], capture_output=True, text=True, timeout=30)
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def _wait(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out waiting for Postfix")


def _ledger_records(mta) -> int:
    if not mta["ledger"].exists():
        return 0
    with open_ledger(str(mta["ledger"])) as led:
        return int(led.stats()["records"])


def _maillog(mta) -> str:
    path = mta["base"] / "maillog"
    return path.read_text(errors="replace") if path.exists() else ""


def test_a_bounce_is_delivered_to_the_hook_and_recorded(mta) -> None:
    before = _ledger_records(mta)
    _send(mta, "bounces@bounces.test", (FIXTURES / "sendmail/user-unknown.eml").read_bytes())
    _wait(lambda: _ledger_records(mta) > before)
    with open_ledger(str(mta["ledger"])) as led:
        assert [s.address for s in led.suppressions()] == ["applicant@jobs.example"]
    _wait(lambda: "relay=bcl" in _maillog(mta) and "status=sent" in _maillog(mta))
    assert _queue(mta) == []


def test_a_malformed_message_is_quarantined_and_accepted(mta) -> None:
    garbage = b"Subject: =?utf-8?b?broken\r\n\r\n" + bytes(range(256)) * 4 + b"\r\n"
    _send(mta, "bounces@bounces.test", garbage)
    found = _wait(lambda: list((mta["quarantine"] / "new").glob("*")) if (mta["quarantine"] / "new").exists()
                  else [])
    kept = found[0].read_bytes()
    assert b"=?utf-8?b?broken" in kept and bytes(range(32, 127)) in kept  # the whole message, as delivered
    _wait(lambda: _queue(mta) == [])


def test_an_unwritable_ledger_makes_postfix_defer_not_bounce(mta) -> None:
    _send(mta, "bounces@readonly.test", (FIXTURES / "postfix/mailbox-full-text.eml").read_bytes())

    def deferred() -> list[dict]:
        return [m for m in _queue(mta) if m.get("queue_name") == "deferred"]

    held = _wait(deferred)
    reasons = [r.get("delay_reason", "") for m in held for r in m.get("recipients", [])]
    assert any("cannot open ledger" in r for r in reasons), reasons
    log = _maillog(mta)
    # Postfix reads the hook's leading RFC 3463 code as the delivery status
    assert "relay=bclro" in log and "dsn=4.3.0, status=deferred" in log
    assert "status=bounced" not in log
    assert not mta["ro_ledger"].exists()
