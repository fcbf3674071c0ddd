"""Amazon SES notifications and event-publishing records (JSON), bare or in the SNS envelope.

Notifications (``notificationType``) and configuration-set events (``eventType``) share their
objects: ``bounce``, ``complaint``, ``delivery``, ``deliveryDelay``, ``reject``, ``send`` and
``failure`` (rendering).  SNS wraps the document as an escaped string in ``Message``.
"""

from __future__ import annotations

import json

from ..message import Headers, parse_headers
from ..model import Facts, RecipientFacts
from ._common import clean_address, first_reply_code, one_line, strip_dsn_type

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; these names are for annotations only
    from typing import Any

NAME = "ses-notification"
_TYPES = {"bounce", "complaint", "delivery", "deliverydelay", "reject", "send", "rendering failure",
          "renderingfailure", "open", "click", "subscription"}


def unwrap(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The SES document itself: ``doc``, or the JSON inside an SNS envelope's ``Message``."""
    if doc.get("Type") == "Notification" and isinstance(doc.get("Message"), str):
        try:
            inner = json.loads(doc["Message"])
        except ValueError:
            return None
        return inner if isinstance(inner, dict) else None
    return doc


def event_type(doc: dict[str, Any]) -> str | None:
    value = doc.get("notificationType") or doc.get("eventType")
    if isinstance(value, str) and value.lower() in _TYPES and isinstance(doc.get("mail"), dict):
        return value
    return None


class SESNotification:
    name = NAME

    def detect(self, doc: dict[str, Any]) -> bool:
        inner = unwrap(doc)
        return inner is not None and event_type(inner) is not None

    def decode(self, doc: dict[str, Any]) -> Facts | None:
        inner = unwrap(doc)
        if inner is None:
            return None
        etype = event_type(inner)
        if etype is None:
            return None
        mail = inner.get("mail") or {}
        key = etype.lower().replace(" ", "")
        handler = _HANDLERS.get(key, _other)
        facts = handler(inner, mail, etype)
        facts.original = _original(mail)
        facts.original_headers = _headers(mail)
        if facts.timestamp is None:
            facts.timestamp = _str(mail.get("timestamp"))
        for r in facts.recipients:
            r.timestamp = r.timestamp or facts.timestamp
            r.labels.setdefault("eventType", etype)
        facts.bounce = {"message_id": _str(doc.get("MessageId")) or _str(mail.get("messageId")),
                        "from": None, "subject": _str(doc.get("Subject")), "date": facts.timestamp}
        return facts


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _recipient(entry: Any, **labels: str | None) -> RecipientFacts:
    entry = entry if isinstance(entry, dict) else {"emailAddress": entry}
    diag = one_line(strip_dsn_type(_str(entry.get("diagnosticCode"))))
    status = _str(entry.get("status"))
    return RecipientFacts(
        recipient=clean_address(_str(entry.get("emailAddress"))),
        action=_str(entry.get("action")),
        status=status,
        reply_code=first_reply_code(diag or ""),
        diagnostic=diag,
        labels={k: v for k, v in labels.items() if v},
        evidence=[f"{k}: {v}" for k, v in labels.items() if v],
    )


def _bounce(doc: dict[str, Any], mail: dict[str, Any], etype: str) -> Facts:
    b = doc.get("bounce") or {}
    btype, sub = _str(b.get("bounceType")), _str(b.get("bounceSubType"))
    recipients = [_recipient(e, bounceType=btype, bounceSubType=sub) for e in _list(b.get("bouncedRecipients"))]
    remote = _str(b.get("remoteMtaIp"))  # present when SES reached the remote server
    for r in recipients:
        if r.action is None:
            r.action = "failed"
        if r.diagnostic:
            r.evidence.append(r.diagnostic)
        r.remote_mta = remote
    return Facts(decoded_by=NAME, recipients=recipients, kind="bounce",
                 reporting_mta=one_line(strip_dsn_type(_str(b.get("reportingMTA")))),
                 timestamp=_str(b.get("timestamp")))


def _delay(doc: dict[str, Any], mail: dict[str, Any], etype: str) -> Facts:
    d = doc.get("deliveryDelay") or {}
    dtype = _str(d.get("delayType"))
    recipients = [_recipient(e, delayType=dtype) for e in _list(d.get("delayedRecipients"))]
    for r in recipients:
        r.action = "delayed"
    return Facts(decoded_by=NAME, recipients=recipients, kind="delay",
                 reporting_mta=_str(d.get("reportingMTA")), timestamp=_str(d.get("timestamp")))


def _complaint(doc: dict[str, Any], mail: dict[str, Any], etype: str) -> Facts:
    c = doc.get("complaint") or {}
    ftype = (_str(c.get("complaintFeedbackType")) or "abuse").lower()
    sub = _str(c.get("complaintSubType"))
    recipients = [_recipient(e, complaintSubType=sub) for e in _list(c.get("complainedRecipients"))]
    for r in recipients:
        r.feedback_type = ftype
    return Facts(decoded_by=NAME, recipients=recipients, kind="feedback",
                 timestamp=_str(c.get("timestamp")))


def _delivery(doc: dict[str, Any], mail: dict[str, Any], etype: str) -> Facts:
    d = doc.get("delivery") or {}
    reply = one_line(_str(d.get("smtpResponse")))
    recipients = []
    for a in _list(d.get("recipients")):
        r = _recipient(a)
        r.action, r.diagnostic = "delivered", reply
        r.reply_code = first_reply_code(reply or "")
        r.remote_mta = _str(d.get("remoteMtaIp"))
        recipients.append(r)
    return Facts(decoded_by=NAME, recipients=recipients, kind="delivered",
                 reporting_mta=_str(d.get("reportingMTA")), timestamp=_str(d.get("timestamp")))


def _reject(doc: dict[str, Any], mail: dict[str, Any], etype: str) -> Facts:
    why = _str((doc.get("reject") or {}).get("reason")) or "Rejected by SES"
    recipients = [_recipient(a, rejectReason=why) for a in _list(mail.get("destination"))]
    for r in recipients:
        r.action, r.diagnostic = "failed", f"Amazon SES rejected the message: {why}"
    return Facts(decoded_by=NAME, recipients=recipients, kind="bounce")


def _rendering(doc: dict[str, Any], mail: dict[str, Any], etype: str) -> Facts:
    f = doc.get("failure") or {}
    why = _str(f.get("errorMessage")) or "template rendering failed"
    template = _str(f.get("templateName"))
    recipients = [_recipient(a, renderingFailure="true", templateName=template)
                  for a in _list(mail.get("destination"))]
    for r in recipients:
        r.action, r.diagnostic = "failed", f"Amazon SES could not render template {template}: {why}"
    return Facts(decoded_by=NAME, recipients=recipients, kind="bounce")


def _subscription(doc: dict[str, Any], mail: dict[str, Any], etype: str) -> Facts:
    """A contact list's preferences changed.  When the recipient unsubscribed from everything or
    opted out of a topic they were in, it is an opt-out, as an unsubscribe request by mail is;
    any other change (an opt-in) is activity."""
    sub = doc.get("subscription") or {}
    new, old = sub.get("newTopicPreferences") or {}, sub.get("oldTopicPreferences") or {}
    if not isinstance(new, dict) or not isinstance(old, dict):
        return _other(doc, mail, etype)

    def opted_out(prefs: dict[str, Any]) -> set[str]:
        return {t["topicName"] for t in _list(prefs.get("topicSubscriptionStatus"))
                if isinstance(t, dict) and t.get("subscriptionStatus") == "OptOut" and isinstance(t.get("topicName"), str)}

    left = sorted(opted_out(new) - opted_out(old))
    if not (new.get("unsubscribeAll") is True and old.get("unsubscribeAll") is not True) and not left:
        return _other(doc, mail, etype)
    what = "all mail" if new.get("unsubscribeAll") is True else "topic " + ", ".join(left)
    how = _str(sub.get("source"))
    recipients = [_recipient(a, contactList=_str(sub.get("contactList"))) for a in _list(mail.get("destination"))]
    for r in recipients:
        r.feedback_type = "opt-out"
        r.labels["feedback_type"] = "opt-out"
        r.diagnostic = f"Unsubscribed from {what}" + (f" ({how})" if how else "")
    return Facts(decoded_by=NAME, recipients=recipients, kind="feedback", timestamp=_str(sub.get("timestamp")))


def _other(doc: dict[str, Any], mail: dict[str, Any], etype: str) -> Facts:
    """Send, Open, Click, an opt-in: activity, not failure; reported as delivered-side events."""
    recipients = [_recipient(a) for a in _list(mail.get("destination"))]
    for r in recipients:
        r.action = "relayed" if etype.lower() == "send" else "delivered"
    return Facts(decoded_by=NAME, recipients=recipients, kind="delivered")


_HANDLERS = {"bounce": _bounce, "deliverydelay": _delay, "complaint": _complaint, "delivery": _delivery,
             "reject": _reject, "renderingfailure": _rendering, "subscription": _subscription}


def _headers(mail: dict[str, Any]) -> Headers | None:
    """The original's headers when the identity includes them (``mail.headers``)."""
    lines = []
    for h in _list(mail.get("headers")):
        if isinstance(h, dict) and isinstance(h.get("name"), str) and isinstance(h.get("value"), str):
            value = h["value"].replace("\r", " ").replace("\n", " ")
            lines.append(f"{h['name']}: {value}")
    if not lines:
        return None
    return parse_headers(("\n".join(lines) + "\n").encode("utf-8"))


def _original(mail: dict[str, Any]) -> dict[str, str | None] | None:
    common = mail.get("commonHeaders")
    if not isinstance(common, dict):
        return {"message_id": _str(mail.get("messageId")), "from": _str(mail.get("source")),
                "to": ", ".join(x for x in _list(mail.get("destination")) if isinstance(x, str)) or None,
                "subject": None, "date": _str(mail.get("timestamp"))}

    def joined(name: str) -> str | None:
        v = common.get(name)
        if isinstance(v, list):
            return ", ".join(x for x in v if isinstance(x, str)) or None
        return _str(v)

    return {"message_id": _str(common.get("messageId")) or _str(mail.get("messageId")),
            "from": joined("from"), "to": joined("to"), "subject": joined("subject"),
            "date": _str(common.get("date")) or _str(mail.get("timestamp"))}


DECODER = SESNotification()
