"""Table-driven: how body and field bytes become text (message.decode_bytes)."""

from __future__ import annotations

import pytest

from bounce_classify.message import decode_bytes

JIS = "ユーザーは見つかりません".encode("iso-2022-jp")

CASES = [
    # (id, bytes, declared charset, expected text)
    ("utf-8", "Empfänger unbekannt".encode(), None, "Empfänger unbekannt"),
    ("declared latin-1", "Empfänger".encode("latin-1"), "iso-8859-1", "Empfänger"),
    ("undeclared 8-bit falls back to latin-1", "destinataire inconnu é".encode("latin-1"), None,
     "destinataire inconnu é"),
    ("iso-2022-jp by its escapes", JIS, None, "ユーザーは見つかりません"),
    ("iso-2022-jp with the escapes stripped", JIS.replace(b"\x1b", b""), "iso-2022-jp", "ユーザーは見つかりません"),
    ("stripped escapes, no charset", b"550 " + JIS.replace(b"\x1b", b""), None, "550 ユーザーは見つかりません"),
    ("dollar-B in plain text is left alone", b"price $B100 (B) ok", None, "price $B100 (B) ok"),
    ("unknown charset name", b"plain words", "x-no-such-charset", "plain words"),
    ("iso-2022-jp label over text re-encoded to UTF-8", "エラー(宛先不明)".encode(), "ISO-2022-JP",
     "エラー(宛先不明)"),
]


@pytest.mark.parametrize(("data", "charset", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decode_bytes(data: bytes, charset: str | None, expected: str) -> None:
    assert decode_bytes(data, charset) == expected


# --- dates: the quick RFC 5322 reader must agree with email.utils on every date it accepts ---

from datetime import datetime, timedelta, timezone  # noqa: E402
from email.utils import format_datetime, parsedate_to_datetime  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bounce_classify.decoders._common import iso_time  # noqa: E402


def _reference(value: str) -> str | None:
    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


DATE_CASES = [
    ("Thu, 9 Nov 2017 02:02:04 +0900", "2017-11-09T02:02:04+09:00"),
    ("Thu, 29 Apr 2010 23:34:45 +0900 (JST)", "2010-04-29T23:34:45+09:00"),
    ("29 Apr 2011 23:34:45 -0000", "2011-04-29T23:34:45"),
    ("Mon, 24 Nov 2014 17:15 +0000", "2014-11-24T17:15:00+00:00"),
    ("dns; Thu, 29 Apr 2004 23:34:45 +0000", "2004-04-29T23:34:45+00:00"),
    ("Sun, 23 Nov 2014 08:42:53 -0800 (PST)", "2014-11-23T08:42:53-08:00"),
    ("Wed, 14 Dec 2016 18:03:08 GMT", "2016-12-14T18:03:08+00:00"),  # a zone name: email.utils reads it
    ("2026-03-02T10:00:00Z", "2026-03-02T10:00:00+00:00"),
    ("Fri, 30 Feb 2026 10:00:00 +0000", None),
    ("not a date", None),
]


@pytest.mark.parametrize(("value", "expected"), DATE_CASES, ids=[c[0] for c in DATE_CASES])
def test_iso_time(value: str, expected: str | None) -> None:
    assert iso_time(value) == expected


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2099, 12, 31)),
       st.integers(min_value=-12 * 60, max_value=14 * 60))
def test_iso_time_agrees_with_email_utils(moment: datetime, offset_minutes: int) -> None:
    aware = moment.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=offset_minutes)))
    text = format_datetime(aware)
    assert iso_time(text) == _reference(text)


# --- addresses: how a field or a line of text becomes a bare recipient (clean_address) ---

from bounce_classify.decoders._common import clean_address  # noqa: E402

ADDRESS_CASES = [
    # (id, value, expected)
    ("rfc822 type and angle brackets", "rfc822; <Ann.Lee@Example.ORG>", "ann.lee@example.org"),
    ("X.400 gateway's dda:SMTP=", "c=US;a= ;p=HUB;o=Site;dda:SMTP=coach@firm.example;", "coach@firm.example"),
    ("UTF-8 local part with an emoji", "\U0001f408@cats.example", "\U0001f408@cats.example"),
    ("a whole field as an encoded word is decoded", "=?UTF-8?B?8J+QiEBjYXRzLmV4YW1wbGU=?=", "\U0001f408@cats.example"),
    # an encoded word the sender's client put in the envelope address is what the server was
    # asked for: kept as written
    ("encoded word inside the address is kept", "rfc822; =?utf-8?B?8J+QiA==?=@cats.example",
     "=?utf-8?b?8j+qia==?=@cats.example"),
    ("display name as an encoded word", "=?utf-8?q?J=C3=BCrgen?= <jurgen@firm.example>", "jurgen@firm.example"),
    ("no address", "undisclosed recipients", None),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in ADDRESS_CASES], ids=[c[0] for c in ADDRESS_CASES])
def test_clean_address(value: str, expected: str | None) -> None:
    assert clean_address(value) == expected


# --- list headings: the line above a list of failed addresses (decoders._textscan) ---

from bounce_classify.decoders._textscan import MAX_HEADING, is_list_heading  # noqa: E402

HEADING_CASES = [
    ("recipients did not receive", "The following recipients did not receive your message:", True),
    ("failed permanently", "Delivery to the following recipients failed permanently:", True),
    ("Exim's address(es)", "  The following address(es) failed:", True),
    ("Exim's delay wording", "The address to which the message has not yet been delivered is:", True),
    ("no colon: a sentence, not a heading", "The following recipients did not receive your message.", False),
    ("names an address", "The following recipients of list@example.org failed:", False),
    ("an error line ending in a colon", "SMTP error from remote mail server after RCPT TO:", False),
    ("over-long prose is never a heading", "the following recipients " * (MAX_HEADING // 10) + ":", False),
]


@pytest.mark.parametrize(("line", "expected"), [c[1:] for c in HEADING_CASES], ids=[c[0] for c in HEADING_CASES])
def test_is_list_heading(line: str, expected: bool) -> None:
    assert is_list_heading(line) is expected


SEPARATOR_CASES = [
    ("----- Transcript of session follows ----- 550 5.1.1 <a@x.example>... User unknown",
     "550 5.1.1 <a@x.example>... User unknown"),
    ("----- Non-delivered information ----- The mailbox is full.", "The mailbox is full."),
    ("*********************** Your message could not be delivered", "Your message could not be delivered"),
    ("--------Error Detail (phquery V4.1): no such user", "Error Detail (phquery V4.1): no such user"),
    ("550 5.7.1 rejected - see https://example.org/a-b--c", "550 5.7.1 rejected - see https://example.org/a-b--c"),
    ("==========", None),
]


@pytest.mark.parametrize(("diagnostic", "expected"), SEPARATOR_CASES)
def test_separator_rules_and_headings_leave_the_diagnostic(diagnostic: str, expected: str | None) -> None:
    from bounce_classify.decoders._finalize import normalise_recipients
    from bounce_classify.model import Facts, RecipientFacts

    facts = normalise_recipients(Facts("x", [RecipientFacts(recipient="a@x.example", diagnostic=diagnostic)]))
    assert facts.recipients[0].diagnostic == expected


# --- hosts named in a text bounce (decoders._hosts) ---

from bounce_classify.decoders._hosts import remote_host, reporting_host  # noqa: E402
from bounce_classify.message import Message  # noqa: E402

REMOTE_CASES = [
    ("Postfix reply", "host mx.shop.example[192.0.2.10] said: 550 5.1.1 no such user (in reply to RCPT TO command)",
     "mx.shop.example"),
    ("Postfix connection", "connect to mx.shop.example[192.0.2.10]:25: Connection timed out", "mx.shop.example"),
    ("Postfix lost connection", "lost connection with mx.shop.example[192.0.2.10] while sending RCPT TO",
     "mx.shop.example"),
    ("Exim", "SMTP error from remote mail server after RCPT TO:<a@shop.example>: host mx.shop.example "
     "[192.0.2.10]: 550 5.1.1 unknown", "mx.shop.example"),
    ("Exim with only an address", "host 192.0.2.10 [192.0.2.10]: 550 5.1.1 unknown", "192.0.2.10"),
    ("Sendmail", "... while talking to mx.shop.example.: >>> RCPT To:<a@shop.example> <<< 550 unknown",
     "mx.shop.example"),
    ("Exchange", "Remote Server at mx.shop.example (192.0.2.10) returned '550 5.1.1 unknown'", "mx.shop.example"),
    ("hMailServer", "Error Type: SMTP Remote server (192.0.2.10) issued an error. Remote server replied: 550 no",
     "192.0.2.10"),
    ("DragonFly", "mx.shop.example [192.0.2.10] did not like our RCPT TO: 550 5.1.1 unknown", "mx.shop.example"),
    ("MailFoundry", "Server mx.shop.example[192.0.2.10] failed with: 550 No such user here", "mx.shop.example"),
    ("qmail connected", "Connected to 192.0.2.10 but sender was rejected. Remote host said: 553 denied", "192.0.2.10"),
    ("qmail gave up", "Remote host said: 550 no mailbox Giving up on 192.0.2.10.", "192.0.2.10"),
    ("qmail, the first host it names", "192.0.2.10 does not like recipient. Giving up on 192.0.2.99.", "192.0.2.10"),
    ("the sender's host in a block-list reply", "554 5.7.1 Client host [203.0.113.9] blocked using zen.example",
     None),
    ("the sender's host in Postfix's client check",
     "554 5.7.1 <out.sender.example[203.0.113.9]>: Client host rejected: denied", None),
    ("no host at all", "550 5.1.1 User unknown", None),
    ("a letter that lower-cases to two before the host",
     "\u0130stanbul ofisi: host mx.shop.example[192.0.2.10] said: 550 unknown", "mx.shop.example"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in REMOTE_CASES], ids=[c[0] for c in REMOTE_CASES])
def test_remote_host(text: str, expected: str | None) -> None:
    assert remote_host(None, text) == expected


REPORTER_CASES = [
    ("Postfix greeting", [], "This is the mail system at host mx.sender.example.\n\nI'm sorry ...",
     "mx.sender.example"),
    ("qmail greeting", [], "Hi. This is the qmail-send program at mail.sender.example.\nI'm afraid ...",
     "mail.sender.example"),
    ("Exim's local Received line",
     ["from mx.relay.example by inbox.sender.example with ESMTP", "from mailnull by out.sender.example with local "
      "(Exim 4.96) id 1abc"], "This message was created automatically by mail delivery software.",
     "out.sender.example"),
    ("a Reporting-MTA field in the text", [], "Your message to: a@b.example\n\nReporting-MTA: dns; filter.rcpt.example\n",
     "filter.rcpt.example"),
    ("MailMarshal's field in brackets", [], "Reporting-MTA:      <gw.rcpt.example>\n", "gw.rcpt.example"),
    ("a Received line with no client", ["by out.sender.example (Postfix) id 4Z1; Tue, 3 Mar 2026"], "",
     "out.sender.example"),
    ("only relays' lines", ["from mx.relay.example (mx.relay.example [192.0.2.1]) by inbox.sender.example"], "",
     None),
]


@pytest.mark.parametrize(("received", "text", "expected"), [c[1:] for c in REPORTER_CASES],
                         ids=[c[0] for c in REPORTER_CASES])
def test_reporting_host(received: list[str], text: str, expected: str | None) -> None:
    head = "".join(f"Received: {r}\n" for r in received)
    msg = Message(f"{head}From: MAILER-DAEMON@sender.example\nSubject: x\n\n{text}\n".encode())
    assert reporting_host(msg, text) == expected


# --- auto-reply subjects, in the languages mail clients title them (decoders.autoreply) ---

from bounce_classify import classify  # noqa: E402

AUTOREPLY_SUBJECTS = [
    ("English", "Automatic reply: Quarterly figures", True),
    ("Spanish out of office", "Fuera de la oficina: Quarterly figures", True),
    ("French out of office", "Absent du bureau : Quarterly figures", True),
    ("Portuguese out of office", "Fora do escrit\u00f3rio: Quarterly figures", True),
    ("Italian out of office", "Fuori sede: Quarterly figures", True),
    ("Dutch absent", "Afwezig: Quarterly figures", True),
    ("Russian", "\u0410\u0432\u0442\u043e\u043e\u0442\u0432\u0435\u0442: Quarterly figures", True),
    ("Japanese", "\u81ea\u52d5\u8fd4\u4fe1: Quarterly figures", True),
    ("Chinese, simplified", "\u81ea\u52a8\u56de\u590d: Quarterly figures", True),
    ("Chinese, traditional", "\u81ea\u52d5\u56de\u8986: Quarterly figures", True),
    ("German, Outlook", "Automatische Antwort: Quarterly figures", True),
    ("Swedish and Danish, Outlook", "Autosvar: Quarterly figures", True),
    ("Norwegian out of office", "Frav\u00e6rsmelding: Quarterly figures", True),
    ("Turkish", "Otomatik yan\u0131t: Quarterly figures", True),
    ("Hungarian", "Automatikus v\u00e1lasz: Quarterly figures", True),
    ("Romanian", "R\u0103spuns automat: Quarterly figures", True),
    ("Greek", "\u0391\u03c5\u03c4\u03cc\u03bc\u03b1\u03c4\u03b7 \u03b1\u03c0\u03ac\u03bd\u03c4\u03b7\u03c3\u03b7: Quarterly figures", True),
    ("Korean", "\uc790\ub3d9 \ud68c\uc2e0: Quarterly figures", True),
    ("a subject that only mentions an office", "Office hours next week", False),
    ("a list's tag", "[vacation-club] Trip photos", False),
]


@pytest.mark.parametrize(("subject", "expected"), [c[1:] for c in AUTOREPLY_SUBJECTS],
                         ids=[c[0] for c in AUTOREPLY_SUBJECTS])
def test_autoreply_subject(subject: str, expected: bool) -> None:
    from email.header import Header

    encoded = Header(subject, "utf-8").encode()
    raw = (f"From: Colleague <colleague@example.org>\nTo: sender@example.com\nSubject: {encoded}\n"
           "Date: Tue, 3 Mar 2026 10:00:00 +0000\n\nI am away until Monday.\n").encode()
    kind = classify(raw)[0].kind
    assert (kind == "autoreply") is expected, kind


COMMAND_CASES = [
    ("Postfix RCPT", "host mx.example[192.0.2.1] said: 550 5.1.1 unknown (in reply to RCPT TO command)", "RCPT"),
    ("Postfix end of DATA", "said: 554 5.7.1 spam (in reply to end of DATA command)", "DATA"),
    ("Postfix refused greeting", "host mx.example[192.0.2.1] refused to talk to me: 421 Too many connections", "CONN"),
    ("Exim closed in response to end of data", "Remote host mx.example [192.0.2.1] closed connection in response to end of data", "DATA"),
    ("Exim after MAIL FROM", "SMTP error from remote mail server after MAIL FROM:<a@b.example>: 550 no", "MAIL"),
    ("Sendmail transcript", ">>> DATA\n<<< 554 5.6.0 malformed", "DATA"),
    ("qmail sender", "192.0.2.1 does not like sender.", "MAIL"),
    ("connection refused", "connect to mx.example[192.0.2.1]:25: Connection refused", "CONN"),
    ("no command named", "550 5.1.1 user unknown", None),
]


@pytest.mark.parametrize(("name", "text", "expected"), COMMAND_CASES, ids=[c[0] for c in COMMAND_CASES])
def test_the_smtp_command_is_read_from_the_mtas_words(name: str, text: str, expected: str | None) -> None:
    from bounce_classify.decoders._common import detect_command

    assert detect_command(text) == expected


# --- the addresses a report can name that are not the failed recipient (decoders._signals) ---

SENDER_CASES = [
    # (id, bounce header lines, original header lines, an address that must be among them)
    ("the report's To", "To: bounces@mailer.example\n", "", "bounces@mailer.example"),
    ("Delivered-To: the envelope sender the report went back to",
     "To: Orders <orders@shop.example>\nDelivered-To: bounces+7@mailer.shop.example\n", "",
     "bounces+7@mailer.shop.example"),
    ("X-Original-To", "To: orders@shop.example\nX-Original-To: bounce-77@lists.shop.example\n", "",
     "bounce-77@lists.shop.example"),
    ("Envelope-To (Exim)", "To: orders@shop.example\nEnvelope-to: vrp-9@shop.example\n", "", "vrp-9@shop.example"),
    ("the original's Return-Path", "To: orders@shop.example\n", "Return-Path: <srs0=ab@fwd.example>\n",
     "srs0=ab@fwd.example"),
]


@pytest.mark.parametrize(("bounce", "original", "expected"), [c[1:] for c in SENDER_CASES],
                         ids=[c[0] for c in SENDER_CASES])
def test_senders_name_where_the_report_went(bounce: str, original: str, expected: str) -> None:
    from bounce_classify.decoders._signals import senders

    msg = Message(f"From: MAILER-DAEMON@relay.example\n{bounce}Subject: failure notice\n\nx\n".encode())
    orig = Message(f"{original}From: orders@shop.example\n\nbody\n".encode()).headers if original else None
    assert expected in senders(msg, orig)


MTA_NAME_CASES = [
    ("gmail comment", "gmail-smtp-in.l.google.com. (2a00:1450:4013:c00::1a, the server for the domain gmail.com.)",
     "gmail-smtp-in.l.google.com"),
    ("address in parentheses", "mx.example.org (203.0.113.9)", "mx.example.org"),
    ("connection trace and greeting", "mx.example.jp (TCP|192.0.2.7|47323|192.0.2.225|25) (mx ESMTP)", "mx.example.jp"),
    ("address in brackets", "mx.example.org [192.0.2.95]", "mx.example.org"),
    ("bracketed address", "[192.0.2.222]", "192.0.2.222"),
    ("bracketed IPv6", "[IPv6:2001:db8::1]", "2001:db8::1"),
    ("root dot", "mx.example.org.", "mx.example.org"),
    ("daemon comment", "mta1.example.com (tcp-daemon)", "mta1.example.com"),
    ("plain name", "mx.example.org", "mx.example.org"),
    ("a name that is no host stays", "Dovecot Mail Delivery Agent", "Dovecot Mail Delivery Agent"),
    ("an X.400 name stays", "mta relay.example.ac.uk in /PRMD=AC/ADMD= /C=GB/", "mta relay.example.ac.uk in /PRMD=AC/ADMD= /C=GB/"),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in MTA_NAME_CASES], ids=[c[0] for c in MTA_NAME_CASES])
def test_mta_fields_give_the_host_without_its_comment(value: str, expected: str) -> None:
    from bounce_classify.decoders._finalize import mta_name
    assert mta_name(value) == expected
