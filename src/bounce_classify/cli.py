"""The command line: arguments in, calls out.  No classification logic here."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

EXIT_OK = 0
EXIT_INPUT_ERROR = 1
EXIT_USAGE = 2

MAIN_HELP = """\
Classify bounce messages: recipient, status, reason, the failing hop and what to fix.

With no sub-command, classifies PATHS (files, mbox files, Maildir folders,
directories, JSON notifications; `-` or nothing reads standard input).

\b
Examples:
  bounce-classify < bounce.eml
  bounce-classify archive.mbox Maildir/ notices/ --format jsonl > results.jsonl
  bounce-classify --explain bounce.eml
  bounce-classify rules --check my-rules.toml
"""


class _DefaultToClassify(TyperGroup):
    """Run ``classify`` when the first argument is not a sub-command."""

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["classify", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_DefaultToClassify, help=MAIN_HELP, add_completion=False, no_args_is_help=False,
                  context_settings={"help_option_names": ["-h", "--help"]}, rich_markup_mode=None)


class Format(StrEnum):
    table = "table"
    jsonl = "jsonl"
    json = "json"
    csv = "csv"


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    sys.stderr.write(f"bounce-classify: {message}\n")
    return typer.Exit(code)


def _load_rules(files: list[Path] | None):
    from .rules import RuleError, ruleset

    try:
        return ruleset(files or ())
    except RuleError as exc:
        raise _fail(str(exc)) from None


@app.command("classify", help="Classify bounce messages (the default command).\n\n" + MAIN_HELP.split("\n\n", 1)[1])
def classify_cmd(
    paths: Annotated[list[str] | None, typer.Argument(help="Files, mbox files, Maildir folders, directories, or - for stdin.")] = None,
    fmt: Annotated[Format | None, typer.Option("--format", "-f", help="Output format; default: table on a terminal, jsonl otherwise.")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show the decoder, evidence lines and the rule that fired.")] = False,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Your own rules file (TOML), checked before the built-in rules. Repeatable.")] = None,
    original_header: Annotated[list[str] | None, typer.Option("--original-header", help="Add this header of the returned original to original.headers. Repeatable.")] = None,
) -> None:
    from .api import Failure, classify_paths
    from .render import renderer_for

    ruleset = _load_rules(rules)
    chosen = fmt.value if fmt else ("table" if sys.stdout.isatty() else "jsonl")
    out = renderer_for(chosen, sys.stdout, explain)
    failed = 0
    try:
        for item in classify_paths(paths or [], stdin=sys.stdin.buffer, rules=ruleset,
                                   original_headers=original_header or ()):
            if isinstance(item, Failure):
                failed += 1
                where = item.source if not item.message else f"{item.source}#{item.message}"
                sys.stderr.write(f"bounce-classify: {where}: {item.error}\n")
                continue
            for result in item:
                out.write(result)
    except KeyboardInterrupt:
        out.close()
        raise typer.Exit(130) from None
    except BrokenPipeError:
        sys.stderr.close()
        raise typer.Exit(0) from None
    out.close()
    if failed:
        raise typer.Exit(EXIT_INPUT_ERROR)


@app.command("rules", help="List the rules in the order they are tried, or check a rules file.")
def rules_cmd(
    check: Annotated[Path | None, typer.Option("--check", help="Validate this rules file and report every problem.")] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Include your own rules file in the listing.")] = None,
    fmt: Annotated[Format | None, typer.Option("--format", "-f", help="table or jsonl.")] = None,
) -> None:
    from .rules import RuleError, load_rules_file

    if check is not None:
        try:
            found = load_rules_file(check)
        except RuleError as exc:
            raise _fail(str(exc), EXIT_INPUT_ERROR) from None
        print(f"{check}: {len(found)} rules, all valid")
        return
    ruleset = _load_rules(rules)
    chosen = fmt.value if fmt else ("table" if sys.stdout.isatty() else "jsonl")
    if chosen == "table":
        from rich.console import Console
        from rich.table import Table

        table = Table(header_style="bold")
        for col in ("id", "reason", "hop", "fix_owner", "when", "from"):
            table.add_column(col, overflow="fold")
        for r in ruleset.rules:
            when = "; ".join(f"{k}={v}" for k, v in r.when.items()) or "(always)"
            table.add_row(r.id, r.reason, r.hop or "-", r.fix_owner or "-", when, r.origin)
        Console().print(table)
    else:
        import json

        for r in ruleset.rules:
            print(json.dumps({"id": r.id, "reason": r.reason, "hop": r.hop, "fix_owner": r.fix_owner,
                              "permanent": r.permanent, "when": r.when, "remediation": r.remediation,
                              "origin": r.origin}))


ses_app = typer.Typer(help="Amazon SES helpers: SMTP credentials.", no_args_is_help=True,
                      rich_markup_mode=None)
app.add_typer(ses_app, name="ses")

SMTP_PASSWORD_HELP = """\
Derive the SES SMTP password for a region from an IAM secret access key.

The secret is read from standard input (one line) or, when stdin is a terminal or empty,
from AWS_SECRET_ACCESS_KEY. It is never taken from the command line, where it would land
in shell history and process listings. The SMTP user name is the IAM access key ID
(--access-key-id or AWS_ACCESS_KEY_ID).

\b
Examples:
  printf '%s' "$SECRET" | bounce-classify ses smtp-password --region eu-west-1
  AWS_SECRET_ACCESS_KEY=... bounce-classify ses smtp-password --region us-east-1 < /dev/null
"""


@ses_app.command("smtp-password", help=SMTP_PASSWORD_HELP)
def ses_smtp_password_cmd(
    region: Annotated[str, typer.Option("--region", "-r", help="AWS region of the SES SMTP endpoint.")],
    access_key_id: Annotated[str | None, typer.Option("--access-key-id", envvar="AWS_ACCESS_KEY_ID",
                                                       help="IAM access key ID (the SMTP user name).")] = None,
) -> None:
    import os

    from .ses.credentials import smtp_endpoint, smtp_password

    secret = ""
    if not sys.stdin.isatty():
        secret = sys.stdin.readline().strip()
    if not secret:
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "").strip()
    if not secret:
        raise _fail("no secret access key: pipe it on standard input or set AWS_SECRET_ACCESS_KEY")
    try:
        password = smtp_password(secret, region)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    endpoint = smtp_endpoint(region)
    sys.stdout.write(f"SMTP user name: {access_key_id or '(your IAM access key ID)'}\n"
                     f"SMTP password:  {password}\n"
                     f"SMTP endpoint:  {endpoint} (STARTTLS on 587, 25 or 2587; TLS on 465 or 2465)\n")


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()
