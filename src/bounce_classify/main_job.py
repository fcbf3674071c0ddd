"""The main job, classify PATHS, without the command-line framework.

Both entries call :func:`run_classify`: the typer command (``cli.classify_cmd``) and the
start-up fast path (``entry.main``), which parses the common options itself so that a
one-message run from a script or a hook does not pay for loading typer.  Errors a user can
fix are :class:`UsageError`, turned into one stderr line and an exit status by the caller.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; these names are for annotations only
    from typing import Any

EXIT_OK = 0
EXIT_INPUT_ERROR = 1
EXIT_USAGE = 2
FORMATS = ("table", "jsonl", "json", "csv")


class UsageError(Exception):
    """A mistake the user can fix; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def load_rules(files: Sequence[str] | None) -> Any:
    from .rules import RuleError, ruleset

    try:
        return ruleset(files or ())
    except RuleError as exc:
        raise UsageError(str(exc)) from None


def make_sinks(specs: Sequence[str], ledger: str | None, policy: Any = None) -> list[Any]:
    if not specs:
        return []
    from .sinks import make_sink

    try:
        return [make_sink(spec, ledger, policy) for spec in specs]
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def record(sinks: list[Any], results: Any) -> None:
    from .sinks import SinkError

    for s in sinks:
        try:
            s.write(results)
        except SinkError as exc:
            raise UsageError(f"{s.name}: {exc}", EXIT_INPUT_ERROR) from None


def run_classify(paths: Sequence[str] = (), fmt: str | None = None, explain: bool = False,
                 rules: Sequence[str] = (), original_header: Sequence[str] = (),
                 sink: Sequence[str] = (), ledger: str | None = None, verify_sns: bool = False,
                 jobs: int | None = None) -> int:
    """Classify ``paths`` (stdin when empty) and write the results; returns the exit status."""
    from .api import Failure, classify_paths
    from .parallel import classify_paths_parallel, default_jobs
    from .render import renderer_for

    paths = list(paths)
    ruleset = load_rules(rules)  # also with --jobs: a bad rules file is reported before any work starts
    sinks = make_sinks(sink, ledger)
    check = None
    if verify_sns:
        from .aws.sns import SnsVerifier, verify_item

        verifier = SnsVerifier()

        def check(item: Any) -> None:
            verify_item(item, verifier)
    chosen = fmt or ("table" if sys.stdout.isatty() else "jsonl")
    try:
        out = renderer_for(chosen, sys.stdout, explain)  # the JSON and CSV formats start writing here
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:
        raise _unwritable(exc) from None
    failed = 0
    s3_progress, bar = _s3_progress(paths)
    n_jobs = jobs or default_jobs(paths)
    if n_jobs > 1 and check is None:
        stream = classify_paths_parallel(paths, n_jobs, stdin=sys.stdin.buffer, rule_files=list(rules),
                                         original_headers=original_header, s3_progress=s3_progress)
    else:
        stream = classify_paths(paths, stdin=sys.stdin.buffer, rules=ruleset,
                                original_headers=original_header, check=check, s3_progress=s3_progress)
    count = _count_progress(bar is None and n_jobs > 1)
    seen = 0
    try:
        for item in stream:
            seen += 1
            if count is not None:
                count()
            if isinstance(item, Failure):
                failed += 1
                where = item.source if not item.message else f"{item.source}#{item.message}"
                sys.stderr.write(f"bounce-classify: {where}: {item.error}\n")
                continue
            try:
                for result in item:
                    out.write(result)
            except BrokenPipeError:
                raise
            except OSError as exc:
                raise _unwritable(exc) from None
            record(sinks, item)
    except KeyboardInterrupt:
        out.close()
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
    finally:
        for s in sinks:
            s.close()
        if bar is not None:
            bar.stop()
        if count is not None:
            count.stop()
    if not seen and paths:
        # an empty folder or archive is no error, but a run that read nothing says so
        named = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        sys.stderr.write(f"bounce-classify: no messages found in {named}\n")
    try:
        out.close()  # the table and JSON formats write here
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:
        raise _unwritable(exc) from None
    return EXIT_INPUT_ERROR if failed else EXIT_OK


def _unwritable(exc: OSError) -> UsageError:
    """The results cannot be written (a full disk, a closed descriptor): one line, exit status 1."""
    return UsageError(f"cannot write the results: {exc.strerror or exc}", EXIT_INPUT_ERROR)


def _count_progress(wanted: bool) -> Any:
    """A message count on stderr for long bulk runs, only on a terminal."""
    if not wanted or not sys.stderr.isatty():
        return None
    from rich.console import Console

    status = Console(stderr=True).status("classifying")
    status.start()
    seen = [0]

    def tick() -> None:
        seen[0] += 1
        if seen[0] % 200 == 0:
            status.update(f"classified {seen[0]} messages")
    tick.stop = status.stop  # type: ignore[attr-defined]
    return tick


def _s3_progress(paths: list[str]) -> tuple[Any, Any]:
    """A progress bar on a terminal for S3 prefixes, whose objects are listed before they are read."""
    if not any(p.startswith("s3://") for p in paths) or not sys.stderr.isatty():
        return None, None
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(console=Console(stderr=True), transient=True)
    bar.start()
    task = bar.add_task("S3 objects", total=None)

    def on_total(n: int) -> None:
        bar.update(task, total=n)

    def on_object() -> None:
        bar.advance(task)
    return (on_total, on_object), bar
