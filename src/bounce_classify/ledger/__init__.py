"""The ledger: recorded results and per-address suppression decisions.

``open_ledger(target)`` takes a file path (SQLite, the default) or a
``postgresql://`` URL.
"""

from __future__ import annotations

import os

from .policy import Policy
from .store import Ledger, LedgerBusy, LedgerError, Suppression

ENV_LEDGER = "BOUNCE_CLASSIFY_LEDGER"


def default_ledger_path() -> str:
    from platformdirs import user_data_dir

    return os.path.join(user_data_dir("bounce-classify", appauthor=False), "ledger.sqlite3")


def open_ledger(target: str | None = None, policy: Policy | None = None, busy_seconds: float = 10.0) -> Ledger:
    target = target or os.environ.get(ENV_LEDGER) or default_ledger_path()
    if target.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresLedger

        return PostgresLedger(target, policy, busy_seconds)
    from .sqlite import SqliteLedger

    return SqliteLedger(target, policy, busy_seconds)


__all__ = ["ENV_LEDGER", "Ledger", "LedgerBusy", "LedgerError", "Policy", "Suppression", "default_ledger_path",
           "open_ledger"]
