"""The public Python API: plain functions over bytes, picklable and side-effect free."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence

from . import decoders
from .digest import sha256_hex
from .message import Message, normalise_newlines
from .model import Facts, FrozenRecord, RecipientFacts, Result
from .read import OLE_MAGIC, Item, ReadError, iter_items, json_items
from .rules import RuleSet, judge, ruleset

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; these names are for annotations only
    from typing import Any, BinaryIO

_DEFAULT_RULES: RuleSet | None = None


def default_rules() -> RuleSet:
    global _DEFAULT_RULES
    if _DEFAULT_RULES is None:
        _DEFAULT_RULES = ruleset()
    return _DEFAULT_RULES


class Failure(FrozenRecord):
    """A message or path that could not be classified; iteration goes on."""

    __slots__ = ("source", "message", "error")
    source: str
    message: int
    error: str

    def __init__(self, source: str, message: int, error: str) -> None:
        self._set(source=source, message=message, error=error)


def classify(raw: bytes, *, source: str = "-", message: int = 1, rules: RuleSet | None = None,
             original_headers: Sequence[str] = ()) -> list[Result]:
    """Classify one raw message (bytes).  Always returns at least one record.

    ``raw`` is a bounce as delivered (RFC 5322 bytes), a provider notification in JSON
    (an SES notification, bare or in its SNS envelope, or a SendGrid event or event array),
    or an Outlook .msg file (converted with msgconvert; ``OutlookError`` when that fails).
    """
    rs = rules or default_rules()
    if raw.startswith(OLE_MAGIC):
        from .read.outlook import msg_to_mime

        return _classify_mime(msg_to_mime(raw), source, message, rs, original_headers)
    if raw.lstrip()[:1] in (b"{", b"["):
        # one document, an array or JSON Lines: the same reading as for JSON files
        out: list[Result] = []
        for item in json_items(source, raw):
            out.extend(_classify_json(item.data, source, message + item.index - 1, rs, original_headers))
        return out
    return _classify_mime(raw, source, message, rs, original_headers)


def classify_item(item: Item, rules: RuleSet | None = None,
                  original_headers: Sequence[str] = ()) -> list[Result]:
    rs = rules or default_rules()
    if item.form == "json":
        return _classify_json(item.data, item.source, item.index, rs, original_headers)
    if item.form == "msg":
        from .read.outlook import msg_to_mime

        return _classify_mime(msg_to_mime(item.data), item.source, item.index, rs, original_headers)
    return _classify_mime(item.data, item.source, item.index, rs, original_headers)


def classify_paths(paths: Iterable[str], *, stdin: BinaryIO | None = None, rules: RuleSet | None = None,
                   original_headers: Sequence[str] = (),
                   check: Callable[[Item], None] | None = None,
                   s3_progress: Any = None) -> Iterator[list[Result] | Failure]:
    """Classify every message under ``paths``; a bad one yields a Failure and the rest go on.

    ``check``, when given, sees each item first; an exception from it rejects the item (for
    example an SNS message whose signature does not verify), which yields a Failure.
    """
    rs = rules or default_rules()
    for item in iter_items(paths, stdin, s3_progress):
        if isinstance(item, ReadError):
            yield Failure(item.source, 0, item.message)
            continue
        if check is not None:
            try:
                check(item)
            except Exception as exc:
                yield Failure(item.source, item.index, str(exc))
                continue
        try:
            yield classify_item(item, rs, original_headers)
        except Exception as exc:  # one bad message never stops the run
            yield Failure(item.source, item.index, f"{type(exc).__name__}: {exc}")


def _digest(raw: bytes) -> str:
    return sha256_hex(normalise_newlines(raw))


def _token(digest: str, recipient: str | None, position: int) -> str:
    key = f"{digest}\0{recipient or ''}\0{position if recipient is None else 0}"
    return sha256_hex(key.encode("utf-8"))[:32]


def _classify_mime(raw: bytes, source: str, index: int, rules: RuleSet,
                   original_headers: Sequence[str]) -> list[Result]:
    msg = Message(raw) if len(raw) > 1 else None
    facts = decoders.decode(msg) if msg is not None else None
    digest = _digest(raw)
    if facts is None:
        return [_not_bounce(source, index, digest, msg)]
    return _results(facts, source, index, digest, rules, original_headers)


def _classify_json(data: bytes, source: str, index: int, rules: RuleSet,
                   original_headers: Sequence[str] = ()) -> list[Result]:
    digest = _digest(data)
    try:
        doc = json.loads(data)
    except ValueError:
        return [_not_bounce(source, index, digest, None)]
    facts = decoders.decode_json(doc) if isinstance(doc, dict) else None
    if facts is None:
        return [_not_bounce(source, index, digest, None)]
    return _results(facts, source, index, digest, rules, original_headers)


def _results(facts: Facts, source: str, index: int, digest: str, rules: RuleSet,
             original_headers: Sequence[str]) -> list[Result]:
    original: dict[str, Any] | None = dict(facts.original) if facts.original is not None else None
    if original is not None and original_headers and facts.original_headers is not None:
        wanted = {}
        for name in original_headers:
            value = facts.original_headers.decoded(name)
            wanted[name] = value
        original["headers"] = wanted
    out = []
    for pos, r in enumerate(facts.recipients, 1):
        j, rule = judge(facts, rules, r)
        out.append(Result(
            source=source, message=index, kind=j.kind, recipient=r.recipient, action=r.action,
            status=j.status, reply_code=r.reply_code, diagnostic=r.diagnostic, reason=j.reason, hop=j.hop,
            permanent=j.permanent, hard_bounce=j.hard_bounce, fix_owner=j.fix_owner,
            remediation=j.remediation, rule=j.rule, decoded_by=facts.decoded_by,
            reporting_mta=facts.reporting_mta, remote_mta=r.remote_mta, smtp_command=r.smtp_command,
            timestamp=r.timestamp, feedback_type=r.feedback_type, bounce=dict(facts.bounce),
            original=original, token=_token(digest, r.recipient, pos), evidence=tuple(r.evidence),
            digest=digest,
        ))
    return out


def _not_bounce(source: str, index: int, digest: str, msg: Message | None) -> Result:
    from .decoders._common import summary

    bounce: dict[str, str | None] = summary(msg.headers, with_to=False) if msg is not None else \
        {"message_id": None, "from": None, "subject": None, "date": None}
    return Result(
        source=source, message=index, kind="not-bounce", recipient=None, action=None, status=None,
        reply_code=None, diagnostic=None, reason="undefined", hop=None, permanent=None, hard_bounce=False,
        fix_owner=None, remediation=None, rule="not-bounce", decoded_by="none", reporting_mta=None,
        remote_mta=None, smtp_command=None, timestamp=None, feedback_type=None, bounce=bounce,
        original=None, token=_token(digest, None, 1), digest=digest,
    )


__all__ = ["classify", "classify_item", "classify_paths", "Failure", "Result", "RecipientFacts"]
