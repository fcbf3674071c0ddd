#!/usr/bin/env python3
"""bounce-classify benchmarks: prints a table and writes JSON.

  python3 benchmarks/run.py [--corpus ../shared/corpus/set-of-emails] [--runs 7] [--json out.json]

Measures, on this machine:
  (a) whole-corpus throughput: one process over every message file in the corpus;
  (b) single-message latency: `bounce-classify < one.eml`, whole process, median of --runs;
      and `bounce-classify hook` (the mail-hook path, recording into a ledger); and again on an
      interpreter that skips the `.pth` hooks of this machine's site-packages (hookless_python),
      as a virtual environment does, with Sisimai timed in the same runs;
  (c) peak memory and time on a large generated mbox (--big-mb, default 1024 MB), built by
      repeating corpus messages (kept in benchmarks/data/, not committed);
  (d) --jobs 1 against --jobs N on that archive;
  (e) pathological messages: 25 MB with one 20 MB line, 10,000 nested parts, 10,000 sibling parts,
      a 1 MB line in the text part, and an mbox whose message has a 40 MB line;
  and, for reference, a plain `python -c pass` start-up.

When Sisimai is installed (Debian's libsisimai-perl), (a) and (b) are also timed for it, with
benchmarks/sisimai.pl, interleaved run by run with bounce-classify, and the ratio is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
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


def timed_rss(cmd: list[str]) -> tuple[float, int]:
    """Wall time and the peak resident set (KB) of the process and any of its workers."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    peak = max(usage.ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
               if resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss > before else 0)
    return wall, peak


def precompile() -> None:
    """Write the package's bytecode, as a regular (non-editable) pip install does.

    An editable install run with PYTHONDONTWRITEBYTECODE set would otherwise compile every
    module from source on every start, which no installed copy does.
    """
    import compileall

    import bounce_classify

    compileall.compile_dir(str(Path(bounce_classify.__file__).parent), quiet=1)


def warm(files: list[Path]) -> None:
    """One untimed run over the corpus, as any installation has had before it is measured: it
    writes the parsed rules and the assembled patterns to ``__pycache__`` (see lazyre)."""
    subprocess.run([command(), "--format", "jsonl", "--jobs", "1", *map(str, files)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def command() -> str:
    """The installed ``bounce-classify`` script beside this interpreter (not a shell shim on PATH)."""
    script = Path(sys.executable).with_name("bounce-classify")
    if not script.exists():
        sys.exit("benchmark: bounce-classify is not installed for this interpreter; run pip install -e . first")
    return str(script)


def hookless_python(where: Path) -> str | None:
    """An interpreter that starts without running the ``.pth`` hooks of this machine's site-packages.

    Python executes ``import`` lines in every ``.pth`` file of site-packages at each start; a
    hook installed there by the machine's owner (on the machine these figures come from, one
    that loads certifi) costs every Python process, ours included, its price before any of
    our code runs.  A virtual environment, where users usually install tools, has none.  This
    one (``venv --without-pip``) reaches the same installed packages through plain path lines,
    which Python adds to ``sys.path`` without executing the ``.pth`` files found there.
    """
    import sysconfig

    import bounce_classify

    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True,
                       capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    paths = [str(Path(bounce_classify.__file__).resolve().parent.parent),
             sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]
    found = list(where.glob("lib*/python*/site-packages"))
    if not found:
        return None
    (found[0] / "installed-packages.pth").write_text("\n".join(dict.fromkeys(paths)) + "\n")
    return str(where / "bin" / "python")


# what the console script runs (pip's entry-point wrapper), for the interpreter above
CONSOLE_SCRIPT = "import re, sys\nfrom bounce_classify.entry import main\nsys.exit(main())"


def big_mbox(corpus: Path, mb: int) -> tuple[Path, int]:
    """An mbox of at least ``mb`` MB made of corpus messages, built once and reused."""
    path = HERE / "data" / f"corpus-{mb}mb.mbox"
    count_file = path.with_suffix(".count")
    if path.exists() and count_file.exists():
        return path, int(count_file.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    msgs = []
    for f in sorted((corpus / "maildir" / "bsd").glob("*.eml")):
        data = f.read_bytes().replace(b"\r\n", b"\n")
        if data.startswith(b"From "):
            data = data.split(b"\n", 1)[1]
        body = b"\n".join((b">" + line if line.startswith(b"From ") else line) for line in data.split(b"\n"))
        msgs.append(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n" + body.rstrip(b"\n") + b"\n\n")
    target, written, n = mb * 1024 * 1024, 0, 0
    with open(path, "wb") as out:
        while written < target:
            for m in msgs:
                out.write(m)
                written += len(m)
                n += 1
    count_file.write_text(str(n))
    return path, n


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
    # one line of text the scanner reads word by word: it must cost linear time
    prose = HEAD + b"Content-Type: text/plain\r\n\r\n" + b"the following " * 75000 + b":\r\n\r\n" + TEXT[28:]
    # an Exchange NDR's text with a 2 MB line of word characters and a few "@" in it (what the
    # long fuzz run found costing seconds): every per-line address search must stay bounded
    ndr = (HEAD + b"Content-Type: text/plain\r\n\r\nDelivery has failed to these recipients or groups:\r\n\r\n"
           + (b"QUJD" * 131072 + b"@") * 4 + b"\r\n" + b"Diagnostic information for administrators:\r\n"
           + (b"QUJD" * 131072 + b"@") * 4 + b"\r\n")
    # a bounce's text followed by a million short lines (6 MB): per-line scanning must stop
    # where a report's text can reasonably end
    lines = HEAD + b"Content-Type: text/plain\r\n\r\n" + TEXT[28:] + b"> a: b\r\n" * 1_000_000
    return {"25MB, one 20MB line": big, "10,000 nested parts": nested, "10,000 sibling parts": wide,
            "1MB line of text": prose, "NDR with 2MB word lines": ndr, "bounce text + 1M short lines": lines}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", type=Path, default=HERE / "results" / "latest.json")
    ap.add_argument("--big-mb", type=int, default=1024, help="size of the generated mbox for (c) and (d)")
    ap.add_argument("--skip-big", action="store_true", help="skip (c) and (d)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="N for (d)")
    args = ap.parse_args()
    if not args.corpus.is_dir():
        print(f"benchmark: corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    files = corpus_files(args.corpus)
    precompile()
    warm(files)
    exe = [command(), "--format", "jsonl"]
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    import shutil

    sisimai = [shutil.which("perl") or "perl", str(HERE / "sisimai.pl")]
    has_sisimai = subprocess.run([sisimai[0], "-MSisimai", "-e", "1"], capture_output=True).returncode == 0
    argv = [str(f) for f in files]
    ours, theirs = [], []
    for _ in range(3):  # interleaved, so both see the same machine state
        ours.append(timed(exe + ["--jobs", "1"] + argv))
        if has_sisimai:
            theirs.append(timed(sisimai + argv))
    wall = min(ours)
    results["corpus_messages"] = len(files)
    results["(a) corpus wall s"] = round(wall, 3)
    results["(a) corpus msgs/s"] = round(len(files) / wall, 1)
    if has_sisimai:
        results["(a) sisimai msgs/s"] = round(len(files) / min(theirs), 1)
        results["(a) ratio (ours/sisimai)"] = round(min(theirs) / wall, 2)
    one = (args.corpus / "maildir" / "bsd" / "lhost-postfix-01.eml").read_bytes()
    lat, plat = [], []
    for _ in range(args.runs):
        lat.append(timed(exe, stdin=one))
        if has_sisimai:
            plat.append(timed(sisimai, stdin=one))
    results["(b) single message ms"] = round(statistics.median(lat) * 1000, 1)
    if has_sisimai:
        results["(b) sisimai single message ms"] = round(statistics.median(plat) * 1000, 1)

    with tempfile.TemporaryDirectory() as tmp:
        clean = hookless_python(Path(tmp) / "venv")
        if clean is not None:
            lat, plat, bare = [], [], []
            for _ in range(args.runs):  # interleaved with Sisimai again: the same machine state
                lat.append(timed([clean, "-c", CONSOLE_SCRIPT], stdin=one))
                if has_sisimai:
                    plat.append(timed(sisimai, stdin=one))
                bare.append(timed([clean, "-c", "pass"]))
            results["(b) single message ms, Python without the site .pth hooks"] = round(
                statistics.median(lat) * 1000, 1)
            if has_sisimai:
                results["(b) sisimai single message ms (same runs)"] = round(statistics.median(plat) * 1000, 1)
            results["python -c pass ms, without the site .pth hooks"] = round(statistics.median(bare) * 1000, 1)

    with tempfile.TemporaryDirectory() as tmp:
        hook = [command(), "hook", "--log", "none", "--ledger", f"{tmp}/l.sqlite3",
                "--quarantine", f"{tmp}/q"]
        lat = [timed(hook, stdin=one) for _ in range(args.runs)]
    results["(b) hook single message ms"] = round(statistics.median(lat) * 1000, 1)
    if not args.skip_big:
        big, n = big_mbox(args.corpus, args.big_mb)
        cmd = [command(), "--format", "jsonl", str(big)]
        w1, rss1 = timed_rss(cmd + ["--jobs", "1"])
        wn, rssn = timed_rss(cmd + ["--jobs", str(args.jobs)])
        results["(c) big mbox"] = f"{big.stat().st_size / 1024 / 1024:.0f} MB, {n} messages"
        results["(c) --jobs 1 wall s"] = round(w1, 1)
        results["(c) --jobs 1 msgs/s"] = round(n / w1, 1)
        results["(c) --jobs 1 peak RSS MB"] = round(rss1 / 1024, 1)
        results[f"(d) --jobs {args.jobs} wall s"] = round(wn, 1)
        results[f"(d) --jobs {args.jobs} peak RSS MB (largest process)"] = round(rssn / 1024, 1)
        results[f"(d) speed-up --jobs {args.jobs} / --jobs 1"] = round(w1 / wn, 2)
    from bounce_classify import classify

    for name, data in pathological().items():
        t0 = time.perf_counter()
        classify(data)
        results[f"(e) {name} s"] = round(time.perf_counter() - t0, 3)
    # the archive reader, not the classifier: an mbox whose first message carries a 40 MB
    # line (an attachment's base64 with no line breaks), then a second message
    from bounce_classify import classify_paths

    with tempfile.TemporaryDirectory() as tmp:
        box = Path(tmp) / "long-line.mbox"
        sep = b"From MAILER-DAEMON  Mon Feb  2 10:00:00 2026\n"
        box.write_bytes(sep + HEAD.replace(b"\r\n", b"\n") + TEXT.replace(b"\r\n", b"\n") + b"\n"
                        + b"QUJD" * (10 * 1024 * 1024) + b"\n\n" + sep + HEAD.replace(b"\r\n", b"\n")
                        + TEXT.replace(b"\r\n", b"\n"))
        t0 = time.perf_counter()
        for _ in classify_paths([str(box)]):
            pass
        results["(e) mbox with a 40MB line s"] = round(time.perf_counter() - t0, 3)
    base = [timed([sys.executable, "-c", "pass"]) for _ in range(args.runs)]
    results["python -c pass ms"] = round(statistics.median(base) * 1000, 1)
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f"{k:<{width}}  {v}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
