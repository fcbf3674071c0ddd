"""The records that flow between the layers.

``RecipientFacts`` and ``Facts`` are what a decoder extracts; they carry no
judgement.  ``Result`` is the frozen record the rules produce; its
``to_dict()`` is the output contract.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; these names are for annotations only
    from typing import Any


SCHEMA_VERSION = 1

KINDS = ("bounce", "delay", "feedback", "autoreply", "delivered", "not-bounce")

REASONS = frozenset({
    "authfailure", "badreputation", "blocked", "contenterror", "delivered", "exceedlimit",
    "expired", "feedback", "filtered", "hasmoved", "hostunknown", "mailboxfull", "mailererror",
    "mesgtoobig", "networkerror", "norelaying", "notaccept", "notcompliantrfc", "onhold",
    "policyviolation", "rejected", "requireptr", "securityerror", "spamdetected", "speeding",
    "suspend", "syntaxerror", "systemerror", "systemfull", "toomanyconn", "undefined",
    "userunknown", "vacation", "virusdetected",
    # outside Sisimai's list, documented in the README: a sending provider's own suppression list
    "suppressed",
})

HOPS = frozenset({
    "message", "submission", "sending-provider", "sender-authentication", "transport",
    "recipient-policy", "recipient-mailbox", "unknown",
})

FIX_OWNERS = frozenset({"sender", "sender-admin", "recipient-admin", "none"})

SMTP_COMMANDS = ("CONN", "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT")


class Record:
    """A plain record: slots, keyword construction, equality, repr and pickling by field.

    The records are hand-written rather than dataclasses: importing ``dataclasses`` (and the
    ``inspect`` it brings) and generating their methods costs a one-message run from a mail
    hook more than classifying the message does.
    """

    __slots__: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), tuple(getattr(self, n) for n in self.__slots__)))


class FrozenRecord(Record):
    """A Record whose fields cannot be reassigned once built."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot assign to {name!r}")

    __delattr__ = __setattr__  # type: ignore[assignment]

    def _set(self, **values: object) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def replace(self, **changes: object) -> Any:
        """A copy with ``changes`` applied."""
        names: tuple[str, ...] = self.__slots__
        values: dict[str, Any] = {n: getattr(self, n) for n in names}
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field(s) {', '.join(sorted(unknown))}")
        values.update(changes)
        return type(self)(**values)


def _rebuild(cls: type[Record], values: tuple[Any, ...]) -> Record:
    obj = cls.__new__(cls)
    for name, value in zip(cls.__slots__, values, strict=True):
        object.__setattr__(obj, name, value)
    return obj


class RecipientFacts(Record):
    """What a decoder found about one recipient.  No judgement here.

    ``labels`` holds provider-specific labels a decoder read verbatim (e.g. SES bounceSubType).
    """

    __slots__ = ("recipient", "action", "status", "reply_code", "diagnostic", "remote_mta",
                 "smtp_command", "timestamp", "feedback_type", "evidence", "labels")

    def __init__(self, recipient: str | None = None, action: str | None = None,
                 status: str | None = None, reply_code: str | None = None,
                 diagnostic: str | None = None, remote_mta: str | None = None,
                 smtp_command: str | None = None, timestamp: str | None = None,
                 feedback_type: str | None = None, evidence: list[str] | None = None,
                 labels: dict[str, str] | None = None) -> None:
        self.recipient = recipient
        self.action = action
        self.status = status
        self.reply_code = reply_code
        self.diagnostic = diagnostic
        self.remote_mta = remote_mta
        self.smtp_command = smtp_command
        self.timestamp = timestamp
        self.feedback_type = feedback_type
        self.evidence: list[str] = [] if evidence is None else evidence
        self.labels: dict[str, str] = {} if labels is None else labels


class Facts(Record):
    """What a decoder found in one message.

    ``kind`` is set only where the format itself says (feedback, autoreply); ``context`` is the
    human explanation around the codes (headings, notes); ``original_headers`` is the
    message.Headers of the returned original, when present.
    """

    __slots__ = ("decoded_by", "recipients", "kind", "reporting_mta", "context", "bounce",
                 "original", "original_headers", "timestamp")

    def __init__(self, decoded_by: str, recipients: list[RecipientFacts] | None = None,
                 kind: str | None = None, reporting_mta: str | None = None, context: str = "",
                 bounce: dict[str, str | None] | None = None,
                 original: dict[str, str | None] | None = None, original_headers: Any = None,
                 timestamp: str | None = None) -> None:
        self.decoded_by = decoded_by
        self.recipients: list[RecipientFacts] = [] if recipients is None else recipients
        self.kind = kind
        self.reporting_mta = reporting_mta
        self.context = context
        self.bounce: dict[str, str | None] = {} if bounce is None else bounce
        self.original = original
        self.original_headers = original_headers
        self.timestamp = timestamp


class Result(FrozenRecord):
    """One classified recipient result.  ``to_dict()`` is the output contract.

    ``digest`` is the SHA-256 of the message: not in the contract; the ledger stores it.
    """

    __slots__ = ("source", "message", "kind", "recipient", "action", "status", "reply_code",
                 "diagnostic", "reason", "hop", "permanent", "hard_bounce", "fix_owner",
                 "remediation", "rule", "decoded_by", "reporting_mta", "remote_mta",
                 "smtp_command", "timestamp", "feedback_type", "bounce", "original", "token",
                 "evidence", "schema", "digest")

    source: str
    message: int
    kind: str
    recipient: str | None
    action: str | None
    status: str | None
    reply_code: str | None
    diagnostic: str | None
    reason: str
    hop: str | None
    permanent: bool | None
    hard_bounce: bool
    fix_owner: str | None
    remediation: str | None
    rule: str
    decoded_by: str
    reporting_mta: str | None
    remote_mta: str | None
    smtp_command: str | None
    timestamp: str | None
    feedback_type: str | None
    bounce: dict[str, str | None]
    original: dict[str, Any] | None
    token: str
    evidence: tuple[str, ...]
    schema: int
    digest: str

    def __init__(self, source: str, message: int, kind: str, recipient: str | None,
                 action: str | None, status: str | None, reply_code: str | None,
                 diagnostic: str | None, reason: str, hop: str | None, permanent: bool | None,
                 hard_bounce: bool, fix_owner: str | None, remediation: str | None, rule: str,
                 decoded_by: str, reporting_mta: str | None, remote_mta: str | None,
                 smtp_command: str | None, timestamp: str | None, feedback_type: str | None,
                 bounce: dict[str, str | None], original: dict[str, Any] | None, token: str,
                 evidence: tuple[str, ...] = (), schema: int = SCHEMA_VERSION,
                 digest: str = "") -> None:
        self._set(source=source, message=message, kind=kind, recipient=recipient, action=action,
                  status=status, reply_code=reply_code, diagnostic=diagnostic, reason=reason,
                  hop=hop, permanent=permanent, hard_bounce=hard_bounce, fix_owner=fix_owner,
                  remediation=remediation, rule=rule, decoded_by=decoded_by,
                  reporting_mta=reporting_mta, remote_mta=remote_mta, smtp_command=smtp_command,
                  timestamp=timestamp, feedback_type=feedback_type, bounce=bounce,
                  original=original, token=token, evidence=evidence, schema=schema, digest=digest)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "source": self.source,
            "message": self.message,
            "kind": self.kind,
            "recipient": self.recipient,
            "action": self.action,
            "status": self.status,
            "reply_code": self.reply_code,
            "diagnostic": self.diagnostic,
            "reason": self.reason,
            "hop": self.hop,
            "permanent": self.permanent,
            "hard_bounce": self.hard_bounce,
            "fix_owner": self.fix_owner,
            "remediation": self.remediation,
            "rule": self.rule,
            "decoded_by": self.decoded_by,
            "reporting_mta": self.reporting_mta,
            "remote_mta": self.remote_mta,
            "smtp_command": self.smtp_command,
            "timestamp": self.timestamp,
            "feedback_type": self.feedback_type,
            "bounce": dict(self.bounce),
            "original": dict(self.original) if self.original is not None else None,
            "token": self.token,
        }


