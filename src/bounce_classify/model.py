"""The records that flow between the layers.

``RecipientFacts`` and ``Facts`` are what a decoder extracts; they carry no
judgement.  ``Result`` is the frozen record the rules produce; its
``to_dict()`` is the output contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(slots=True)
class RecipientFacts:
    """What a decoder found about one recipient.  No judgement here."""

    recipient: str | None = None
    action: str | None = None
    status: str | None = None
    reply_code: str | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    smtp_command: str | None = None
    timestamp: str | None = None
    feedback_type: str | None = None
    evidence: list[str] = field(default_factory=list)
    # provider-specific labels a decoder read verbatim (e.g. SES bounceSubType)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Facts:
    """What a decoder found in one message."""

    decoded_by: str
    recipients: list[RecipientFacts] = field(default_factory=list)
    kind: str | None = None  # set only where the format itself says (feedback, autoreply)
    reporting_mta: str | None = None
    context: str = ""  # the human explanation around the codes (headings, notes)
    bounce: dict[str, str | None] = field(default_factory=dict)
    original: dict[str, str | None] | None = None
    original_headers: Any = None  # message.Headers of the returned original, when present
    timestamp: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """One classified recipient result.  ``to_dict()`` is the output contract."""

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
    evidence: tuple[str, ...] = ()
    schema: int = SCHEMA_VERSION
    digest: str = ""  # SHA-256 of the message (not in the contract; the ledger stores it)

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


