"""RFC 5965 Abuse Reporting Format complaints (feedback loops)."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message, parse_headers
from ..model import Facts, RecipientFacts
from ._common import body_text, clean_address, new_facts, one_line, original_part, strip_dsn_type

_FEEDBACK_TYPES = ("abuse", "fraud", "virus", "other", "not-spam", "auth-failure", "opt-out", "dkim")


_HOTMAIL_SUBJECT = lazy_re(r"\s*complaint about message from ", re.I)


class ARF:
    name = "arf"

    def detect(self, msg: Message) -> bool:
        if msg.content_type == "multipart/report":
            return (msg.params.get("report-type") or "").lower() == "feedback-report" \
                or msg.find("message/feedback-report") is not None
        if "x-hmxmroriginalrecipient" in msg.headers:
            return True
        if _HOTMAIL_SUBJECT.match(msg.headers.decoded("subject") or ""):
            # Outlook.com's junk-mail reporting program: the complained-of message is attached
            # and carries X-HmXmrOriginalRecipient; there is no feedback-report part
            original = original_part(msg)
            return original is not None and "x-hmxmroriginalrecipient" in original
        head = msg.plain_text[:4000].lower()
        return "feedback-type:" in head and "user-agent:" in head

    def decode(self, msg: Message) -> Facts | None:
        part = msg.find("message/feedback-report")
        report_text = part.payload.decode("utf-8", "replace") if part is not None else msg.plain_text
        fields = parse_headers(report_text.replace("\r", "").strip("\n").encode("utf-8"))
        ftype = (fields.get("feedback-type") or "").strip().lower() or None
        if ftype and ftype not in _FEEDBACK_TYPES:
            ftype = "other"
        original = original_part(msg)
        rcpts: list[str] = []
        for value in fields.get_all("original-rcpt-to") + fields.get_all("removal-recipient"):
            a = clean_address(value)
            if a:
                rcpts.append(a)
        for headers in (msg.headers, original):
            if not rcpts and headers is not None and "x-hmxmroriginalrecipient" in headers:
                a = clean_address(headers.get("x-hmxmroriginalrecipient"))
                if a:
                    rcpts.append(a)
        if ftype is None and not rcpts:
            return None
        if not rcpts and original is not None:
            a = clean_address(original.get("to"))
            if a:
                rcpts.append(a)
        if not rcpts:
            # redacted reports: the text part often still names the address
            m = re.search(r"(?:complain\w*|report\w*)[^\n@]{0,80}?<?([\w.+-]+@[\w.-]+)>?", body_text(msg), re.I)
            if m:
                a = clean_address(m.group(1))
                if a:
                    rcpts.append(a)
        arrival = fields.get("arrival-date") or fields.get("received-date")
        recipients = [
            RecipientFacts(recipient=a, feedback_type=ftype, timestamp=one_line(arrival),
                           evidence=[f"Feedback-Type: {ftype}"], labels={"feedback_type": ftype} if ftype else {})
            for a in dict.fromkeys(rcpts)
        ] or [RecipientFacts(recipient=None, feedback_type=ftype, evidence=[f"Feedback-Type: {ftype}"])]
        return new_facts(self.name, msg, recipients, kind="feedback",
                         reporting_mta=one_line(strip_dsn_type(fields.get("reporting-mta"))),
                         original=original)


DECODER = ARF()
