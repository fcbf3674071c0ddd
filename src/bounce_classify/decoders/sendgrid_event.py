"""SendGrid event-webhook records and the older bounce-list API entries (JSON).

Event records carry ``event`` (``bounce``, ``dropped``, ``deferred``, ``delivered``,
``spamreport``...), ``email``, ``status``/``reason`` or ``response`` and a Unix ``timestamp``.
The older bounces API gave ``email``, ``status``, ``reason`` and ``created``.
"""

from __future__ import annotations

from ..model import Facts, RecipientFacts
from ._common import clean_address, first_reply_code, first_status, one_line

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; these names are for annotations only
    from typing import Any

NAME = "sendgrid-event"
_KINDS = {"bounce": "bounce", "dropped": "bounce", "blocked": "bounce", "deferred": "delay",
          "delivered": "delivered", "spamreport": "feedback", "processed": "delivered", "open": "delivered",
          "click": "delivered", "unsubscribe": "feedback", "group_unsubscribe": "feedback",
          "group_resubscribe": "delivered"}
# the events in which the recipient asked for no more mail: an opt-out, as a mailed request is
_OPT_OUT = ("unsubscribe", "group_unsubscribe")


class SendGridEvent:
    name = NAME

    def detect(self, doc: dict[str, Any]) -> bool:
        if not isinstance(doc.get("email"), str):
            return False
        if isinstance(doc.get("event"), str):
            return "sg_event_id" in doc or "sg_message_id" in doc or doc["event"] in _KINDS
        return "reason" in doc and ("created" in doc or "status" in doc)

    def decode(self, doc: dict[str, Any]) -> Facts | None:
        event = str(doc.get("event") or "bounce").lower()
        kind = _KINDS.get(event, "bounce")
        reply = one_line(_text(doc.get("reason")) or _text(doc.get("response")))
        status = _text(doc.get("status"))
        reply_code = None
        if status and status.isdigit() and len(status) == 3:
            reply_code, status = status, None
        status = status or first_status(reply or "")
        r = RecipientFacts(
            recipient=clean_address(doc["email"]) or doc["email"].strip().strip("<>").lower() or None,
            action={"bounce": "failed", "delay": "delayed", "delivered": "delivered"}.get(kind),
            status=status,
            reply_code=reply_code or first_reply_code(reply or ""),
            diagnostic=reply,
            feedback_type="abuse" if event == "spamreport" else "opt-out" if event in _OPT_OUT else None,
            labels={k: v for k, v in (("event", event), ("type", _text(doc.get("type"))),
                                      ("feedback_type", "opt-out" if event in _OPT_OUT else None)) if v},
            evidence=[f"event: {event}"] + ([reply] if reply else []),
        )
        when = _when(doc.get("timestamp")) or _when(doc.get("created"))
        r.timestamp = when
        facts = Facts(decoded_by=NAME, recipients=[r], kind=kind, timestamp=when)
        facts.bounce = {"message_id": _text(doc.get("sg_event_id")), "from": None, "subject": None, "date": when}
        smtp_id = _text(doc.get("smtp-id"))
        if smtp_id:
            facts.original = {"message_id": smtp_id, "from": None, "to": r.recipient, "subject": None, "date": None}
        return facts


def _text(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value.strip() or None if isinstance(value, str) else None


def _when(value: Any) -> str | None:
    from datetime import UTC, datetime  # here: only SendGrid events need it

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat()
        except ValueError:
            return None
    return None


DECODER = SendGridEvent()
