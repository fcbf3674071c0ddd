#!/usr/bin/env python3
"""A longer fuzz run than CI's property test: mutate seed bounces for a while, classify each.

  python3 benchmarks/fuzz.py [--minutes 5] [--seed 1] [--save benchmarks/results/fuzz-failures]

Seeds are tests/fixtures plus the shared corpus when present.  The mutations are the
property test's own (tests/test_hostile.py), chained at random.  A failing input (an
exception, or no record) is saved under --save; the summary gives the inputs tried.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import test_hostile as h  # noqa: E402
from bounce_classify import classify  # noqa: E402


def mutate(rng: random.Random, data: bytes) -> bytes:
    for _ in range(rng.randint(1, 4)):
        pick = rng.randrange(7)
        if pick == 0:
            data = h.truncate(data, rng.randrange(len(data) + 1))
        elif pick == 1:
            data = h.flip_bits(data, [rng.randrange(1 << 20) for _ in range(rng.randint(1, 64))])
        elif pick == 2:
            data = h.huge_header(data, rng.randint(1, 300))
        elif pick == 3:
            data = h.deep_nesting(data, rng.randint(1, 2000))
        elif pick == 4:
            data = h.bad_charset(data, "".join(chr(rng.randrange(0, 0x3000)) for _ in range(rng.randint(1, 12))))
        elif pick == 5:
            data = h.nul_bytes(data, [rng.randrange(1 << 20) for _ in range(rng.randint(1, 64))])
        else:
            data = h.giant_base64(data, rng.randint(1, 4096))
    return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--save", type=Path, default=HERE / "results" / "fuzz-failures")
    ap.add_argument("--slow-ms", type=float, default=1000.0, help="also save inputs slower than this")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    seeds = h.SEEDS
    end = time.monotonic() + args.minutes * 60
    tried = failures = slow = 0
    slowest = (0.0, "")
    while time.monotonic() < end:
        data = mutate(rng, rng.choice(seeds))
        tried += 1
        t0 = time.perf_counter()
        try:
            ok = bool(classify(data, source="fuzz"))
            problem = "" if ok else "no record"
        except Exception:
            problem = traceback.format_exc()
        took = time.perf_counter() - t0
        if took > slowest[0]:
            slowest = (took, f"{len(data)} bytes")
        if took * 1000 > args.slow_ms:
            slow += 1
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"slow-{hashlib.sha256(data).hexdigest()[:16]}.eml").write_bytes(data)
        if problem:
            failures += 1
            args.save.mkdir(parents=True, exist_ok=True)
            name = hashlib.sha256(data).hexdigest()[:16]
            (args.save / f"{name}.eml").write_bytes(data)
            (args.save / f"{name}.txt").write_text(problem)
        if tried % 2000 == 0:
            print(f"  {tried} inputs, {failures} failures", file=sys.stderr)
    print(f"fuzz: {tried} inputs in {args.minutes:g} min, {failures} failures, {slow} slower than "
          f"{args.slow_ms:g} ms, slowest {slowest[0] * 1000:.0f} ms ({slowest[1]})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
