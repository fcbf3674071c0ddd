"""Where recorded results go: a JSON Lines file, the ledger, or standard output.

Every sink is idempotent by the record's ``token``, so a message delivered twice
(an MTA retry after a temporary failure) is recorded once.
"""

from __future__ import annotations

import errno
import fcntl
import json
import mmap
import os
import sys
import time
from collections.abc import Sequence

from .model import Result

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms (a hook's); the protocol is for type checking
    from typing import Protocol, TextIO

    class Sink(Protocol):
        name: str

        def write(self, results: Sequence[Result]) -> None: ...

        def close(self) -> None: ...


class SinkError(Exception):
    """A sink could not be written (permission, disk, configuration)."""


class SinkBusy(SinkError):
    """A sink stayed locked by another writer; the caller should try again later."""


def _line(result: Result) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False) + "\n"


class JsonlSink:
    """Appends records to a file under an exclusive lock, then fsyncs it.

    Before appending, the file is searched for each record's token, so a record is
    never written twice.
    """

    def __init__(self, path: str, lock_seconds: float = 10.0) -> None:
        self.path = path
        self.name = f"jsonl:{path}"
        self.lock_seconds = lock_seconds

    def write(self, results: Sequence[Result]) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        except OSError as exc:
            raise SinkError(f"cannot open {self.path}: {exc.strerror}") from None
        try:
            self._lock(fd)
            fresh = [r for r in results if not self._seen(fd, r.token)]
            if fresh:
                data = "".join(_line(r) for r in fresh).encode("utf-8")
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
        except OSError as exc:
            raise SinkError(f"cannot write {self.path}: {exc.strerror}") from None
        finally:
            os.close(fd)  # releases the lock

    def _lock(self, fd: int) -> None:
        deadline = time.monotonic() + self.lock_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise SinkBusy(f"{self.path} stayed locked for {self.lock_seconds:g}s") from None
                time.sleep(0.02)

    @staticmethod
    def _seen(fd: int, token: str) -> bool:
        size = os.fstat(fd).st_size
        if size == 0:
            return False
        with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as mm:
            return mm.find(f'"token": "{token}"'.encode()) >= 0

    def close(self) -> None:
        pass


class LedgerSink:
    """Stores records in the ledger and applies the suppression policy."""

    def __init__(self, target: str | None, policy=None, busy_seconds: float = 10.0) -> None:
        self.target, self.policy, self.busy_seconds = target, policy, busy_seconds
        self._ledger = None
        self.name = "ledger"

    def _open(self):
        if self._ledger is None:
            from .ledger import LedgerBusy, LedgerError, open_ledger

            try:
                self._ledger = open_ledger(self.target, self.policy, self.busy_seconds)
            except LedgerBusy as exc:
                raise SinkBusy(str(exc)) from None
            except LedgerError as exc:
                raise SinkError(str(exc)) from None
            self.name = f"ledger:{self._ledger.url}"
        return self._ledger

    def write(self, results: Sequence[Result]) -> None:
        from .ledger import LedgerBusy, LedgerError

        ledger = self._open()
        try:
            ledger.record(results)
        except LedgerBusy as exc:
            raise SinkBusy(str(exc)) from None
        except LedgerError as exc:
            raise SinkError(str(exc)) from None

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None


class StdoutSink:
    """Prints records as JSON Lines, for interactive use."""

    name = "stdout"

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def write(self, results: Sequence[Result]) -> None:
        self.out.write("".join(_line(r) for r in results))
        self.out.flush()

    def close(self) -> None:
        pass


def sink_target(spec: str) -> tuple[str, str | None]:
    """The kind of sink a spec names and its path: ``ledger``, ``stdout`` or ``jsonl:PATH`` (a bare
    path ending in .jsonl or .ndjson also works).  ValueError for anything else."""
    kind, _, arg = spec.partition(":")
    if spec in ("ledger", "stdout"):
        return spec, None
    if kind == "jsonl" and arg:
        return "jsonl", arg
    if spec.endswith((".jsonl", ".ndjson")):
        return "jsonl", spec
    raise ValueError(f"unknown sink {spec!r}: use ledger, stdout or jsonl:PATH")


def make_sink(spec: str, ledger: str | None = None, policy=None, busy_seconds: float = 10.0) -> Sink:
    """The sink a spec names (see ``sink_target``); nothing is opened until it is written to."""
    kind, path = sink_target(spec)
    if kind == "ledger":
        return LedgerSink(ledger, policy, busy_seconds)
    if kind == "stdout":
        return StdoutSink()
    assert path is not None
    return JsonlSink(path, busy_seconds)
