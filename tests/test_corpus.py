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
    assert s["found"] / s["rows"] >= 0.90
    assert s["exact"] / s["rows"] >= 0.55


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
