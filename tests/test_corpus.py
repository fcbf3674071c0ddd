"""Score the shared corpus when ../shared is present (skipped otherwise)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import CORPUS, require_shared

SCORE = CORPUS.parents[1] / "tools" / "score.py"


def test_corpus_scores_and_nothing_crashes(tmp_path: Path) -> None:
    require_shared()
    out = tmp_path / "summary.json"
    p = subprocess.run([sys.executable, str(SCORE), str(CORPUS / "labels.jsonl"), "--root", str(CORPUS),
                        "--cmd", f"{sys.executable} -m bounce_classify --format jsonl", "--show", "0",
                        "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    s = json.loads(out.read_text())
    # floors that only move up: recipients found and rows fully right
    assert s["found"] / s["rows"] >= 0.97
    assert s["exact"] / s["rows"] >= 0.80


def test_no_crash_on_any_corpus_file_and_not_folder_is_clean() -> None:
    corpus = require_shared()
    files = [p for p in corpus.rglob("*") if p.is_file() and p.name != "LICENSE"]
    p = subprocess.run([sys.executable, "-m", "bounce_classify", "--format", "jsonl", *map(str, files)],
                       capture_output=True, text=True, timeout=600)
    assert "Traceback" not in p.stderr
    recs = [json.loads(line) for line in p.stdout.splitlines()]
    flagged = [r for r in recs if "/maildir/not/" in r["source"] and r["kind"] in ("bounce", "delay")
               and r["recipient"]]
    assert flagged == []
    sources = {r["source"] for r in recs}
    assert all(str(f) in sources for f in files if "mailbox/size-" in str(f))


def _records(paths: list[Path]) -> dict[str, list[tuple]]:
    p = subprocess.run([sys.executable, "-m", "bounce_classify", "--format", "jsonl", *map(str, paths)],
                       capture_output=True, text=True, timeout=600)
    out: dict[str, list[tuple]] = {}
    for line in p.stdout.splitlines():
        r = json.loads(line)
        out.setdefault(Path(r["source"]).name, []).append(
            (r["recipient"], r["status"], r["reply_code"], r["reason"], r["hop"]))
    return out


def test_cr_only_twins_match_their_lf_originals() -> None:
    corpus = require_shared()
    mac = sorted((corpus / "maildir" / "mac").glob("*.eml"))
    twins = [corpus / "maildir" / "bsd" / p.name for p in mac]
    pairs = [(m, t) for m, t in zip(mac, twins, strict=True) if t.exists()]
    assert pairs
    got_mac = _records([m for m, _ in pairs])
    got_bsd = _records([t for _, t in pairs])
    differ = [m.name for m, _ in pairs if got_mac.get(m.name) != got_bsd.get(m.name)]
    assert differ == []


def test_every_provider_json_file_gives_records() -> None:
    corpus = require_shared()
    files = sorted((corpus / "obsoleted").glob("*.json"))
    assert files
    got = _records(files)
    empty = [f.name for f in files if not any(r[0] for r in got.get(f.name, []))]
    assert empty == []
