"""Hook mode as an MTA runs it: a process, one message on stdin, exit codes 0 or 75."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bounce_classify.ledger import open_ledger

FIXTURES = Path(__file__).parent / "fixtures"
BOUNCE = (FIXTURES / "postfix/mailbox-full-text.eml").read_bytes()
HARD = (FIXTURES / "sendmail/user-unknown.eml").read_bytes()


def hook(args: list[str], stdin: bytes, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bounce_classify", "hook", "--log", "none", *args], input=stdin,
                          capture_output=True, timeout=120, env={**os.environ, **(env or {})})


def quarantined(qdir: Path) -> list[Path]:
    return sorted((qdir / "new").glob("*")) if (qdir / "new").exists() else []


@pytest.fixture
def where(tmp_path: Path) -> dict[str, Path]:
    return {"ledger": tmp_path / "ledger.sqlite3", "q": tmp_path / "quarantine", "jsonl": tmp_path / "out.jsonl"}


def base_args(w: dict[str, Path]) -> list[str]:
    return ["--ledger", str(w["ledger"]), "--quarantine", str(w["q"])]


# (name, message, records expected in the ledger, messages expected in quarantine)
CASES = [
    ("a bounce is recorded", BOUNCE, 1, 0),
    ("garbage is quarantined and ignored", b"\x00\x01 not a message at all \xff" * 20, 1, 1),
    ("an ordinary mail is quarantined", (FIXTURES / "not-bounce/normal-mail.eml").read_bytes(), 1, 1),
    ("an empty message is ignored", b"", 0, 0),
]


@pytest.mark.parametrize("name,message,n_records,n_quarantined", CASES, ids=[c[0] for c in CASES])
def test_hook_outcomes(where, name, message, n_records, n_quarantined) -> None:
    p = hook(base_args(where), message)
    assert (p.returncode, p.stdout, p.stderr) == (0, b"", b"")
    if n_records:
        with open_ledger(str(where["ledger"])) as led:
            assert led.stats()["records"] == n_records
    q = quarantined(where["q"])
    assert len(q) == n_quarantined
    if q:
        assert q[0].read_bytes() == message  # kept whole


def test_redelivery_is_idempotent(where) -> None:
    for _ in range(3):
        assert hook(base_args(where), HARD).returncode == 0
    with open_ledger(str(where["ledger"])) as led:
        assert led.stats()["records"] == 1
        assert [s.address for s in led.suppressions()] == ["applicant@jobs.example"]


def test_oversized_message_is_quarantined_unread(where) -> None:
    big = BOUNCE + b"x" * 5000
    p = hook([*base_args(where), "--max-size", "2K"], big)
    assert (p.returncode, p.stdout) == (0, b"")
    assert [f.read_bytes() for f in quarantined(where["q"])] == [big]
    assert not where["ledger"].exists()


def test_unwritable_ledger_defers_with_one_line(where, tmp_path: Path) -> None:
    locked = tmp_path / "ro"
    locked.mkdir()
    if os.geteuid() == 0:
        db = "/proc/bounce-classify-cannot-exist/ledger.sqlite3"  # root ignores file modes
    else:
        locked.chmod(0o500)
        db = str(locked / "ledger.sqlite3")
    p = hook(["--ledger", db, "--quarantine", str(where["q"])], BOUNCE)
    assert p.returncode == 75
    lines = p.stdout.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("4.3.0 ") and "ledger" in lines[0]
    assert b"Traceback" not in p.stderr


def test_locked_jsonl_sink_defers_at_the_deadline(where) -> None:
    fd = os.open(where["jsonl"], os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        p = hook([*base_args(where), "--sink", f"jsonl:{where['jsonl']}", "--deadline", "2"], BOUNCE)
    finally:
        os.close(fd)
    assert p.returncode == 75
    assert p.stdout.decode().startswith("4.3.0 ") and "locked" in p.stdout.decode()


def test_jsonl_sink_appends_each_record_once(where) -> None:
    args = [*base_args(where), "--sink", f"jsonl:{where['jsonl']}", "--sink", "ledger"]
    for msg in (BOUNCE, HARD, BOUNCE):
        assert hook(args, msg).returncode == 0
    recs = [json.loads(x) for x in where["jsonl"].read_text().splitlines()]
    assert [r["reason"] for r in recs] == ["mailboxfull", "userunknown"]


@pytest.mark.parametrize("args", [["--bogus"], ["--max-size", "lots"], ["--deadline", "0"],
                                  ["--sink", "carrier-pigeon"]])
def test_configuration_mistakes_defer_not_bounce(where, args) -> None:
    p = hook([*base_args(where), *args], BOUNCE)
    assert p.returncode == 75
    out = p.stdout.decode()
    assert out.startswith("4.3.") and out.count("\n") == 1
    assert b"Traceback" not in p.stderr


def test_hook_flag_is_the_same_as_the_command(where) -> None:
    p = subprocess.run([sys.executable, "-m", "bounce_classify", "--hook", "--log", "none", *base_args(where)],
                       input=BOUNCE, capture_output=True, timeout=60)
    assert (p.returncode, p.stdout) == (0, b"")
    with open_ledger(str(where["ledger"])) as led:
        assert led.stats()["by_reason"] == {"mailboxfull": 1}


def test_log_file_gets_a_line_per_record(where, tmp_path: Path) -> None:
    logf = tmp_path / "hook.log"
    subprocess.run([sys.executable, "-m", "bounce_classify", "hook", *base_args(where), "--log", str(logf)],
                   input=HARD, capture_output=True, timeout=60, check=True)
    text = logf.read_text()
    assert "recipient=applicant@jobs.example" in text and "reason=userunknown" in text


def _variant(n: int) -> bytes:
    """The same bounce for a different recipient and message: a distinct record each."""
    return (HARD.replace(b"applicant@jobs.example", f"user{n}@jobs.example".encode())
                .replace(b"Message-ID: <", f"Message-ID: <{n}.".encode(), 1))


def test_concurrent_hooks_record_everything_exactly_once(where) -> None:
    """8 hook processes at once on 400 bounces (some delivered twice): 400 records, no loss, no duplicate."""
    messages = [_variant(n) for n in range(400)]
    jobs = messages + messages[::10]

    def deliver(msg: bytes) -> int:
        for _attempt in range(5):  # the MTA retries on 75
            p = hook([*base_args(where), "--sink", "ledger", "--sink", f"jsonl:{where['jsonl']}"], msg)
            if p.returncode == 0:
                return 0
            assert p.returncode == 75, p.stdout
        return 75

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(deliver, jobs))
    assert codes == [0] * len(jobs)
    with open_ledger(str(where["ledger"])) as led:
        assert led.stats()["records"] == 400
        assert len(list(led.suppressions())) == 400
    tokens = [json.loads(x)["token"] for x in where["jsonl"].read_text().splitlines()]
    assert len(tokens) == len(set(tokens)) == 400


def test_syslog_lines_reach_the_daemon_socket_under_the_mail_facility(monkeypatch) -> None:
    """A real datagram socket stands in for /dev/log: the record arrives as <22> (mail.info)."""
    import socket
    import tempfile

    from bounce_classify import hook as hook_mod

    with tempfile.TemporaryDirectory(dir="/tmp") as d:  # AF_UNIX paths are short
        path = os.path.join(d, "log")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        server.bind(path)
        server.settimeout(10)
        monkeypatch.setattr(hook_mod, "SYSLOG_ADDRESS", path)
        try:
            hook_mod.setup_logging("syslog")
            hook_mod.log.info("recipient=%s reason=%s", "a@example.org", "userunknown")
            line = server.recv(4096).decode()
        finally:
            for h in list(hook_mod.log.handlers):
                h.close()
                hook_mod.log.removeHandler(h)
            server.close()
    assert line.startswith("<22>bounce-classify[")
    assert "recipient=a@example.org reason=userunknown" in line


def test_syslog_without_a_daemon_is_silent(monkeypatch, capsys, tmp_path: Path) -> None:
    """No syslog daemon (a container): the hook logs nothing, and prints no logging traceback."""
    from bounce_classify import hook as hook_mod

    monkeypatch.setattr(hook_mod, "SYSLOG_ADDRESS", str(tmp_path / "no-such-socket"))
    try:
        hook_mod.setup_logging("syslog")
        hook_mod.log.info("recipient=%s", "a@example.org")
        hook_mod.log.error("deadline reached")
    finally:
        for h in list(hook_mod.log.handlers):
            h.close()
            hook_mod.log.removeHandler(h)
    assert capsys.readouterr().err == ""
