"""A shared ledger in PostgreSQL (``postgresql://`` URL), for teams that run several hosts."""

from __future__ import annotations

from typing import Any

from .policy import Policy
from .store import Ledger, LedgerBusy, LedgerError


class PostgresLedger(Ledger):
    placeholder = "%s"

    def __init__(self, url: str, policy: Policy | None = None, busy_seconds: float = 10.0) -> None:
        super().__init__(policy)
        try:
            import psycopg
        except ImportError:  # pragma: no cover - depends on the install
            raise LedgerError("a postgresql:// ledger needs psycopg: pip install 'bounce-classify[postgres]'") \
                from None
        self._psycopg: Any = psycopg
        self.url = url
        self.busy_seconds = busy_seconds
        try:
            self.conn = psycopg.connect(url, connect_timeout=max(1, int(busy_seconds)))
        except psycopg.Error as exc:
            raise LedgerError(f"cannot open ledger {_redact(url)}: {exc}".strip()) from None
        self.create_schema()

    def _begin(self) -> None:
        # psycopg opens the transaction on the first statement; bound every lock wait
        self._exec(f"SET LOCAL lock_timeout = '{int(self.busy_seconds * 1000)}ms'")

    def _lock_address(self, address: str) -> None:
        self._exec("SELECT pg_advisory_xact_lock(hashtext(?))", (address,))

    def _retrying(self, work):
        psycopg = self._psycopg
        for _attempt in range(5):
            try:
                return work()
            except psycopg.errors.LockNotAvailable:
                continue
            except psycopg.errors.UniqueViolation:
                # two writers created the same schema object at once: the second try sees it
                continue
            except psycopg.Error as exc:
                raise LedgerError(f"ledger {_redact(self.url)}: {exc}") from None
        raise LedgerBusy(f"ledger {_redact(self.url)} stayed locked")


def _redact(url: str) -> str:
    """Hide a password in a URL before it reaches a log line."""
    head, sep, tail = url.partition("://")
    if sep and "@" in tail:
        cred, _, host = tail.rpartition("@")
        user = cred.split(":", 1)[0]
        return f"{head}://{user}:***@{host}" if ":" in cred else url
    return url
