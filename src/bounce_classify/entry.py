"""The console script: start fast, and leave everything else to the typer application.

Loading typer (and the pydantic it brings) costs more than classifying a bounce, so the
two commands that run once per message skip it:

- ``hook`` (or ``--hook``) has its own small parser in :mod:`bounce_classify.hook`;
- the main job with only the everyday options (paths, ``--format``, ``--jobs``,
  ``--rules``, ``--original-header``, ``--explain``) is parsed here and run by
  :func:`bounce_classify.main_job.run_classify`, the same function the typer command calls.

Anything else (a sub-command, ``--help``, another option, a value that does not parse) goes
to the typer application, which owns help and error messages.
"""

from __future__ import annotations

import sys

# the typer application's sub-commands (a test keeps this in step with cli.app)
SUBCOMMANDS = frozenset({"classify", "hook", "ledger", "rules", "check", "diagnose", "ses"})
_VALUED = {"--format": "fmt", "-f": "fmt", "--jobs": "jobs", "-j": "jobs", "--rules": "rules",
           "--original-header": "original_header"}
_FORMATS = ("table", "jsonl", "json", "csv")


def fast_options(args: list[str]) -> dict[str, object] | None:
    """The main job's arguments when they need no more than this parser knows, else None."""
    if args and args[0] in SUBCOMMANDS:
        return None
    opts: dict[str, object] = {"paths": [], "rules": [], "original_header": []}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "-" or not arg.startswith("-"):
            opts["paths"].append(arg)  # type: ignore[attr-defined]
            continue
        if arg == "--explain":
            opts["explain"] = True
            continue
        name, eq, value = arg.partition("=")
        key = _VALUED.get(name)
        if key is None or (eq and not name.startswith("--")):
            return None
        if not eq:
            if i >= len(args):
                return None
            value = args[i]
            i += 1
        if key == "fmt":
            if value not in _FORMATS:
                return None
            opts["fmt"] = value
        elif key == "jobs":
            if not value.isdigit() or int(value) < 1:
                return None
            opts["jobs"] = int(value)
        else:
            opts[key].append(value)  # type: ignore[attr-defined]
    return opts


def quick_exit(code: int) -> None:
    """End the process the way ``sys.exit`` would, without the interpreter's teardown.

    Freeing every module and object at exit costs a one-message run about 4 ms, more than
    classifying the message.  The main job's only outputs are standard output and standard
    error, so once the exit handlers have run and both streams are flushed nothing is left
    that the teardown would save.  While another thread is still running, the ordinary exit
    waits for it, as Python does.
    """
    import os

    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (| head): what it read is all it wanted
        pass
    except (OSError, ValueError) as exc:  # a full disk, a closed descriptor: say so, and fail
        try:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            sys.stderr.write(f"bounce-classify: cannot write the results: {reason}\n")
        except (OSError, ValueError):
            pass
        code = code or 1
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["hook"] or "--hook" in args:
        from .hook import main as hook_main

        sys.exit(hook_main(args[1:] if args[0] == "hook" else [a for a in args if a != "--hook"]))
    opts = fast_options(args)
    if opts is not None:
        from .main_job import UsageError, run_classify

        try:
            code = run_classify(**opts)  # type: ignore[arg-type]
        except UsageError as exc:
            sys.stderr.write(f"bounce-classify: {exc}\n")
            code = exc.code
        quick_exit(code)
    from .cli import main as typer_main

    typer_main()


if __name__ == "__main__":
    main()
