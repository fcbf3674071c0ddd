"""The embedded ledger: one SQLite file in WAL mode, safe for many hook processes at once."""

from __future__ import annotations

import os
import sqlite3
import time

from .policy import Policy
from .store import Ledger, LedgerBusy, LedgerError

_BUSY = ("locked", "busy")


class SqliteLedger(Ledger):
    placeholder = "?"

    def __init__(self, path: str | os.PathLike[str], policy: Policy | None = None,
                 busy_seconds: float = 10.0) -> None:
        super().__init__(policy)
        # os.path, not pathlib: a hook opens the ledger once per message, and pathlib's
        # import costs it 2 ms
        self.path = os.fspath(path)
        self.url = self.path
        self.busy_seconds = busy_seconds
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            # autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE
            self.conn = sqlite3.connect(self.path, timeout=min(busy_seconds, 5.0), isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"cannot open ledger {self.path}: {exc}") from None
        self._retrying(lambda: self.conn.execute("PRAGMA journal_mode=WAL").fetchall())
        self.conn.execute("PRAGMA synchronous=FULL")
        self.create_schema()

    def _begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def _retrying(self, work):
        deadline = time.monotonic() + self.busy_seconds
        delay = 0.02
        while True:
            try:
                return work()
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                if not any(word in text for word in _BUSY):
                    raise LedgerError(f"ledger {self.path}: {exc}") from None
                if time.monotonic() >= deadline:
                    raise LedgerBusy(f"ledger {self.path} stayed locked for {self.busy_seconds:g}s") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
            except sqlite3.Error as exc:
                raise LedgerError(f"ledger {self.path}: {exc}") from None
