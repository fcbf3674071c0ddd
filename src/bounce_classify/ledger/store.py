"""The ledger: every recorded result, and a per-address suppression state.

One implementation of the SQL for both back-ends; ``sqlite.py`` and ``postgres.py``
only open the connection and say how they lock.  Records are keyed by their
``token``, so recording the same bounce twice (an MTA re-delivery, a queue
message seen again) changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from ..model import FrozenRecord, Result
from .policy import CAUSE_COMPLAINT, CAUSE_DELIVERED, CAUSE_HARD, CAUSE_SOFT, Policy

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a hook's start-up 2 ms; for annotations only
    from typing import Any


class LedgerError(Exception):
    """The ledger cannot be opened or written (a configuration or permission problem)."""


class LedgerBusy(LedgerError):
    """The ledger stayed locked by other writers; try again later."""


SCHEMA = (
    """CREATE TABLE IF NOT EXISTS records (
        token TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        event_at TEXT NOT NULL,
        address TEXT,
        domain TEXT,
        kind TEXT NOT NULL,
        reason TEXT NOT NULL,
        hop TEXT,
        status TEXT,
        reply_code TEXT,
        hard_bounce INTEGER NOT NULL,
        permanent INTEGER,
        source TEXT,
        record TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS records_address ON records (address, event_at)",
    """CREATE TABLE IF NOT EXISTS addresses (
        address TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        cause TEXT,
        reason TEXT,
        evidence TEXT,
        since TEXT,
        cleared_at TEXT,
        updated_at TEXT NOT NULL)""",
)


class Suppression(FrozenRecord):
    __slots__ = ("address", "cause", "reason", "since", "evidence")
    address: str
    cause: str
    reason: str | None
    since: str
    evidence: dict[str, Any] | None

    def __init__(self, address: str, cause: str, reason: str | None, since: str,
                 evidence: dict[str, Any] | None) -> None:
        self._set(address=address, cause=cause, reason=reason, since=since, evidence=evidence)

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "cause": self.cause, "reason": self.reason, "since": self.since,
                "evidence": self.evidence}


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_time(result: Result, fallback: datetime) -> datetime:
    """When the result happened: its own timestamp when it has a readable one."""
    for value in (result.timestamp, (result.bounce or {}).get("date")):
        if not value:
            continue
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt
    return fallback


class Ledger:
    """Base class: the SQL.  Sub-classes provide ``_connect`` and ``_begin``."""

    placeholder = "?"
    url = ""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self.conn: Any = None

    # -- to be provided by the back-end ------------------------------------------------
    def _begin(self) -> None:
        raise NotImplementedError

    def _lock_address(self, address: str) -> None:
        """Serialise writers of one address (a no-op where the transaction already does)."""

    def _retrying(self, work):  # pragma: no cover - overridden
        return work()

    # -- plumbing ---------------------------------------------------------------------
    def _q(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cur = self.conn.cursor()
        cur.execute(self._q(sql), tuple(params))
        return cur

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return list(self._exec(sql, params).fetchall())

    def create_schema(self) -> None:
        def work() -> None:
            self._begin()
            try:
                for stmt in SCHEMA:
                    self._exec(stmt)
                self.conn.commit()
            except BaseException:
                self.conn.rollback()
                raise
        self._retrying(work)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------
    def record(self, results: Iterable[Result]) -> list[Result]:
        """Store results in one transaction; returns those that were new (not seen before)."""
        results = list(results)

        def work() -> list[Result]:
            self._begin()
            try:
                new = [r for r in results if self._insert(r)]
                self.conn.commit()
                return new
            except BaseException:
                self.conn.rollback()
                raise
        return self._retrying(work)

    def _insert(self, r: Result) -> bool:
        now = _now()
        when = event_time(r, now)
        address = r.recipient.lower() if r.recipient else None
        domain = address.rpartition("@")[2] if address and "@" in address else None
        cur = self._exec(
            "INSERT INTO records (token, digest, recorded_at, event_at, address, domain, kind, reason, hop, "
            "status, reply_code, hard_bounce, permanent, source, record) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (token) DO NOTHING",
            (r.token, r.digest, _iso(now), _iso(when), address, domain, r.kind, r.reason, r.hop, r.status,
             r.reply_code, int(r.hard_bounce), None if r.permanent is None else int(r.permanent), r.source,
             json.dumps(r.to_dict(), ensure_ascii=False, sort_keys=True)))
        if cur.rowcount == 0:
            return False
        if address:
            self._apply_policy(address, r, when, now)
        return True

    def _state(self, address: str) -> tuple | None:
        rows = self._all("SELECT state, cause, since, cleared_at FROM addresses WHERE address = ?", (address,))
        return rows[0] if rows else None

    def _set_state(self, address: str, state: str, cause: str, reason: str | None, evidence: str,
                   since: str, cleared_at: str | None, now: datetime) -> None:
        self._exec(
            "INSERT INTO addresses (address, state, cause, reason, evidence, since, cleared_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (address) DO UPDATE SET state = excluded.state, "
            "cause = excluded.cause, reason = excluded.reason, evidence = excluded.evidence, "
            "since = excluded.since, cleared_at = excluded.cleared_at, updated_at = excluded.updated_at",
            (address, state, cause, reason, evidence, since, cleared_at, _iso(now)))

    def _apply_policy(self, address: str, r: Result, when: datetime, now: datetime) -> None:
        self._lock_address(address)
        state = self._state(address)
        suppressed = state is not None and state[0] == "suppressed"
        cleared_at = state[3] if state else None
        if r.kind == "delivered":
            # a delivery clears a suppression that it postdates, and restarts the soft count
            if state is None or _iso(when) > (state[2] or ""):
                self._set_state(address, "active", CAUSE_DELIVERED, None, r.token, _iso(when), _iso(when), now)
            return
        if suppressed:
            return
        cause = None
        if r.kind == "feedback":
            cause = CAUSE_COMPLAINT
        elif r.kind == "bounce" and r.hard_bounce:
            cause = CAUSE_HARD
        elif r.kind == "bounce" and r.hop in self.policy.soft_hops:
            start = when - timedelta(days=self.policy.soft_days)
            if cleared_at and cleared_at > _iso(start):
                start_iso = cleared_at
            else:
                start_iso = _iso(start)
            hops = sorted(self.policy.soft_hops)
            marks = ", ".join("?" for _ in hops)
            rows = self._all(
                "SELECT DISTINCT substr(event_at, 1, 10) FROM records WHERE address = ? AND kind = 'bounce' "
                f"AND hard_bounce = 0 AND hop IN ({marks}) AND event_at > ? AND event_at <= ?",
                (address, *hops, start_iso, _iso(when)))
            if len(rows) >= self.policy.soft_bounces:
                cause = CAUSE_SOFT
        if cause is not None:
            self._set_state(address, "suppressed", cause, r.reason, r.token, _iso(when), cleared_at, now)

    # -- reading ----------------------------------------------------------------------
    def suppressions(self) -> Iterator[Suppression]:
        rows = self._all(
            "SELECT a.address, a.cause, a.reason, a.since, r.record FROM addresses a "
            "LEFT JOIN records r ON r.token = a.evidence WHERE a.state = 'suppressed' ORDER BY a.address")
        for address, cause, reason, since, record in rows:
            yield Suppression(address, cause, reason, since, json.loads(record) if record else None)

    def is_suppressed(self, address: str) -> bool:
        state = self._state(address.lower())
        return state is not None and state[0] == "suppressed"

    def history(self, address: str) -> dict[str, Any]:
        address = address.lower()
        state = self._all("SELECT state, cause, reason, since, evidence, cleared_at FROM addresses "
                          "WHERE address = ?", (address,))
        rows = self._all("SELECT event_at, record FROM records WHERE address = ? ORDER BY event_at, token",
                         (address,))
        st = state[0] if state else None
        return {
            "address": address,
            "state": st[0] if st else "unknown",
            "cause": st[1] if st else None,
            "reason": st[2] if st else None,
            "since": st[3] if st else None,
            "evidence": st[4] if st else None,
            "records": [dict(json.loads(rec), event_at=when) for when, rec in rows],
        }

    def forget(self, address: str) -> int:
        address = address.lower()

        def work() -> int:
            self._begin()
            try:
                n = self._exec("DELETE FROM records WHERE address = ?", (address,)).rowcount
                n += self._exec("DELETE FROM addresses WHERE address = ?", (address,)).rowcount
                self.conn.commit()
                return int(n)
            except BaseException:
                self.conn.rollback()
                raise
        return self._retrying(work)

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["records"] = self._all("SELECT count(*) FROM records")[0][0]
        out["by_kind"] = dict(self._all("SELECT kind, count(*) FROM records GROUP BY kind ORDER BY 2 DESC, 1"))
        where = "WHERE kind IN ('bounce', 'delay', 'feedback')"
        out["by_hop"] = dict(self._all(f"SELECT COALESCE(hop, 'unknown'), count(*) FROM records {where} "
                                       "GROUP BY COALESCE(hop, 'unknown') ORDER BY 2 DESC, 1"))
        out["by_reason"] = dict(self._all(f"SELECT reason, count(*) FROM records {where} GROUP BY reason "
                                          "ORDER BY 2 DESC, 1"))
        out["by_domain"] = dict(self._all(f"SELECT domain, count(*) FROM records {where} AND domain IS NOT NULL "
                                          "GROUP BY domain ORDER BY 2 DESC, 1"))
        out["by_day"] = dict(self._all(f"SELECT substr(event_at, 1, 10), count(*) FROM records {where} "
                                       "GROUP BY substr(event_at, 1, 10) ORDER BY 1"))
        out["suppressed"] = self._all("SELECT count(*) FROM addresses WHERE state = 'suppressed'")[0][0]
        return out
