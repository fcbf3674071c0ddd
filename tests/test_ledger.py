"""The ledger and its suppression policy, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bounce_classify import classify
from bounce_classify.ledger import Policy, open_ledger
from bounce_classify.model import Result

FIXTURES = Path(__file__).parent / "fixtures"
_BASE = classify((FIXTURES / "postfix/mailbox-full-text.eml").read_bytes())[0]
_counter = itertools.count()


def event(kind: str = "bounce", *, hard: bool = False, hop: str | None = "recipient-mailbox", day: int = 1,
          to: str = "pat@example.org", reason: str = "mailboxfull", hour: int = 12) -> Result:
    n = next(_counter)
    return _BASE.replace(
        kind=kind, hard_bounce=hard, hop=hop, recipient=to, reason=reason,
        timestamp=f"2026-03-{day:02d}T{hour:02d}:00:00+00:00", token=f"t{n:08d}", digest=f"d{n}")


@pytest.fixture(params=["sqlite", "postgresql"])
def make_ledger(request, tmp_path):
    made = []

    def factory(policy: Policy | None = None):
        if request.param == "sqlite":
            led = open_ledger(str(tmp_path / f"ledger{len(made)}.sqlite3"), policy)
        else:
            import psycopg

            url = request.getfixturevalue("postgres_url")
            name = f"t{next(_counter)}"
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            led = open_ledger(url.rsplit("/", 1)[0] + "/" + name, policy)
        made.append(led)
        return led

    yield factory
    for led in made:
        led.close()


# (name, events, expected state of pat@example.org, expected cause); "unknown": never suppressed nor cleared
POLICY_CASES = [
    ("hard bounce suppresses at once", [event(hard=True, reason="userunknown")], "suppressed", "hard-bounce"),
    ("complaint suppresses at once", [event("feedback", hop=None, reason="feedback")], "suppressed", "complaint"),
    ("two soft days are not enough", [event(day=1), event(day=2)], "unknown", None),
    ("three soft bounces on one day count once", [event(day=1, hour=h) for h in (1, 2, 3)], "unknown", None),
    ("three soft days within the window suppress", [event(day=1), event(day=5), event(day=9)],
     "suppressed", "soft-bounces"),
    ("soft days spread beyond the window do not", [event(day=1), event(day=10), event(day=28)], "unknown", None),
    ("a sender-side failure is not the recipient's soft bounce",
     [event(day=d, hop="submission", reason="securityerror") for d in (1, 2, 3)], "unknown", None),
    ("a delay is not a bounce", [event("delay", day=d) for d in (1, 2, 3)], "unknown", None),
    ("a later delivery clears a hard bounce",
     [event(hard=True, day=1, reason="userunknown"), event("delivered", hop=None, day=3, reason="delivered")],
     "active", "delivered"),
    ("a delivery restarts the soft count",
     [event(day=1), event(day=2), event("delivered", hop=None, day=3, reason="delivered"), event(day=4)],
     "active", "delivered"),
    ("an older delivery does not clear a newer suppression",
     [event(hard=True, day=5, reason="userunknown"), event("delivered", hop=None, day=2, reason="delivered")],
     "suppressed", "hard-bounce"),
]


@pytest.mark.parametrize("name,events,state,cause", POLICY_CASES, ids=[c[0] for c in POLICY_CASES])
def test_default_policy(make_ledger, name, events, state, cause) -> None:
    led = make_ledger()
    for e in events:
        led.record([e])
    hist = led.history("Pat@Example.org")
    assert hist["state"] == state
    assert hist["cause"] == cause
    assert led.is_suppressed("pat@example.org") == (state == "suppressed")


def test_policy_is_configurable(make_ledger) -> None:
    led = make_ledger(Policy(soft_bounces=2, soft_days=3))
    led.record([event(day=1)])
    led.record([event(day=2)])
    assert led.is_suppressed("pat@example.org")
    led2 = make_ledger(Policy(soft_bounces=2, soft_days=3))
    led2.record([event(day=1)])
    led2.record([event(day=6)])
    assert not led2.is_suppressed("pat@example.org")


def test_recording_twice_is_idempotent(make_ledger) -> None:
    led = make_ledger()
    e = event(hard=True, reason="userunknown")
    assert led.record([e]) == [e]
    assert led.record([e]) == []
    assert led.stats()["records"] == 1


def test_suppressions_carry_the_evidence_record(make_ledger) -> None:
    led = make_ledger()
    e = event(hard=True, reason="userunknown", to="gone@example.net")
    led.record([e, event(day=1, to="ok@example.net")])
    sup = list(led.suppressions())
    assert [s.address for s in sup] == ["gone@example.net"]
    assert sup[0].cause == "hard-bounce" and sup[0].reason == "userunknown"
    assert sup[0].evidence is not None and sup[0].evidence["token"] == e.token


def test_stats_count_by_hop_reason_domain_and_day(make_ledger) -> None:
    led = make_ledger()
    led.record([event(day=1, to="a@one.example"), event(day=1, to="b@one.example", hop="transport",
                                                         reason="expired"),
                event(day=2, to="c@two.example", hard=True, reason="userunknown")])
    st = led.stats()
    assert st["by_hop"] == {"recipient-mailbox": 2, "transport": 1}
    assert st["by_reason"] == {"mailboxfull": 1, "expired": 1, "userunknown": 1}
    assert st["by_domain"] == {"one.example": 2, "two.example": 1}
    assert st["by_day"] == {"2026-03-01": 2, "2026-03-02": 1}
    assert st["suppressed"] == 1


def test_forget_removes_an_address(make_ledger) -> None:
    led = make_ledger()
    led.record([event(hard=True, reason="userunknown"), event(to="other@example.org")])
    assert led.forget("PAT@example.org") == 2
    assert led.history("pat@example.org") == {"address": "pat@example.org", "state": "unknown", "cause": None,
                                              "reason": None, "since": None, "evidence": None, "records": []}
    assert led.stats()["records"] == 1


def _cli(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bounce_classify", *args], input=stdin, capture_output=True,
                          timeout=60)


def test_ledger_commands(tmp_path: Path) -> None:
    db = str(tmp_path / "l.sqlite3")
    led = open_ledger(db)
    led.record([event(hard=True, reason="userunknown", to="gone@example.net"), event(to="soft@example.net")])
    led.close()
    p = _cli(["ledger", "suppressions", "--ledger", db])
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode().splitlines()
    assert lines[0].startswith("address,cause,reason")
    assert lines[1].startswith("gone@example.net,hard-bounce,userunknown,")
    p = _cli(["ledger", "suppressions", "--ledger", db, "--format", "jsonl"])
    assert json.loads(p.stdout)["evidence"]["recipient"] == "gone@example.net"
    p = _cli(["ledger", "stats", "--ledger", db, "--format", "json"])
    assert json.loads(p.stdout)["by_kind"] == {"bounce": 2}
    p = _cli(["ledger", "show", "soft@example.net", "--ledger", db])
    assert json.loads(p.stdout)["records"][0]["reason"] == "mailboxfull"
    p = _cli(["ledger", "forget", "gone@example.net", "--ledger", db])
    assert p.returncode == 0 and b"2 rows deleted" in p.stdout


def test_an_address_argument_is_checked(tmp_path: Path) -> None:
    db = str(tmp_path / "l.sqlite3")
    open_ledger(db).close()
    p = _cli(["ledger", "show", "not an address@@", "--ledger", db])
    assert p.returncode == 2 and b"not an e-mail address" in p.stderr and b"Traceback" not in p.stderr


def test_missing_ledger_is_a_clear_error(tmp_path: Path) -> None:
    p = _cli(["ledger", "stats", "--ledger", str(tmp_path / "none.sqlite3")])
    assert p.returncode == 1
    assert b"no ledger at" in p.stderr and b"Traceback" not in p.stderr


def test_classify_can_record_into_the_ledger(tmp_path: Path) -> None:
    db = str(tmp_path / "l.sqlite3")
    p = _cli([str(FIXTURES / "postfix"), "--sink", "ledger", "--ledger", db, "--format", "jsonl"])
    assert p.returncode == 0, p.stderr
    printed = [json.loads(x) for x in p.stdout.decode().splitlines()]
    with open_ledger(db) as led:
        assert led.stats()["records"] == len(printed)
