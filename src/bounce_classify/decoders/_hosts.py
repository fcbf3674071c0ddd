"""The hosts a text bounce names: the server that refused, and the one that wrote the report.

A delivery-status part says both in its Remote-MTA and Reporting-MTA fields.  A bounce
written only as text says them in its own words, and those words are few and fixed:

- the remote server, where its reply is quoted: Postfix's "host mx.example.org[192.0.2.1]
  said:" and "connect to mx.example.org[192.0.2.1]:", Exim's "host mx.example.org
  [192.0.2.1]:", Sendmail's "while talking to mx.example.org.:", Exchange's "Remote server
  at mx.example.org (192.0.2.1) returned", hMailServer's "Remote server (192.0.2.1) issued
  an error.", DragonFly's "mx.example.org [192.0.2.1] did not like our RCPT TO", and qmail's
  "Connected to 192.0.2.1 but ...", "192.0.2.1 does not like recipient." and "Giving up on
  192.0.2.1.";
- the reporting server, in the greeting ("This is the mail system at host mx.example.net.",
  "This is the qmail-send program at mx.example.net."), in a Reporting-MTA field written into
  the text, or in the Received line the bounce got where it was made ("from mailnull by
  mx.example.net with local (Exim ...)").

A host a remote quotes about the sender ("Client host [192.0.2.9] blocked", "<out.example.com
[192.0.2.9]>: Client host rejected") is never taken: every form here names the server that
spoke, not one it spoke about.
"""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message

HOST_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?){1,10}"
HOST_IP = r"\d{1,3}(?:\.\d{1,3}){3}|(?:IPv6:)?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"

# Each form starts at a fixed cue; the text is searched for the cues with str.find (fast)
# and a form is matched only where its cue stands.  A cue that follows the host (qmail's
# "does not like", DragonFly's "did not like") is matched from the line or text start.
_AFTER_CUE = lazy_re(
    r"(?:host|connect to|conversation with|lost connection with)\s+(?P<n1>" + HOST_NAME + r")\s?\[(?P<i1>" + HOST_IP + r")\]"
    r"|while talking to\s+(?P<n2>" + HOST_NAME + r")\.?:"
    r"|server\s+(?P<n3>" + HOST_NAME + r")\s?\[(?P<i3>" + HOST_IP + r")\]\s+failed\b"
    r"|remote server at\s+(?P<n4>" + HOST_NAME + r")\s*\((?P<i4>" + HOST_IP + r")\)"
    r"|(?:connected to|giving up on)\s+(?P<i6>\d{1,3}(?:\.\d{1,3}){3})\b"
    r"|remote server \((?P<i8>" + HOST_IP + r")\) issued\b"
    # Sendmail's deferrals: "Deferred: Connection timed out with mx.example." / "refused by"
    r"|connection (?:timed out with|refused by|reset by)\s+(?P<n9>" + HOST_NAME + r")\.?(?=\s|$)",
    re.I,
)
_REMOTE_CUES = ("host ", "connect to", "conversation with", "lost connection with", "while talking to",
                "server ", "remote server", "connected to", "giving up on", "connection ")
_BEFORE_CUE = lazy_re(
    r"(?P<n5>" + HOST_NAME + r")\s?\[(?P<i5>" + HOST_IP + r")\]\s+did not like\b"
    r"|(?P<i7>\d{1,3}(?:\.\d{1,3}){3}) does not like (?:recipient|sender)\b",
    re.I,
)
_REPORTER = lazy_re(
    r"This is the (?:mail system|qmail-send program|James mail server|\w+ mail system) at (?:host )?"
    r"(?P<n>" + HOST_NAME + r")\.?(?:\s|$)",
    re.I,
)
# a report's fields written into its text rather than a delivery-status part (Barracuda's
# "Reporting-MTA: dns; host", MailMarshal's "Reporting-MTA:      <host>")
_REPORTING_FIELD = lazy_re(r"Reporting-MTA:[ \t]*<?(?:dns;[ \t]*)?(?P<n>" + HOST_NAME + r")\b", re.I)
# the Received line a bounce gets where it is written: Exim's "from mailnull by HOST with
# local", DragonFly's "from MAILER-DAEMON id 1 by HOST", Mail.ru's "from mail by HOST with local",
# and one with no "from" at all (Postfix's "by HOST (Postfix) id ..."), which no client sent
_MADE_AT = lazy_re(
    r"\s*from\s+(?:mailnull|MAILER-DAEMON|mail|Debian-exim|exim)(?:\s+id\s+\S+)?\s+by\s+(?P<n>" + HOST_NAME + r")\b"
    r"|\s*by\s+(?P<p>" + HOST_NAME + r")\b",
    re.I,
)
_WITH_LOCAL = lazy_re(r"\bby\s+(?P<m>" + HOST_NAME + r")\s+with\s+local\b", re.I)
_SCAN = 4000  # the hosts stand in the reply or the greeting, near the top


def _host(m: re.Match[str]) -> str | None:
    """The name a match gives, else its address: a name says more to a person than an IP."""
    groups = m.groupdict()
    for key in ("n1", "n2", "n3", "n4", "n5", "n9", "n", "m", "p"):
        name = groups.get(key)
        if name and any(c.isalpha() for c in name):
            return name.rstrip(".").lower()
    for key in ("i1", "i3", "i4", "i5", "i6", "i7", "i8"):
        if groups.get(key):
            return groups[key]
    return None


def _word_start(text: str, at: int) -> bool:
    return at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_")


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _remote_in(text: str) -> str | None:
    text = text[:_SCAN]
    low = text.lower()
    if len(low) != len(text):  # a few letters lower-case to two ("İ"): keep the offsets aligned
        low = text.translate(_ASCII_LOWER)
    best: tuple[int, str] | None = None
    for cue in _REMOTE_CUES:
        at = low.find(cue)
        while at >= 0 and (best is None or at < best[0]):
            if _word_start(low, at):
                m = _AFTER_CUE.match(text, at)
                if m:
                    host = _host(m)
                    if host:
                        best = (at, host)
                        break
            at = low.find(cue, at + 1)
    for cue in ("did not like", "does not like"):
        at = low.find(cue)
        if at > 0 and (best is None or at < best[0]):
            line = low.rfind("\n", 0, at) + 1
            m = _BEFORE_CUE.match(text, line)
            if m is None:
                space = text.rfind(" ", 0, at - 1) + 1
                m = _BEFORE_CUE.match(text, space)
            if m:
                host = _host(m)
                if host:
                    best = (m.start(), host)
    return best[1] if best else None


def remote_host(*texts: str | None) -> str | None:
    """The server whose reply the text quotes, from the first text that names one."""
    for text in texts:
        if text:
            host = _remote_in(text)
            if host:
                return host
    return None


def reporting_host(msg: Message, text: str | None) -> str | None:
    """The server that wrote the bounce, from its greeting or the Received line it made."""
    if text:
        at = text.find("This is the", 0, _SCAN)
        if at < 0:
            at = text[:_SCAN].translate(_ASCII_LOWER).find("this is the")
        if at >= 0:
            m = _REPORTER.match(text, at)
            if m:
                return _host(m)
        at = text.find("Reporting-MTA:", 0, _SCAN)
        if at >= 0:
            m = _REPORTING_FIELD.match(text, at)
            if m:
                return _host(m)
    for value in reversed(msg.headers.get_all("received")[:8]):
        head = value[:500]
        m = _MADE_AT.match(head)
        if m is None and "with local" in head.lower():
            m = _WITH_LOCAL.search(head)
        if m:
            return _host(m)
    return None
