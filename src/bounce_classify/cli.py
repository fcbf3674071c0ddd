"""The command line: arguments in, calls out.  No classification logic here."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from .main_job import EXIT_INPUT_ERROR, EXIT_USAGE, UsageError, load_rules, make_sinks, run_classify

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
  bounce-classify hook --ledger /var/lib/bounces/ledger.sqlite3 < bounce.eml
  bounce-classify ledger suppressions --format csv
"""


class _DefaultToClassify(TyperGroup):
    """Run ``classify`` when the first argument is not a sub-command."""

    def parse_args(self, ctx, args):
        if "--hook" in args:
            args = ["hook", *[a for a in args if a != "--hook"]]
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["classify", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        # click turns a closed pipe into exit status 1; a reader that stopped early (| head)
        # is not a failure, so it leaves the command as its own exception (see ``main``)
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise _ReaderGone() from None


class _ReaderGone(Exception):
    """Standard output's reader went away before the command finished writing."""


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
    try:
        return load_rules([str(f) for f in files or ()])
    except UsageError as exc:
        raise _fail(str(exc), exc.code) from None


@app.command("classify", help="Classify bounce messages (the default command).\n\n" + MAIN_HELP.split("\n\n", 1)[1])
def classify_cmd(
    paths: Annotated[list[str] | None, typer.Argument(help="Files, mbox files, Maildir folders, directories, or - for stdin.")] = None,
    fmt: Annotated[Format | None, typer.Option("--format", "-f", help="Output format; default: table on a terminal, jsonl otherwise.")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show the decoder, evidence lines and the rule that fired.")] = False,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Your own rules file (TOML), checked before the built-in rules. Repeatable.")] = None,
    original_header: Annotated[list[str] | None, typer.Option("--original-header", help="Add this header of the returned original to original.headers. Repeatable.")] = None,
    sink: Annotated[list[str] | None, typer.Option("--sink", help="Also record results: ledger, or jsonl:PATH. Repeatable.")] = None,
    ledger: Annotated[str | None, typer.Option("--ledger", envvar="BOUNCE_CLASSIFY_LEDGER", help="Ledger file, or a postgresql:// URL (default: in your data directory).")] = None,
    verify_sns: Annotated[bool, typer.Option("--verify-sns", help="Accept only SNS messages whose signature verifies (versions 1 and 2); reject the rest.")] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Worker processes; default: all cores for bulk input (directories, several files, large files), 1 otherwise.")] = None,
) -> None:
    try:
        code = run_classify(paths or [], fmt.value if fmt else None, explain, [str(r) for r in rules or []],
                            original_header or [], sink or [], ledger, verify_sns, jobs)
    except UsageError as exc:
        raise _fail(str(exc), exc.code) from None
    if code:
        raise typer.Exit(code)


def _make_sinks(specs: list[str], ledger: str | None, policy=None) -> list:
    try:
        return make_sinks(specs, ledger, policy)
    except UsageError as exc:
        raise _fail(str(exc), exc.code) from None


@app.command("hook", add_help_option=False,
             context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
             help="Read one bounce from standard input, as a mail hook, and record it (see: hook --help).")
def hook_cmd(ctx: typer.Context) -> None:
    # Hook options are parsed by the hook itself (bounce_classify.hook), which main() calls
    # directly without loading this module; this entry only lists the command in --help.
    from .hook import main as hook_main

    raise typer.Exit(hook_main(list(ctx.args)))


ledger_app = typer.Typer(help="Query the ledger: statistics, suppressions, an address's history.",
                         no_args_is_help=True, rich_markup_mode=None)
app.add_typer(ledger_app, name="ledger")

LedgerOpt = Annotated[str | None, typer.Option("--ledger", envvar="BOUNCE_CLASSIFY_LEDGER",
                                               help="Ledger file, or a postgresql:// URL.")]


def _address(text: str) -> str:
    from .addresses import parse_address

    parsed = parse_address(text)
    if parsed is None:
        raise _fail(f"not an e-mail address: {text!r}")
    return parsed


def _open_ledger(target: str | None, must_exist: bool = True):
    import os

    from .ledger import LedgerError, default_ledger_path, open_ledger

    path = target or os.environ.get("BOUNCE_CLASSIFY_LEDGER") or default_ledger_path()
    if must_exist and "://" not in path and not os.path.exists(path):
        raise _fail(f"no ledger at {path} (record bounces first, or give --ledger)", EXIT_INPUT_ERROR)
    try:
        return open_ledger(path)
    except LedgerError as exc:
        raise _fail(str(exc), EXIT_INPUT_ERROR) from None


class TableOrJson(StrEnum):
    table = "table"
    json = "json"


def _as_json(fmt: TableOrJson | None) -> bool:
    """JSON when asked, or when stdout is not a terminal; a table otherwise."""
    return fmt is TableOrJson.json if fmt else not sys.stdout.isatty()


FormatOpt = Annotated[TableOrJson | None, typer.Option("--format", "-f", help="table (on a terminal) or json.")]


@ledger_app.command("stats", help="Counts by kind, hop, reason, recipient domain and day.")
def ledger_stats_cmd(ledger: LedgerOpt = None, fmt: FormatOpt = None) -> None:
    from .render.ledger import stats

    with _open_ledger(ledger) as led:
        data = led.stats()
    stats(data, sys.stdout, _as_json(fmt))


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


@ledger_app.command("suppressions", help="Export the suppressed addresses with the cause and the evidence record.")
def ledger_suppressions_cmd(
    ledger: LedgerOpt = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="csv or jsonl.")] = ExportFormat.csv,
) -> None:
    from .render.ledger import suppressions

    with _open_ledger(ledger) as led:
        suppressions(led.suppressions(), sys.stdout, fmt.value)


@ledger_app.command("show", help="An address's state and every record about it (JSON when piped).")
def ledger_show_cmd(address: Annotated[str, typer.Argument(help="The recipient address.")],
                    ledger: LedgerOpt = None, fmt: FormatOpt = None) -> None:
    from .render.ledger import history

    address = _address(address)
    with _open_ledger(ledger) as led:
        hist = led.history(address)
    history(hist, sys.stdout, _as_json(fmt))


@ledger_app.command("forget", help="Delete an address's records and state from the ledger.")
def ledger_forget_cmd(address: Annotated[str, typer.Argument(help="The recipient address.")],
                      ledger: LedgerOpt = None) -> None:
    address = _address(address)
    with _open_ledger(ledger) as led:
        n = led.forget(address)
    print(f"{address}: {n} rows deleted" if n else f"{address}: not in the ledger")


@app.command("rules", help="List the rules in the order they are tried, or check a rules file.")
def rules_cmd(
    check: Annotated[Path | None, typer.Option("--check", help="Validate this rules file and report every problem.")] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Include your own rules file in the listing.")] = None,
    fmt: Annotated[Format | None, typer.Option("--format", "-f", help="table or jsonl.")] = None,
    phrases: Annotated[bool, typer.Option("--phrases", help="Print the built-in phrase lists a rules file can use as @name.")] = False,
) -> None:
    from .rules import RuleError, load_rules_file

    if phrases:
        from .rules.engine import builtin_phrases

        for name, items in builtin_phrases().items():
            print(f"@{name}: " + ", ".join(f'"{x}"' for x in items))
        return
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


check_app = typer.Typer(help="Live checks of one hop: the sending domain's DNS, the SMTP relay.",
                        no_args_is_help=True, rich_markup_mode=None)
app.add_typer(check_app, name="check")
EXIT_CHECK_FAILED = 1


def _secret(env: str) -> str | None:
    """A password from standard input (one line) or an environment variable, never argv."""
    import os

    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if line:
            return line
    return os.environ.get(env) or None


@check_app.command("domain", help="Check a sending domain's SPF, DKIM, DMARC, custom MAIL FROM and MX.")
def check_domain_cmd(
    domain: Annotated[str, typer.Argument(help="The sending domain, e.g. example.com.")],
    provider: Annotated[str | None, typer.Option("--provider", help="ses, google, microsoft or sendgrid: check what it needs published.")] = None,
    dkim_selector: Annotated[list[str] | None, typer.Option("--dkim-selector", help="A DKIM selector (for SES: each of the three tokens). Repeatable.")] = None,
    mail_from: Annotated[str | None, typer.Option("--mail-from", help="A custom MAIL FROM sub-domain to check (MX and SPF).")] = None,
    region: Annotated[str | None, typer.Option("--region", help="SES region, for the MAIL FROM MX advice.")] = None,
    nameserver: Annotated[str | None, typer.Option("--nameserver", help="Ask this name server (HOST or HOST:PORT) instead of the system's.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per DNS query.")] = 5.0,
    fmt: FormatOpt = None,
) -> None:
    from .check import FAIL
    from .check.dns import PROVIDERS, check_domain
    from .render.checks import findings

    if provider is not None and provider not in PROVIDERS:
        raise _fail(f"unknown provider {provider!r}: use one of {', '.join(sorted(PROVIDERS))}")
    items = check_domain(domain, provider=provider, dkim_selectors=dkim_selector or (), mail_from=mail_from,
                         nameserver=nameserver, timeout=timeout, region=region)
    findings(domain, items, sys.stdout, _as_json(fmt))
    if any(f.status == FAIL for f in items):
        raise typer.Exit(EXIT_CHECK_FAILED)


CHECK_SMTP_HELP = """\
Walk the SMTP submission handshake step by step and report the first failing step.

connect, EHLO, STARTTLS (implicit TLS on 465), the AUTH methods offered, AUTH with --user,
and with --mail-from/--rcpt-to the envelope (DATA is never sent). The password is read from
standard input (one line) or BOUNCE_CLASSIFY_SMTP_PASSWORD, never from the command line.

\b
Examples:
  printf '%s' "$SMTP_PASSWORD" | bounce-classify check smtp email-smtp.eu-west-1.amazonaws.com:587 --user AKIA...
  bounce-classify check smtp mail.example.com:465 --cafile private-ca.pem
"""


@check_app.command("smtp", help=CHECK_SMTP_HELP)
def check_smtp_cmd(
    target: Annotated[str, typer.Argument(help="HOST[:PORT] of the relay; the port defaults to 587.")],
    user: Annotated[str | None, typer.Option("--user", help="SMTP user name; the password comes from stdin or BOUNCE_CLASSIFY_SMTP_PASSWORD.")] = None,
    mail_from: Annotated[str | None, typer.Option("--mail-from", help="Also try MAIL FROM with this address.")] = None,
    rcpt_to: Annotated[str | None, typer.Option("--rcpt-to", help="Also try RCPT TO with this address (needs --mail-from).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait at each step.")] = 10.0,
    cafile: Annotated[str | None, typer.Option("--cafile", help="Trust this CA bundle for the relay's certificate.")] = None,
    insecure: Annotated[bool, typer.Option("--insecure", help="Do not verify the relay's certificate.")] = False,
    implicit_tls: Annotated[bool | None, typer.Option("--implicit-tls/--starttls", help="TLS from the first byte, or STARTTLS; default: implicit on 465 and 2465.")] = None,
    fmt: FormatOpt = None,
) -> None:
    from .check.smtp import check_smtp, parse_target
    from .render.checks import smtp_report

    try:
        host, port = parse_target(target)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if rcpt_to and not mail_from:
        raise _fail("--rcpt-to needs --mail-from")
    password = _secret("BOUNCE_CLASSIFY_SMTP_PASSWORD") if user else None
    rep = check_smtp(host, port, user=user, password=password, mail_from=mail_from, rcpt_to=rcpt_to,
                     timeout=timeout, cafile=cafile, insecure=insecure, implicit_tls=implicit_tls)
    smtp_report(rep, sys.stdout, _as_json(fmt))
    if not rep.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)


DIAGNOSE_HELP = """\
Classify a bounce, then run the live checks its failing hop calls for, and print the chain.

sender-authentication: the DNS of the original's From and Return-Path domains;
submission: the SMTP login at the relay the bounce names (with --user; password from
BOUNCE_CLASSIFY_SMTP_PASSWORD or stdin); transport: the recipient domain's MX and port 25.
Each hop is reported as passed, failed here, or not checked.

\b
Examples:
  bounce-classify diagnose bounce.eml
  bounce-classify diagnose gmail-alias-bounce.eml --user AKIA... < password.txt
  bounce-classify diagnose bounce.eml --offline
"""


@app.command("diagnose", help=DIAGNOSE_HELP)
def diagnose_cmd(
    bounce: Annotated[Path, typer.Argument(help="The bounce message (or SES notification) file.")],
    offline: Annotated[bool, typer.Option("--offline", help="Classify and show the chain, without live checks.")] = False,
    relay: Annotated[str | None, typer.Option("--relay", help="Test this relay (HOST[:PORT]) instead of the one named in the bounce.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="SMTP user name for the submission check.")] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="Sending provider for the DNS checks (default: guessed from the bounce).")] = None,
    dkim_selector: Annotated[list[str] | None, typer.Option("--dkim-selector", help="DKIM selector to check. Repeatable.")] = None,
    nameserver: Annotated[str | None, typer.Option("--nameserver", help="Name server (HOST or HOST:PORT) for the DNS checks.")] = None,
    smtp_port: Annotated[int, typer.Option("--smtp-port", help="Port probed on the recipient's MX hosts.")] = 25,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per network step.")] = 5.0,
    cafile: Annotated[str | None, typer.Option("--cafile", help="CA bundle for the relay's certificate.")] = None,
    insecure: Annotated[bool, typer.Option("--insecure", help="Do not verify the relay's certificate.")] = False,
    fmt: FormatOpt = None,
) -> None:
    from .check.diagnose import LiveOptions, diagnose
    from .render.checks import diagnosis

    try:
        raw = bounce.read_bytes()
    except OSError as exc:
        raise _fail(f"{bounce}: {exc.strerror}", EXIT_INPUT_ERROR) from None
    password = _secret("BOUNCE_CLASSIFY_SMTP_PASSWORD") if user else None
    opts = LiveOptions(offline=offline, nameserver=nameserver, timeout=timeout, relay=relay, user=user,
                       password=password, cafile=cafile, insecure=insecure, smtp_port=smtp_port,
                       provider=provider, dkim_selectors=tuple(dkim_selector or ()))
    try:
        d = diagnose(raw, opts)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    diagnosis(d, sys.stdout, _as_json(fmt))


ses_app = typer.Typer(help="Amazon SES: the queue worker, SMTP credentials, the suppression list.",
                      no_args_is_help=True, rich_markup_mode=None)
app.add_typer(ses_app, name="ses")
suppression_app = typer.Typer(help="SES's account-level suppression list and the ledger.", no_args_is_help=True,
                              rich_markup_mode=None)
ses_app.add_typer(suppression_app, name="suppression")


def _aws_client(service: str, region: str | None, endpoint_url: str | None):
    try:
        import boto3
    except ImportError:
        raise _fail("this command needs boto3: pip install 'bounce-classify[aws]'") from None
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url)


def _aws_error(exc: Exception) -> typer.Exit:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return _fail(f"AWS {err.get('Code', 'error')}: {err.get('Message', '')}", EXIT_INPUT_ERROR)
    return _fail(f"{type(exc).__name__}: {exc}", EXIT_INPUT_ERROR)


CONSUME_HELP = """\
Long-poll an SQS queue of SES notifications, classify them, record them, then delete them.

Bodies may be SNS-wrapped or raw (raw message delivery), or SES receipt-rule notifications
whose S3 action stored the raw email (fetched and classified). A message is deleted only
after every sink has committed; one that fails stays on the queue for a retry and, past
the queue's maxReceiveCount, its dead-letter queue. SIGTERM or Ctrl-C stops after the
message in hand and gives the rest back to the queue.

\b
Examples:
  bounce-classify ses consume --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/ses-bounces
  bounce-classify ses consume --queue-url URL --sink ledger --sink jsonl:/var/log/bounces.jsonl
"""


@ses_app.command("consume", help=CONSUME_HELP)
def ses_consume_cmd(
    queue_url: Annotated[str, typer.Option("--queue-url", help="The SQS queue URL.")],
    sink: Annotated[list[str] | None, typer.Option("--sink", help="ledger (default), jsonl:PATH or stdout. Repeatable.")] = None,
    ledger: Annotated[str | None, typer.Option("--ledger", envvar="BOUNCE_CLASSIFY_LEDGER", help="Ledger file, or a postgresql:// URL.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="AWS region (default: from the queue URL or your AWS configuration).")] = None,
    endpoint_url: Annotated[str | None, typer.Option("--endpoint-url", help="Another SQS/S3 endpoint (a local test server, a VPC endpoint).")] = None,
    wait: Annotated[int, typer.Option("--wait", min=0, max=20, help="Long-poll wait in seconds.")] = 20,
    visibility: Annotated[int, typer.Option("--visibility-timeout", min=1, help="Seconds a received message stays hidden; extended while in hand.")] = 60,
    max_messages: Annotated[int | None, typer.Option("--max-messages", help="Stop after this many messages.")] = None,
    exit_when_empty: Annotated[bool, typer.Option("--exit-when-empty", help="Stop when a poll returns nothing.")] = False,
) -> None:
    import logging

    from .aws.worker import Worker, region_of

    logging.basicConfig(level=logging.INFO, format="bounce-classify: %(message)s", stream=sys.stderr)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    region = region or region_of(queue_url)
    sinks = _make_sinks(sink or ["ledger"], ledger)
    sqs = _aws_client("sqs", region, endpoint_url)
    s3 = _aws_client("s3", region, endpoint_url)
    progress = None
    live = None
    if sys.stderr.isatty():
        from rich.console import Console

        live = Console(stderr=True).status("waiting for messages")
        live.start()

        def progress(c) -> None:
            live.update(f"received {c.received}, recorded {c.recorded} ({c.records} records), "
                        f"failed {c.failed}, deleted {c.deleted}")
    worker = Worker(sqs, queue_url, sinks, s3=s3, wait=wait, visibility=visibility, on_progress=progress)
    worker.install_signal_handlers()
    try:
        counts = worker.run(max_messages=max_messages, exit_when_empty=exit_when_empty)
    except Exception as exc:
        raise _aws_error(exc) from None
    finally:
        if live is not None:
            live.stop()
        for s in sinks:
            s.close()
    sys.stderr.write(f"bounce-classify: received {counts.received}, recorded {counts.recorded} "
                     f"({counts.records} records), failed {counts.failed}, deleted {counts.deleted}, "
                     f"released {counts.released}\n")


@suppression_app.command("sync", help="Push the ledger's suppressed addresses to SES's account-level suppression list (dry run unless --apply).")
def ses_suppression_sync_cmd(
    apply: Annotated[bool, typer.Option("--apply", help="Really add the addresses; without it, only show the plan.")] = False,
    ledger: LedgerOpt = None,
    region: Annotated[str | None, typer.Option("--region", help="AWS region of the SES account.")] = None,
    endpoint_url: Annotated[str | None, typer.Option("--endpoint-url", help="Another SES endpoint.")] = None,
) -> None:
    from .aws import suppression

    sesv2 = _aws_client("sesv2", region, endpoint_url)
    from .addresses import parse_address

    with _open_ledger(ledger) as led:
        sups = list(led.suppressions())
    invalid = [s for s in sups if parse_address(s.address) is None]
    for s in invalid:
        sys.stderr.write(f"bounce-classify: skipped {s.address!r}: SES would refuse it as an address\n")
    sups = [s for s in sups if s not in invalid]
    try:
        planned = suppression.plan(sups, sesv2)
        for p in planned:
            print(f"{'add' if p.state == 'add' else 'already listed'}\t{p.address}\t{p.reason}\t({p.cause})")
        todo = sum(1 for p in planned if p.state == "add")
        if not apply:
            print(f"dry run: {todo} to add, {len(planned) - todo} already listed; --apply to add them")
            return
        done = suppression.apply(planned, sesv2)
    except Exception as exc:
        raise _aws_error(exc) from None
    print(f"added {done} addresses to the SES account-level suppression list")


@suppression_app.command("check", help="Is ADDRESS on SES's account-level suppression list, and why?")
def ses_suppression_check_cmd(
    address: Annotated[str, typer.Argument(help="The e-mail address.")],
    region: Annotated[str | None, typer.Option("--region", help="AWS region of the SES account.")] = None,
    endpoint_url: Annotated[str | None, typer.Option("--endpoint-url", help="Another SES endpoint.")] = None,
) -> None:
    import json

    from .aws import suppression

    address = _address(address)
    sesv2 = _aws_client("sesv2", region, endpoint_url)
    try:
        found = suppression.check(address, sesv2)
    except Exception as exc:
        raise _aws_error(exc) from None
    if found is None:
        print(json.dumps({"address": address, "suppressed": False}))
        return
    print(json.dumps({**found, "suppressed": True}))

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
    """The typer application; ``bounce_classify.entry.main`` is the console script."""
    import errno

    try:
        app()
    except (BrokenPipeError, _ReaderGone):
        # what the reader took is all it wanted; point stdout at nothing so the exit's own
        # flush of the unread rest cannot complain
        import os

        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        sys.exit(0)
    except OSError as exc:
        # output that cannot be written (a full disk, a file-size limit) is the user's to fix:
        # one line, not a traceback; anything else is a bug and keeps its traceback
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        sys.stderr.write(f"bounce-classify: cannot write: {exc.strerror}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
