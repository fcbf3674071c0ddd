"""A real Postfix on loopback delivers bounces to `bounce-classify hook` through a pipe transport.

The test writes its own Postfix instance (main.cf, master.cf, queue) in a temporary
directory, starts it, sends bounces over SMTP and reads the outcome from the ledger,
the quarantine and Postfix's own queue and log.  It needs root (Postfix's master runs
as root) and Debian's postfix package, which .ci/run installs.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bounce_classify.ledger import open_ledger
from conftest import require_server
from servers import Postfix, postfix_missing, wait_for

FIXTURES = Path(__file__).parent / "fixtures"
PIPE_USER = "nobody"

SERVICES = """\
bcl       unix  - n n - - pipe
  flags=Rq user={user} argv={python} -m bounce_classify hook --ledger {ledger} --quarantine {quarantine} --log {hooklog} --deadline 20
bclro     unix  - n n - - pipe
  flags=Rq user={user} argv={python} -m bounce_classify hook --ledger {ro_ledger} --quarantine {quarantine} --log {hooklog} --deadline 20
"""

MAIN_CF = """\
myhostname = mx.bounces.test
mydomain = bounces.test
mydestination =
relay_domains = bounces.test, readonly.test
transport_maps = inline:{ bounces.test=bcl: readonly.test=bclro: }
bcl_destination_recipient_limit = 1
bclro_destination_recipient_limit = 1
"""


def _check_environment() -> None:
    missing = postfix_missing()
    if missing:
        require_server(missing)
    probe = subprocess.run(["runuser", "-u", PIPE_USER, "--", sys.executable, "-c", "import bounce_classify"],
                           capture_output=True)
    if probe.returncode != 0:
        require_server(f"the pipe user {PIPE_USER!r} cannot run {sys.executable} with bounce_classify "
                       "(a parent directory lacks o+x); .ci/run grants it")


@pytest.fixture(scope="module")
def mta():
    _check_environment()
    nobody = pwd.getpwnam(PIPE_USER)
    state = Path(tempfile.mkdtemp(prefix="bc-hook-state-"))
    state.chmod(0o755)
    readonly = state / "readonly"  # owned by root, mode 755: the pipe user cannot create a ledger here
    readonly.mkdir(mode=0o755)
    writable = state / "writable"
    writable.mkdir()
    os.chown(writable, nobody.pw_uid, nobody.pw_gid)
    where = {"ledger": writable / "ledger.sqlite3", "quarantine": writable / "quarantine",
             "ro_ledger": readonly / "ledger.sqlite3", "hooklog": writable / "hook.log"}
    server = Postfix(MAIN_CF, SERVICES.format(user=PIPE_USER, python=sys.executable, **where))
    try:
        yield {**where, "postfix": server}
    finally:
        server.close()
        shutil.rmtree(state, ignore_errors=True)


def _send(mta, rcpt: str, message: bytes) -> None:
    mta["postfix"].send("", [rcpt], message)  # bounces travel with the null sender


def _queue(mta) -> list[dict]:
    return mta["postfix"].queue()


def _wait(predicate, timeout: float = 60.0):
    return wait_for(predicate, timeout)


def _ledger_records(mta) -> int:
    if not mta["ledger"].exists():
        return 0
    with open_ledger(str(mta["ledger"])) as led:
        return int(led.stats()["records"])


def _maillog(mta) -> str:
    return mta["postfix"].maillog()


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
