"""Hook mode: one message on stdin, from an MTA, unattended.

The rules of a mail hook, kept here:

* exit 0 when the message was classified and recorded, deliberately ignored, or
  quarantined; exit 75 (EX_TEMPFAIL) for anything transient, so the MTA keeps the
  message and retries.  Never 1, never a traceback;
* nothing on stdout on success; on failure one line starting with an RFC 3463 code,
  which the MTA puts in its log and queue;
* a message that cannot be understood is kept whole in a quarantine Maildir;
* an own deadline, below the MTA's time limit for the command.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Sequence

from .model import FrozenRecord, Record

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; for annotations only
    from typing import BinaryIO

EX_OK = 0
EX_TEMPFAIL = 75

DEFAULT_MAX_SIZE = 50 * 1024 * 1024
DEFAULT_DEADLINE = 30.0

log = logging.getLogger("bounce-classify.hook")
SYSLOG_ADDRESS = "/dev/log"  # the local syslog daemon's socket


class DeadlineReached(Exception):
    pass


class HookOptions(Record):
    __slots__ = ("sinks", "ledger", "quarantine", "max_size", "deadline", "policy", "rules",
                 "original_headers")

    def __init__(self, sinks: Sequence[str] = ("ledger",), ledger: str | None = None,
                 quarantine: str | None = None, max_size: int = DEFAULT_MAX_SIZE,
                 deadline: float = DEFAULT_DEADLINE, policy: object | None = None,
                 rules: object | None = None, original_headers: Sequence[str] = ()) -> None:
        self.sinks = sinks
        self.ledger = ledger
        self.quarantine = quarantine
        self.max_size = max_size
        self.deadline = deadline
        self.policy = policy
        self.rules = rules
        self.original_headers = original_headers


class Outcome(FrozenRecord):
    """What the hook did; ``line`` is printed on stdout when not None (failures only)."""

    __slots__ = ("code", "line", "records", "quarantined")
    code: int
    line: str | None
    records: int
    quarantined: str | None

    def __init__(self, code: int, line: str | None, records: int = 0,
                 quarantined: str | None = None) -> None:
        self._set(code=code, line=line, records=records, quarantined=quarantined)


def default_quarantine() -> str:
    from platformdirs import user_data_dir

    return os.path.join(user_data_dir("bounce-classify", appauthor=False), "quarantine")


def parse_size(text: str) -> int:
    """``50M``, ``512k``, ``1G`` or a plain number of bytes."""
    t = text.strip().upper().removesuffix("B")
    mult = 1
    if t[-1:] in ("K", "M", "G"):
        mult = {"K": 1024, "M": 1024**2, "G": 1024**3}[t[-1]]
        t = t[:-1]
    try:
        value = int(float(t) * mult)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (use bytes, or a number with K, M or G)") from None
    if value <= 0:
        raise ValueError(f"the size must be positive: {text!r}")
    return value


# -- quarantine -------------------------------------------------------------------------

def quarantine(directory: str, chunks: Sequence[bytes], rest: BinaryIO | None, digest: str) -> str:
    """Deliver a message into a Maildir (tmp/ then rename into new/); returns the path.

    The file name carries the message digest, so the same message quarantined on
    every MTA retry is kept once.
    """
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(directory, sub), mode=0o700, exist_ok=True)
    tag = f".M{digest[:24]}."
    for sub in ("new", "cur"):
        for name in os.listdir(os.path.join(directory, sub)):
            if tag in name:
                return os.path.join(directory, sub, name)
    host = os.uname().nodename.replace("/", "\\057").replace(":", "\\072") or "localhost"
    name = f"{int(time.time())}{tag}P{os.getpid()}.{host}"
    tmp = os.path.join(directory, "tmp", name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for chunk in chunks:
            _write_all(fd, chunk)
        if rest is not None:
            while True:
                block = rest.read(1 << 20)
                if not block:
                    break
                _write_all(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
    final = os.path.join(directory, "new", name)
    os.rename(tmp, final)
    dfd = os.open(os.path.join(directory, "new"), os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return final


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# -- logging ----------------------------------------------------------------------------

def setup_logging(target: str) -> None:
    """``syslog`` (LOG_MAIL), ``stderr``, ``none``, or a file path."""
    log.setLevel(logging.INFO)
    log.propagate = False
    for h in list(log.handlers):
        log.removeHandler(h)
    handler: logging.Handler
    if target == "none":
        handler = logging.NullHandler()
    elif target == "stderr":
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("bounce-classify[%(process)d]: %(message)s"))
    elif target == "syslog":
        from logging.handlers import SysLogHandler  # it imports socket: only for syslog

        class QuietSysLog(SysLogHandler):
            """Syslog that says nothing when no daemon listens (a container), as C's syslog() does.

            The handler connects again at each record; when that fails, logging's default is a
            traceback on stderr, which the MTA would copy into its log or a bounce.
            """

            def handleError(self, record: logging.LogRecord) -> None:
                pass

        # a Unix-socket address never raises here: the handler connects again at each record
        handler = QuietSysLog(address=SYSLOG_ADDRESS, facility=SysLogHandler.LOG_MAIL)
        handler.setFormatter(logging.Formatter("bounce-classify[%(process)d]: %(message)s"))
    else:
        handler = logging.FileHandler(target, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s bounce-classify[%(process)d]: %(message)s"))
    log.addHandler(handler)


# -- the hook ---------------------------------------------------------------------------

def _read_capped(stream: BinaryIO, cap: int) -> tuple[list[bytes], bool]:
    """Read up to cap+1 bytes; returns the chunks and whether the cap was exceeded."""
    chunks: list[bytes] = []
    total = 0
    while total <= cap:
        block = stream.read(min(1 << 20, cap + 1 - total))
        if not block:
            return chunks, False
        chunks.append(block)
        total += len(block)
    return chunks, True


def _on_alarm(signum, frame):  # pragma: no cover - timing dependent
    raise DeadlineReached()


def run(stdin: BinaryIO, opts: HookOptions) -> Outcome:
    """Classify one message from ``stdin`` and record it.  Never raises."""
    start = time.monotonic()
    qdir = opts.quarantine or default_quarantine()
    chunks: list[bytes] = []
    digest = ""
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, opts.deadline)
    try:
        chunks, over = _read_capped(stdin, opts.max_size)
        digest = _digest(chunks)
        if over:
            path = quarantine(qdir, chunks, stdin, digest)
            log.warning("message over the %d-byte size cap, quarantined as %s", opts.max_size, path)
            return Outcome(EX_OK, None, 0, path)
        raw = b"".join(chunks)
        if not raw.strip():
            log.info("empty message ignored")
            return Outcome(EX_OK, None)
        return _classify_and_record(raw, digest, qdir, opts, start)
    except DeadlineReached:
        log.error("deadline of %gs reached; the MTA will retry", opts.deadline)
        return Outcome(EX_TEMPFAIL, f"4.3.0 bounce-classify: deadline of {opts.deadline:g}s reached")
    except Exception as exc:  # an internal error: keep a copy, let the MTA retry
        log.exception("internal error")
        kept = ""
        if chunks:
            try:
                kept = " (copy kept in " + quarantine(qdir, chunks, None, digest or _digest(chunks)) + ")"
            except Exception:  # the quarantine itself failed; the MTA still has the message
                kept = ""
        return Outcome(EX_TEMPFAIL, f"4.3.0 bounce-classify: internal error: {type(exc).__name__}: {exc}{kept}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _digest(chunks: Sequence[bytes]) -> str:
    from .digest import sha256_hex_of_chunks

    return sha256_hex_of_chunks(chunks)


def _classify_and_record(raw: bytes, digest: str, qdir: str, opts: HookOptions, start: float) -> Outcome:
    from .api import classify
    from .sinks import SinkBusy, SinkError, make_sink

    results = classify(raw, source="hook", rules=opts.rules,  # type: ignore[arg-type]
                       original_headers=opts.original_headers)
    understood = [r for r in results if r.kind != "not-bounce" and (r.recipient or r.kind != "bounce")]
    quarantined = None
    if not understood:
        quarantined = quarantine(qdir, [raw], None, digest)
        log.info("not understood as a bounce, quarantined as %s", quarantined)
    busy_seconds = max(1.0, opts.deadline - (time.monotonic() - start) - 1.0)
    for spec in opts.sinks:
        sink = make_sink(spec, opts.ledger, opts.policy, busy_seconds)
        try:
            sink.write(results)
        except SinkBusy as exc:
            log.warning("%s: %s", sink.name, exc)
            return Outcome(EX_TEMPFAIL, f"4.3.0 bounce-classify: {exc}; will retry", 0, quarantined)
        except SinkError as exc:
            log.error("%s: %s", sink.name, exc)
            return Outcome(EX_TEMPFAIL, f"4.3.0 bounce-classify: {exc}", 0, quarantined)
        finally:
            sink.close()
    for r in results:
        log.info("%s kind=%s recipient=%s reason=%s hop=%s status=%s token=%s", r.bounce.get("message_id") or "-",
                 r.kind, r.recipient or "-", r.reason, r.hop or "-", r.status or "-", r.token)
    return Outcome(EX_OK, None, len(results), quarantined)


# -- the command line of the hook ---------------------------------------------------------
# Parsed with argparse, not typer: a hook starts once per message, and this keeps its
# start-up to what one message needs.

HELP = """\
Read one bounce from standard input, as a mail hook, and record it.

For a Postfix pipe transport, an aliases entry, a .forward file or a procmail recipe.
Exit status 0: classified and recorded, deliberately ignored, or quarantined.
Exit status 75 (EX_TEMPFAIL): a temporary problem (ledger locked or unwritable,
internal error, deadline reached, bad configuration); the MTA keeps the message and
retries.  Nothing is printed on success; on failure one line starting with an
RFC 3463 code, which the MTA logs.
"""

EPILOG = """\
examples:
  bounce-classify hook --ledger /var/lib/bounce-classify/ledger.sqlite3 < bounce.eml
  bounce-classify hook --sink jsonl:/var/log/bounces.jsonl --sink ledger --log /var/log/bounce-hook.log
"""


def _parser():
    """argparse that raises ValueError on a mistake instead of exiting with status 2."""
    import argparse

    class Quiet(argparse.ArgumentParser):
        def error(self, message: str):
            raise ValueError(message)

    p = Quiet(prog="bounce-classify hook", description=HELP, epilog=EPILOG,
              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sink", action="append", metavar="SINK",
                   help="ledger (the default), jsonl:PATH or stdout; repeatable")
    p.add_argument("--ledger", metavar="PATH|URL", default=os.environ.get("BOUNCE_CLASSIFY_LEDGER"),
                   help="ledger file, or a postgresql:// URL (env BOUNCE_CLASSIFY_LEDGER; "
                        "default: ledger.sqlite3 in your data directory)")
    p.add_argument("--quarantine", metavar="DIR",
                   help="Maildir for messages that cannot be understood (default: in your data directory)")
    p.add_argument("--max-size", default="50M", metavar="SIZE",
                   help="size cap; a larger message is quarantined unread (K, M, G suffixes; default 50M)")
    p.add_argument("--deadline", type=float, default=DEFAULT_DEADLINE, metavar="SECONDS",
                   help="give up with exit 75 after this long; keep it below the MTA's command "
                        "time limit (default 30)")
    p.add_argument("--log", default="syslog", metavar="WHERE",
                   help="syslog (facility mail, the default), stderr, none, or a file path")
    p.add_argument("--soft-bounces", type=int, default=3, metavar="N",
                   help="soft bounces on different days that suppress an address (default 3)")
    p.add_argument("--soft-days", type=int, default=14, metavar="DAYS",
                   help="window for counting soft bounces (default 14)")
    p.add_argument("--rules", action="append", metavar="FILE",
                   help="your own rules file (TOML), tried first; repeatable")
    p.add_argument("--original-header", action="append", metavar="NAME",
                   help="add this header of the returned original to original.headers; repeatable")
    return p


def main(argv: Sequence[str]) -> int:
    """The hook's command line.  Returns 0 or 75, and writes at most one line to stdout."""
    import sys

    try:
        parser = _parser()
        if "-h" in argv or "--help" in argv:
            parser.print_help()
            return EX_OK
        args = parser.parse_args(list(argv))
        opts = _options(args)
        setup_logging(args.log)
    except Exception as exc:  # configuration mistakes defer: the admin fixes them, the MTA retries
        sys.stdout.write(f"4.3.5 bounce-classify: bad hook configuration: {exc}\n")
        return EX_TEMPFAIL
    outcome = run(sys.stdin.buffer, opts)
    if outcome.line:
        sys.stdout.write(outcome.line + "\n")
        sys.stdout.flush()
    return outcome.code


def _options(args) -> HookOptions:
    from .ledger import Policy
    from .sinks import sink_target

    sinks = args.sink or ["ledger"]
    for spec in sinks:
        sink_target(spec)  # raises ValueError for an unknown sink
    if args.deadline <= 0:
        raise ValueError("the deadline must be positive")
    policy = Policy(soft_bounces=args.soft_bounces, soft_days=args.soft_days)
    rules = None
    if args.rules:
        from pathlib import Path

        from .rules import RuleError, ruleset

        try:
            rules = ruleset([Path(r) for r in args.rules])
        except RuleError as exc:
            raise ValueError(str(exc)) from None
    return HookOptions(sinks=sinks, ledger=args.ledger, quarantine=args.quarantine,
                       max_size=parse_size(args.max_size), deadline=args.deadline, policy=policy, rules=rules,
                       original_headers=tuple(args.original_header or ()))
