#!/usr/bin/env python3
"""bounce-classify benchmarks: prints a table and writes JSON.

  python3 benchmarks/run.py [--corpus ../shared/corpus/set-of-emails] [--runs 7] [--json out.json]

Measures, on this machine:
  (a) whole-corpus throughput: one process over every message file in the corpus;
  (b) single-message latency: `bounce-classify < one.eml`, whole process, median of --runs;
  and, for reference, a plain `python -c pass` start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus" / "set-of-emails"


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in (corpus / "maildir").rglob("*") if p.is_file())


def timed(cmd: list[str], stdin: bytes | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", type=Path, default=HERE / "results" / "latest.json")
    args = ap.parse_args()
    if not args.corpus.is_dir():
        print(f"benchmark: corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    files = corpus_files(args.corpus)
    exe = [sys.executable, "-m", "bounce_classify", "--format", "jsonl"]
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    walls = [timed(exe + [str(f) for f in files]) for _ in range(3)]
    wall = min(walls)
    results["corpus_messages"] = len(files)
    results["corpus_wall_s"] = round(wall, 3)
    results["corpus_msgs_per_s"] = round(len(files) / wall, 1)
    one = (args.corpus / "maildir" / "bsd" / "lhost-postfix-01.eml").read_bytes()
    lat = [timed(exe, stdin=one) for _ in range(args.runs)]
    results["single_message_latency_ms"] = round(statistics.median(lat) * 1000, 1)
    base = [timed([sys.executable, "-c", "pass"]) for _ in range(args.runs)]
    results["python_startup_ms"] = round(statistics.median(base) * 1000, 1)
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f"{k:<{width}}  {v}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
