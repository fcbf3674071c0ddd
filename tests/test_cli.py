"""The command line, run as a user runs it: a real process, real files, stdin."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import mailbox
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CMD = [sys.executable, "-m", "bounce_classify"]


def run(args: list[str], stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(CMD + args, input=stdin, capture_output=True, cwd=cwd, timeout=60)


def records(out: bytes) -> list[dict]:
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def test_stdin_gives_json_lines_when_piped() -> None:
    p = run([], stdin=(FIXTURES / "sendmail/user-unknown.eml").read_bytes())
    assert p.returncode == 0, p.stderr
    recs = records(p.stdout)
    assert [r["recipient"] for r in recs] == ["applicant@jobs.example"]
    assert recs[0]["source"] == "-"


def test_dash_reads_stdin_too() -> None:
    p = run(["-", "--format", "json"], stdin=(FIXTURES / "qmail/blocked.eml").read_bytes())
    assert p.returncode == 0
    assert json.loads(p.stdout)[0]["reason"] == "blocked"


def test_a_folder_with_no_messages_says_so_and_is_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "Maildir" / "cur").mkdir(parents=True)
    (tmp_path / "Maildir" / "new").mkdir()
    (tmp_path / "Maildir" / "tmp").mkdir()
    p = run([str(tmp_path / "Maildir"), "--format", "jsonl"])
    assert p.returncode == 0 and p.stdout == b""
    assert p.stderr.decode() == f"bounce-classify: no messages found in {tmp_path / 'Maildir'}\n"


def test_mbox_is_recognised_by_content(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "archive.txt")
    for rel in ("postfix/mailbox-full-text.eml", "exim/unrouteable.eml", "not-bounce/normal-mail.eml"):
        box.add((FIXTURES / rel).read_bytes())
    box.flush()
    p = run([str(tmp_path / "archive.txt")])
    recs = records(p.stdout)
    assert [(r["message"], r["kind"]) for r in recs] == [(1, "bounce"), (2, "bounce"), (3, "not-bounce")]


COMPRESSORS = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
@pytest.mark.parametrize("shape", ["message", "mbox", "json"])
def test_compressed_input_gives_the_records_of_the_plain_input(tmp_path: Path, kind: str, shape: str) -> None:
    if shape == "message":
        plain = (FIXTURES / "postfix/mailbox-full-text.eml").read_bytes()
    elif shape == "json":
        plain = (FIXTURES / "ses-notification/bounce-in-sns-envelope.json").read_bytes()
    else:
        box = mailbox.mbox(tmp_path / "archive")
        for rel in ("postfix/mailbox-full-text.eml", "exim/unrouteable.eml", "not-bounce/normal-mail.eml"):
            box.add((FIXTURES / rel).read_bytes())
        box.flush()
        plain = (tmp_path / "archive").read_bytes()
    (tmp_path / "plain").write_bytes(plain)
    (tmp_path / "packed").write_bytes(COMPRESSORS[kind](plain))
    want = records(run([str(tmp_path / "plain")]).stdout)
    packed = run([str(tmp_path / "packed")])
    piped = run(["-"], stdin=COMPRESSORS[kind](plain))
    assert packed.returncode == 0 and piped.returncode == 0
    assert want and all(r["kind"] in ("bounce", "not-bounce") for r in want)
    strip = [{k: v for k, v in r.items() if k != "source"} for r in want]
    for got in (records(packed.stdout), records(piped.stdout)):
        assert [{k: v for k, v in r.items() if k != "source"} for r in got] == strip


@pytest.mark.parametrize(("data", "message"), [
    (gzip.compress(b"From: a@example.org\n\nhello\n" * 50)[:40], "damaged gzip data"),
    (gzip.compress(gzip.compress(b"From: a@example.org\n\nhello\n")), "gzip data inside compressed data: decompress it first"),
    (b"\x28\xb5\x2f\xfd" + b"\0" * 40, "zstd-compressed: decompress it first (zstd -d)"),
    (b"PK\x03\x04" + b"\0" * 40, "a ZIP archive: unpack it first"),
], ids=["truncated-gzip", "gzip-in-gzip", "zstd", "zip"])
def test_compressed_input_that_cannot_be_read_is_one_clear_line(tmp_path: Path, data: bytes, message: str) -> None:
    (tmp_path / "odd").write_bytes(data)
    p = run([str(tmp_path / "odd"), str(FIXTURES / "exim/unrouteable.eml")])
    assert p.returncode == 1
    err = p.stderr.decode()
    assert err.startswith(f"bounce-classify: {tmp_path / 'odd'}: {message}") and err.count("\n") == 1
    assert [r["recipient"] for r in records(p.stdout)] == ["someone@no-such-domain.example"]


def test_maildir_and_directories(tmp_path: Path) -> None:
    md = mailbox.Maildir(tmp_path / "Maildir")
    md.add((FIXTURES / "yahoo/no-account.eml").read_bytes())
    nested = tmp_path / "notices" / "2026"
    nested.mkdir(parents=True)
    (nested / "a.eml").write_bytes((FIXTURES / "gmail/address-not-found.eml").read_bytes())
    p = run([str(tmp_path / "Maildir"), str(tmp_path / "notices")])
    assert p.returncode == 0
    assert [r["recipient"] for r in records(p.stdout)] == ["not.here@yahoo.com", "gone.person@gmail.com"]


def test_unreadable_path_is_one_line_on_stderr_and_the_rest_goes_on(tmp_path: Path) -> None:
    p = run([str(tmp_path / "nope.eml"), str(FIXTURES / "exim/unrouteable.eml")])
    assert p.returncode == 1
    assert p.stderr.decode().strip().count("\n") == 0
    assert "nope.eml: no such file or directory" in p.stderr.decode()
    assert records(p.stdout)[0]["recipient"] == "someone@no-such-domain.example"
    assert b"Traceback" not in p.stderr


def test_permission_denied_is_reported(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root reads everything; a directory loop stands in for an unreadable entry
        return
    f = tmp_path / "secret.eml"
    f.write_bytes(b"x")
    f.chmod(0)
    p = run([str(f)])
    assert p.returncode == 1 and "ermission" in p.stderr.decode()


def test_empty_and_one_byte_files_give_not_bounce_records(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "one").write_bytes(b"x")
    p = run([str(tmp_path / "empty"), str(tmp_path / "one")])
    assert p.returncode == 0
    assert [r["kind"] for r in records(p.stdout)] == ["not-bounce", "not-bounce"]


def test_csv_and_table_formats() -> None:
    p = run(["--format", "csv", str(FIXTURES / "exim/unrouteable.eml")])
    lines = p.stdout.decode().splitlines()
    assert lines[0].startswith("source,message,kind,recipient")
    assert "someone@no-such-domain.example" in lines[1]
    p = run(["--format", "table", str(FIXTURES / "exim/unrouteable.eml")])
    assert "hostunknown" in p.stdout.decode()


def test_explain_shows_decoder_rule_and_evidence() -> None:
    p = run(["--explain", "--format", "jsonl", str(FIXTURES / "gmail/send-mail-as-ses-535.eml")])
    rec = records(p.stdout)[0]
    assert rec["explain"]["decoder"] == "gmail"
    assert rec["explain"]["rule"].startswith("submission.gmail-send-mail-as")
    assert any("535" in line for line in rec["explain"]["evidence"])


def test_rules_listing_and_check(tmp_path: Path) -> None:
    p = run(["rules", "--format", "jsonl"])
    assert p.returncode == 0
    ids = [json.loads(line)["id"] for line in p.stdout.decode().splitlines()]
    assert "microsoft.dmarc-reject" in ids
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "mine"\nreason = "sad"\n', encoding="utf-8")
    p = run(["rules", "--check", str(bad)])
    assert p.returncode == 1
    assert "rule 'mine': field 'reason' is 'sad'" in p.stderr.decode()
    good = tmp_path / "good.toml"
    good.write_text('[[rule]]\nid = "mine"\nreason = "blocked"\nwhen = { diagnostic = ["nope"] }\n', encoding="utf-8")
    p = run(["rules", "--check", str(good)])
    assert p.returncode == 0 and "1 rules, all valid" in p.stdout.decode()


def test_bad_rules_file_on_main_command_is_a_clear_error(tmp_path: Path) -> None:
    p = run(["--rules", str(tmp_path / "missing.toml"), str(FIXTURES / "exim/unrouteable.eml")])
    assert p.returncode == 2
    assert "cannot read rules file" in p.stderr.decode() and b"Traceback" not in p.stderr


def test_help_has_examples() -> None:
    p = run(["--help"])
    assert p.returncode == 0
    assert "bounce-classify < bounce.eml" in p.stdout.decode()


def test_damaged_outlook_msg_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "ndr.msg"
    bad.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 600)  # OLE magic, nothing inside
    good = FIXTURES / "postfix" / "mailbox-full-text.eml"
    p = run(["--format", "jsonl", str(bad), str(good)])
    assert p.returncode == 1
    err = p.stderr.decode()
    assert "Traceback" not in err
    assert "ndr.msg" in err and ("msgconvert" in err or ".msg" in err)
    assert [r["source"] for r in records(p.stdout)] == [str(good)]


def test_classifying_imports_no_heavy_dependency() -> None:
    """boto3, flanker, dnspython, psycopg and cryptography load only in the commands that need them."""
    args = ["-m", "bounce_classify", "--format", "jsonl", str(FIXTURES / "postfix/mailbox-full-text.eml")]
    subprocess.run([sys.executable, *args], capture_output=True, timeout=60)  # writes the rules cache if missing
    p = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, timeout=60)
    assert p.returncode == 0
    loaded = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in p.stderr.decode().splitlines()
              if line.startswith("import time:")}
    assert not loaded & {"boto3", "botocore", "flanker", "dns", "psycopg", "cryptography"}
    # the main job with everyday options starts without the CLI framework or a process pool
    assert not loaded & {"typer", "click", "pydantic", "rich", "multiprocessing", "concurrent"}
    # nor what only a cache miss or an unusual date needs: the TOML parser, OpenSSL's hashes,
    # email.utils (and the socket module it pulls in)
    full = {line.rsplit("|", 1)[-1].strip() for line in p.stderr.decode().splitlines()
            if line.startswith("import time:")}
    assert not full & {"tomllib", "hashlib", "_hashlib", "email.utils", "socket"}


_LOADED = """
import io, json, os, sys
def _exit(code):  # the main job ends with os._exit (entry.quick_exit): report first
    raise SystemExit(code)
os._exit = _exit
sys.stdin = open(sys.argv[1], encoding="utf-8")
sys.argv = ["bounce-classify", *sys.argv[2:]]
out, sys.stdout = sys.stdout, io.StringIO()
from bounce_classify.entry import main
try:
    code = main()
except SystemExit as exc:
    code = exc.code
sys.stdout = out
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("argv", [["--format", "jsonl"], ["hook", "--log", "none"]], ids=["main job", "hook"])
def test_a_one_message_run_leaves_typing_pathlib_and_sockets_unloaded(tmp_path: Path, argv: list[str]) -> None:
    """What a process run once per bounce imports, seen in an interpreter whose site hooks
    loaded nothing (-S): the annotations' typing names, pathlib, dataclasses, sockets and
    OpenSSL's hashes stay out of it."""
    import site

    import bounce_classify

    if argv[0] == "hook":
        argv = [*argv, "--ledger", str(tmp_path / "l.sqlite3"), "--quarantine", str(tmp_path / "q")]
    paths = [str(Path(bounce_classify.__file__).parents[1]), *site.getsitepackages()]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    p = subprocess.run([sys.executable, "-S", "-c", _LOADED, str(FIXTURES / "postfix/mailbox-full-text.eml"), *argv],
                       capture_output=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    report = json.loads(p.stdout)
    assert report["code"] in (0, None)
    loaded = set(report["modules"])
    assert "bounce_classify.rules.engine" in loaded  # it did classify
    assert not loaded & {"typing", "pathlib", "dataclasses", "inspect", "socket", "hashlib", "_hashlib",
                         "logging.handlers", "tomllib", "email.utils"}


# (arguments, whether the start-up fast path takes them)
FAST_PATH = [
    ([], True),
    (["-"], True),
    (["a.eml", "--format", "jsonl", "--jobs", "1"], True),
    (["--format=csv", "-j", "2", "--rules", "r.toml", "--original-header", "X-Id", "--explain"], True),
    (["-f", "json", "a.eml"], True),
    (["--format", "nosuch"], False),  # typer reports the bad value
    (["--jobs", "0"], False),
    (["--jobs"], False),
    (["--sink", "ledger"], False),
    (["--help"], False),
    (["-h"], False),
    (["--", "a.eml"], False),
    (["rules"], False),
    (["ledger", "stats"], False),
    (["a.eml", "--verify-sns"], False),
]


@pytest.mark.parametrize(("args", "fast"), FAST_PATH)
def test_fast_path_takes_only_what_it_can_parse(args: list[str], fast: bool) -> None:
    from bounce_classify.entry import fast_options

    assert (fast_options(args) is not None) == fast


def test_fast_path_knows_every_sub_command() -> None:
    from bounce_classify.cli import app
    from bounce_classify.entry import SUBCOMMANDS

    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert names == SUBCOMMANDS


@pytest.mark.parametrize("extra", [[], ["--explain"], ["--format", "csv"], ["--original-header", "X-Mailer"]])
def test_fast_path_and_typer_give_the_same_output(extra: list[str]) -> None:
    files = [str(p) for p in sorted(FIXTURES.rglob("*.eml"))[:12]]
    fast = run([*files, "--format", "jsonl", *extra])
    full = run(["classify", *files, "--format", "jsonl", *extra])  # the typer command
    assert fast.returncode == full.returncode == 0
    assert fast.stdout == full.stdout and len(records(fast.stdout) if "csv" not in extra else fast.stdout) > 0


def test_fast_path_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rule]]\nid = 'x'\nreason = 'nosuch'\n")
    p = run(["--rules", str(bad), str(FIXTURES / "postfix/mailbox-full-text.eml")])
    assert p.returncode == 2 and b"Traceback" not in p.stderr
    assert p.stderr.decode().count("\n") == 1 and "'x'" in p.stderr.decode()


def test_jobs_give_the_same_records_in_the_same_order(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "archive")
    for p in sorted((FIXTURES).rglob("*.eml"))[:40]:
        box.add(p.read_bytes())
    box.flush()
    args = [str(FIXTURES), str(tmp_path / "archive"), "--format", "jsonl"]
    one, two = run([*args, "--jobs", "1"]), run([*args, "--jobs", "2"])
    assert one.returncode == two.returncode
    assert one.stdout == two.stdout and len(records(one.stdout)) > 40  # the archive alone holds 40


def test_ses_notifications_as_json_lines_on_stdin() -> None:
    """Bare and SNS-wrapped notifications, one per line, read from standard input."""
    docs = [json.loads((FIXTURES / "ses-notification" / n).read_text())
            for n in ("bounce-in-sns-envelope.json", "complaint.json", "delivery-delay.json")]
    p = run(["-"], stdin="\n".join(json.dumps(d) for d in docs).encode() + b"\n")
    assert p.returncode == 0, p.stderr
    recs = records(p.stdout)
    assert [(r["message"], r["kind"], r["decoded_by"]) for r in recs] == [
        (1, "bounce", "ses-notification"), (2, "feedback", "ses-notification"), (3, "delay", "ses-notification")]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux) for a device that is always full")
@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "table"])
@pytest.mark.parametrize("command", [[], ["classify"]], ids=["fast-path", "typer"])
def test_output_that_cannot_be_written_is_one_line_and_a_failure(fmt: str, command: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        p = subprocess.run([*CMD, *command, str(FIXTURES / "postfix/mailbox-full-text.eml"), "--format", fmt],
                           stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 1
    assert p.stderr.decode() == "bounce-classify: cannot write the results: No space left on device\n"


READER_STOPS_CASES = [
    # (what is run, a key its first JSON line has)
    pytest.param([*(str(p) for p in sorted(FIXTURES.rglob("*.eml"))), "--format", "jsonl", "--jobs", "1"],
                 "schema", id="main-job"),
    pytest.param(["rules", "--format", "jsonl"], "id", id="rules-listing"),
]


@pytest.mark.parametrize(("args", "key"), READER_STOPS_CASES)
def test_a_reader_that_stops_early_is_not_an_error(args: list[str], key: str) -> None:
    """`bounce-classify … | head`: the lines the reader took are all it wanted; exit 0, nothing on
    stderr, for the main job and for a sub-command alike."""
    proc = subprocess.Popen([*CMD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    assert key in json.loads(first) and err == b""


@pytest.mark.parametrize("with_thread", [False, True], ids=["exit-handlers", "running-thread"])
def test_the_fast_exit_still_runs_exit_handlers_and_waits_for_threads(tmp_path: Path, with_thread: bool) -> None:
    """The main job leaves without the interpreter's teardown, but not without what exit promises:
    exit handlers run, output is flushed, and a thread still at work is waited for."""
    marker = tmp_path / "marker"
    setup = (f"import atexit; atexit.register(lambda: open({str(marker)!r}, 'w').write('atexit'))"
             if not with_thread else
             "import threading, time\n"
             f"def late():\n    time.sleep(0.3)\n    open({str(marker)!r}, 'w').write('thread')\n"
             "threading.Thread(target=late).start()")
    code = (f"{setup}\nimport sys\nsys.argv = ['bounce-classify', {str(FIXTURES / 'sendmail/user-unknown.eml')!r}]\n"
            "from bounce_classify.entry import main\nmain()\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert records(p.stdout)[0]["recipient"] == "applicant@jobs.example"
    assert marker.read_text() == ("thread" if with_thread else "atexit")
