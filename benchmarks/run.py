#!/usr/bin/env python3
"""bounce-classify benchmarks: prints a table and writes JSON.

  python3 benchmarks/run.py [--corpus ../shared/corpus/set-of-emails] [--runs 7] [--json out.json]

Measures, on this machine:
  (a) whole-corpus throughput: one process over every message file in the corpus;
  (b) single-message latency: `bounce-classify < one.eml`, whole process, median of --runs;
      and `bounce-classify hook` (the mail-hook path, recording into a ledger);
  (e) pathological messages: 25 MB with one 20 MB line, 10,000 nested parts, 10,000 sibling parts;
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


HEAD = (b"From: MAILER-DAEMON@example.org\r\nTo: sender@example.org\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n")
TEXT = b"Content-Type: text/plain\r\n\r\n<gone@example.net>: host mx.example.net said: 550 5.1.1 unknown user\r\n"


def pathological() -> dict[str, bytes]:
    """The hook issue's hostile shapes, built in memory."""
    big = (HEAD + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n' + TEXT +
           b"--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
           b"QUJD" * (20 * 1024 * 1024 // 4) + b"\r\n" + b"x" * (5 * 1024 * 1024) + b"\r\n--B--\r\n")
    nested = HEAD + b"".join(b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (i, i)
                             for i in range(10000)) + TEXT + b"".join(b"\r\n--n%d--\r\n" % i
                                                                     for i in reversed(range(10000)))
    wide = (HEAD + b'Content-Type: multipart/mixed; boundary="W"\r\n\r\n' + (b"--W\r\n" + TEXT) * 10000 +
            b"--W--\r\n")
    return {"25MB, one 20MB line": big, "10,000 nested parts": nested, "10,000 sibling parts": wide}


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
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        hook = [sys.executable, "-m", "bounce_classify", "hook", "--log", "none", "--ledger", f"{tmp}/l.sqlite3",
                "--quarantine", f"{tmp}/q"]
        lat = [timed(hook, stdin=one) for _ in range(args.runs)]
    results["hook_latency_ms"] = round(statistics.median(lat) * 1000, 1)
    from bounce_classify import classify

    for name, data in pathological().items():
        t0 = time.perf_counter()
        classify(data)
        results[f"pathological {name} (s)"] = round(time.perf_counter() - t0, 3)
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
