"""Finding recipients and their error text in human-readable bounce text.

Most plain-text bounces share one shape: a preamble, then one block per failed
recipient (an address line followed by the error), then the returned
original.  The scanner here reads that shape; MTA decoders tune it with their
own markers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ..lazyre import lazy_re
from ..model import RecipientFacts
from ._common import (
    ADDRESS,
    SESSION_START,
    clean_address,
    cut_at_original,
    detect_command,
    first_reply_code,
    first_status,
    one_line,
)
from ._dsn import DSN_FIELDS

# An address that opens a recipient block, in the forms real MTAs write.
_RCPT_LINE = lazy_re(
    r"^\s*(?:>>>\s*|[*\u2022]\s+|--?\s+)?(?:"
    r"(?:RCPT TO|(?:[A-Za-z]+[ -]){0,2}Recipient(?: address)?|Original[- ]Recipient|Final[- ]Recipient|"
    r"Address|To|Destinataire|Empf\u00e4nger|Unzustellbar an|Destinatario)\s*:\s*"
    r"|\(?(?:[\w ,']{0,40}?\s)?addressed to\s+"
    r")?[<\"'(\[]?(?:rfc822;\s*|smtp:)?(" + ADDRESS.pattern + r")[>\"')\]]?"
    r"(?P<after>\s*(?:\.\.\.|:|,|\s-\s|;|\s+\(|\s+<)?.*)$",
    re.I,
)
# Words that show a line with an address is an error line, not a header echo.
_NOISE_LINE = lazy_re(
    r"^\s*(?:From|Sender|Reply-To|Return-Path|Message-ID|In-Reply-To|References|Subject|Date|Cc|Bcc|"
    r"Received|X-[\w-]+|Envelope-From|Delivered-To|Errors-To|List-[\w-]+)\s*:",
    re.I,
)
_ERROR_WORDS = lazy_re(
    r"\b(?:unknown|not found|no such|incorrect|does not exist|doesn't exist|unavailable|rejected|refused|"
    r"denied|failed|failure|error|invalid|disabled|full|quota|blocked|expired|unable|couldn't|"
    r"could not|cannot|can't|timed? ?out|said|too large|exceeded|not (?:a )?valid|spam|policy|"
    r"inactive|suspended|unrouteable|unroutable|undeliverable|permanent|temporary|not listed|"
    r"not a member|no mx record|no mx|blacklisted|blocklisted|denylisted|banned|not allowed|not permitted|did not reach|not reached|exceeds|doesn't have|does not have|not responding|failing|no smtp service|no valid recipients|not be delivered|"
    r"not known|no longer (?:valid|exists?|in use|active|accepts?)|did not receive|not (?:yet )?been delivered|did not respond|"
    r"loops\s+back|mail\s+loop|looping|loop detected|too many hops|hop count|lost\s+connection|"
    r"connection (?:refused|reset|closed)|not offered|not verified|certificate|starttls|tls is required|"
    r"does not accept mail|null ?mx|unreachable|no route to host|gr[ae]ylist(?:ed|ing)?|try again later|deferred|"
    r"non-?existent|too long|forbidden|closed\s+connection|discarded|not available)\b|"
    r"(?<![\d.])[45]\d\d(?![\d.])|\b[45]\.\d{1,3}\.\d{1,3}\b|"
    # the same in French, German, Spanish, Portuguese, Italian and Dutch NDRs ...
    r"\b(?:inconnue?|inexistante?|introuvable|invalide|n'existe pas|pleine|d\u00e9sactiv\u00e9|desactive|"
    r"unbekannte?r?|existiert nicht|voll|gesperrt|deaktiviert|fehlgeschlagen|"
    r"desconocido|no existe|lleno|inexistente|desactivada|suspendida|"
    r"desconhecido|n\u00e3o existe|nao existe|cheia|desativada|suspensa|"
    r"sconosciuto|non esiste|inesistente|piena|onbekende?|bestaat niet)\b|"
    # ... Russian, Polish, Swedish, Norwegian, Danish, Turkish and Czech (stems: words inflect)
    r"\b(?:\u043d\u0435\u0438\u0437\u0432\u0435\u0441\u0442\u043d|\u043d\u0435 \u043d\u0430\u0439\u0434\u0435\u043d|\u043d\u0435 \u0441\u0443\u0449\u0435\u0441\u0442\u0432\u0443\u0435\u0442|\u043f\u0435\u0440\u0435\u043f\u043e\u043b\u043d\u0435\u043d|\u0437\u0430\u0431\u043b\u043e\u043a\u0438\u0440\u043e\u0432\u0430\u043d|"
    r"nie istnieje|nieznany|pe\u0142na|pelna|zablokowan|finns inte|finnes ikke|findes ikke|ok\u00e4nd|ukjent|ukendt|"
    r"bulunamad|bilinmeyen|kutusu dolu|neexistuje|nezn\u00e1m|pln\u00e1)|"
    # ... and in Japanese and Chinese, where words have no spaces to bound them
    r"\u5b58\u5728\u3057\u307e\u305b\u3093|\u65e0\u6cd5|\u7121\u6cd5|\u5931\u8d25|\u4e0d\u5b58\u5728|\u5df2\u6ee1|\u5df2\u6eff|\u898b\u3064\u304b\u308a\u307e\u305b\u3093|"
    r"\u5b9b\u5148\u4e0d\u660e|\u5bb9\u91cf|\u5931\u6557|\u3067\u304d\u307e\u305b\u3093",
    re.I,
)


class Block:
    """One recipient's lines of text.  ``breaks`` holds len(lines) at each paragraph break;
    ``listed`` says the address stands in a list under a heading like _LIST_HEADING;
    ``indent`` is the indentation of the line that opened it with the address, or -1."""

    __slots__ = ("recipient", "lines", "breaks", "listed", "indent")

    def __init__(self, recipient: str, lines: list[str] | None = None, listed: bool = False,
                 indent: int = -1) -> None:
        self.recipient = recipient
        self.lines: list[str] = [] if lines is None else lines
        self.breaks: list[int] = []
        self.listed = listed
        self.indent = indent

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# A DSN field line ends an error block, and the returned original's first header ends the
# scan, even without a blank line before them: a bounce quoted in a forward loses its MIME
# parts and its blank lines.  A Diagnostic-Code line may still open a block of its own.
_DSN_FIELD = lazy_re(r"[>\s]*(?:" + "|".join(sorted(DSN_FIELDS - {"diagnostic-code"})) + r")\s*:", re.I)
_DIAGNOSTIC_FIELD = lazy_re(r"[>\s]*Diagnostic-Code\s*:", re.I)
_ORIGINAL_STARTS = lazy_re(r"[>\s]*(?:Return-Path|Received)\s*:", re.I)
_ECHO_OPENER = lazy_re(r"\s*To\s*:", re.I)
_ECHO_NEXT = lazy_re(r"\s*(?:Subject|Sent|Date|Cc)\s*:", re.I)
# The heading of a list of failed addresses ("The following recipients did not receive your
# message:", "Delivery to the following recipients failed permanently:"): it says which
# addresses failed, not why, so it closes the block above it and is nobody's diagnostic.
_LIST_HEADING = lazy_re(r"\bfollowing\b.{0,80}?\b(?:recipients?|address(?:es|\(es\))?|destinations?)\b|"
                        r"\baddress(?:es|\(es\))? to which\b", re.I)
MAX_HEADING = 200  # a heading is one short line; a longer one is prose, or hostile


def is_list_heading(line: str) -> bool:
    """One short line, naming no address, that ends in ":" and introduces failed addresses."""
    line = line.strip()
    return 0 < len(line) <= MAX_HEADING and line[-1] == ":" and "@" not in line and "\n" not in line \
        and _LIST_HEADING.search(line) is not None

# "(expanded from: alias@...)" under an address: the sender wrote the alias, the MTA expanded it
_EXPANDED = lazy_re(r"\s*\(?expanded from:?\s*<?(" + ADDRESS.pattern + r")>?\)?", re.I)
# The report's closing courtesy ("Please reply to postmaster@... if you feel this message to be
# in error"): it ends the list above it and is no recipient's error
_CLOSING = lazy_re(r"\s*(?:please (?:reply|write|respond) to|if you (?:feel|believe|think) (?:this|that))\b", re.I)
# A line at the left margin that opens a transcript entry of its own
_NEW_ENTRY = lazy_re(r"(?:[45]\d\d[ -]|<<< |" + SESSION_START + ")", re.I)


def scan_blocks(text: str, exclude: Iterable[str] = (), rcpt_line: re.Pattern[str] = _RCPT_LINE,
                stop: re.Pattern[str] | None = None, strict: bool = False) -> list[Block]:
    """Blocks of (address line + following lines up to a blank line or the next address).

    ``strict`` takes only addresses that open a line, not ones quoted inside an error line.
    """
    excluded = {e.lower() for e in exclude if e}
    blocks: list[Block] = []
    current: Block | None = None
    blank_run = 0
    prev = ""
    under_heading = False
    aliases: dict[str, Block] = {}  # an alias -> the block of the address it expanded to
    for line in text.split("\n"):
        if stop is not None and stop.search(line):
            break
        stripped = line.strip()
        if not stripped:
            if current is not None and current.lines and blank_run == 0:
                current.breaks.append(len(current.lines))
                if _has_code(current.text) or len(current.breaks) >= 3:
                    current = None
            blank_run += 1
            continue
        blank_run = 0
        if blocks and _ORIGINAL_STARTS.match(line):
            break  # the returned original's headers: no more errors below
        if _DSN_FIELD.match(line):
            current = None
            continue
        if is_list_heading(stripped):
            current = None
            under_heading = True
            continue
        if _CLOSING.match(line):
            current = None
            continue
        if current is not None and current.lines and _DIAGNOSTIC_FIELD.match(line):
            current = None
        if current is not None and _NEW_ENTRY.match(line) and _has_code(current.text) \
                and not (current.lines and current.lines[-1][:4] == line[:3] + "-"):
            # a transcript's next entry ("550 example.org (smtp)... Host unknown", "While
            # talking to ..."): the block with its reply is complete; a multi-line reply
            # ("550-..." then "550 ...") stays together
            current = None
        if current is not None and not current.lines and current is blocks[-1] \
                and _ECHO_OPENER.match(prev) and _ECHO_NEXT.match(line):
            # "To: addr" then "Subject: ..." is the returned message's headers echoed in a
            # summary ("Your message\n To: ...\n Subject: ...\n Sent: ..."), not an error block
            blocks.pop()
            current = None
        prev = line
        if current is not None and "@" in line:
            expanded = _EXPANDED.match(line)
            if expanded:
                alias = clean_address(expanded.group(1))
                if alias:
                    aliases[alias] = current
                continue
        if "@" in line and not _NOISE_LINE.match(line):
            m = rcpt_line.match(line)
            if m:
                addr = clean_address(m.group(1))
                if addr and current is not None and current.lines and not current.breaks \
                        and 0 <= current.indent < len(line) - len(line.lstrip()) \
                        and (addr == current.recipient or "in reply to" not in current.lines[-1].lower()):
                    # a wrapped reply whose next line, indented under the address it is about,
                    # opens with an address: its own ("(addr:blocked)" under Postfix's "<addr>:
                    # host ... said:") or the sender's ("<sender>: Sender address rejected")
                    current.lines.append(stripped)
                    continue
                if addr and addr not in excluded:
                    after = m.group("after") or ""
                    after = after.lstrip(" .:,;-")
                    current = Block(addr, [after] if after.strip() else [], listed=under_heading,
                                    indent=len(line) - len(line.lstrip()))
                    blocks.append(current)
                    continue
            elif _has_error(line) and not strict:
                # "... not accepting mail from list@example.org:" names the sender, not a recipient
                found = [a for a in (clean_address(x.group(0)) for x in ADDRESS.finditer(line)
                                     if not _FROM_BEFORE.search(line, 0, x.start())
                                     and not _SENDER_AFTER.match(line, x.end())) if a]
                found = [a for a in found if a not in excluded]
                if found and current is not None and _QUOTED_REPLY.match(line):
                    # qmail's "Remote host said: 550 <addr>: ..." under "<rcpt>:" quotes the
                    # server's reply about the block's recipient, whatever address it names
                    current.lines.append(stripped)
                    continue
                if len(found) == 1 and found[0] in aliases:
                    # an error that names the alias the sender wrote belongs to its expansion
                    current = aliases[found[0]]
                    if not _has_error(current.text):
                        current.lines, current.breaks = [], []  # what came between is no error
                    current.lines.append(stripped)
                    continue
                if len(found) == 1 and current is not None \
                        and 0 <= current.indent < len(line) - len(line.lstrip()):
                    # indented under the address it is about (Exim: the address at two spaces,
                    # its reply at four): the address in the reply, another ("mail for this user
                    # goes to x@example.org") or the same ("after RCPT TO:<addr>:"), is part of
                    # that reply, not a second recipient, and the lines above it stay
                    current.lines.append(stripped)
                    continue
                if len(found) == 1:
                    # an error line naming the block's own address is still under that address
                    indent = current.indent if current is not None and current.recipient == found[0] else -1
                    current = Block(found[0], [stripped], indent=indent)
                    blocks.append(current)
                    continue
        if current is not None:
            current.lines.append(stripped)
        else:
            under_heading = False
    return blocks


# a paragraph break: one blank line or more, spaces on them too
_PARAGRAPH_BREAK = lazy_re(r"\n\s*\n")
_FROM_BEFORE = lazy_re(r"\b(?:mail )?from:?\s*<?$", re.I)
_QUOTED_REPLY = lazy_re(r"\s*remote host said:", re.I)
# "<addr>: Sender address rejected", "<addr>... Sender domain must exist": the sender's address
_SENDER_AFTER = lazy_re(r"[>\s:.,]*sender\b", re.I)
_CODE = lazy_re(r"(?<![\d.])[45]\d\d(?![\d.])|\b[45]\.\d{1,3}\.\d{1,3}\b")


def _has_code(text: str) -> bool:
    return bool(_CODE.search(text))


def _has_error(text: str) -> bool:
    # error words stand near the start of a line or paragraph; a megabyte "line" (an attachment
    # read as text) is searched only as far as any paragraph is
    return bool(_ERROR_WORDS.search(text, 0, MAX_PARAGRAPH))


has_error = _has_error


def block_facts(block: Block) -> RecipientFacts:
    lines = block.lines
    if block.breaks and _has_error("\n".join(lines[:block.breaks[0]])) \
            and not _has_error("\n".join(lines[block.breaks[0]:])):
        # the verdict is the first paragraph; what follows it says nothing of the failure
        # ("The original message is attached.", "Please try again later.")
        lines = lines[:block.breaks[0]]
    elif block.breaks and not _has_error("\n".join(lines[:block.breaks[0]])):
        # the verdict comes after paragraphs that only describe the message ("Size (in
        # bytes): 1024", then "Error message below: 550 ..."): start at the first that has it
        bounds = [*block.breaks, len(lines)]
        first = next((start for start, end in zip(bounds, bounds[1:], strict=False)
                      if _has_error("\n".join(lines[start:end]))), None)
        if first is not None:
            lines = lines[first:]
    diag = one_line("\n".join(lines))
    return RecipientFacts(
        recipient=block.recipient,
        status=first_status(diag),
        reply_code=first_reply_code(diag),
        diagnostic=diag,
        smtp_command=detect_command(diag),
        evidence=[block.recipient] + block.lines[:6],
    )


def merge_blocks(blocks: list[Block]) -> list[Block]:
    """One block per address: the same address twice keeps the more informative text."""
    seen: dict[str, Block] = {}
    order: list[str] = []
    for b in blocks:
        prev = seen.get(b.recipient)
        if prev is None:
            seen[b.recipient] = b
            order.append(b.recipient)
        elif _has_error(b.text) and not _has_error(prev.text):
            seen[b.recipient] = b
        elif _has_error(b.text) and b.text not in prev.text:
            prev.lines.extend(b.lines)
    return [seen[a] for a in order]


def scan_recipients(text: str, exclude: Iterable[str] = ()) -> list[RecipientFacts]:
    """The generic reading: every address block with error words in it.

    Addresses in ``exclude`` (the bounce's own From and To) are skipped, unless nothing else is
    found: people test by mailing themselves, so the failed address can be the bounce's To.
    """
    text = _unquote(text)
    found = _scan(text, exclude)
    excluded = [e for e in exclude if e]
    if not found and excluded:
        found = _scan(text, excluded[:1], strict=True)
    if not found:
        found = transcript_recipients(text)
    return found


# Exim names a pipe or file delivery by its command or path, and hides an alias's target as
# "an undisclosed address"; the line below gives the address it was for
_GENERATED_BY = lazy_re(r"^[ \t]*(?:pipe to \|[^\n]*|save to [^\n]*|[/|][^\n]*|an undisclosed address)\n"
                        r"[ \t]+\(?generated (?:by|from) ([^\s()]+@[^\s()]+)\)?", re.I | re.M)


def _unquote(text: str) -> str:
    """A bounce quoted in a reply or forward ("> " on most lines) read without the quoting."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if len(lines) < 4 or sum(ln.startswith(">") for ln in lines) * 2 < len(lines):
        return text
    return "\n".join(ln[2:] if ln.startswith("> ") else ln[1:] if ln.startswith(">") else ln
                     for ln in text.split("\n"))


def _scan(text: str, exclude: Iterable[str], strict: bool = False) -> list[RecipientFacts]:
    body = _GENERATED_BY.sub(r"  \1", cut_at_original(text))
    blocks = merge_blocks(scan_blocks(body, exclude, strict=strict))
    failed = [_has_error(b.text) for b in blocks]
    if not all(failed):
        # "was not delivered to:\n\n  addr\n\nbecause:\n\n  reason": the address stands
        # alone and the reason is in a nearby paragraph, after it or before it.  When other
        # addresses carry their own errors, a bare address counts only under a list heading:
        # elsewhere it is an address the explanation mentions.
        paragraphs = [p for p in _PARAGRAPH_BREAK.split(body) if p.strip()]
        alone = not any(failed)
        for i, b in enumerate(blocks):
            if failed[i] or not (alone or b.listed):
                continue
            reason = _nearby_error(paragraphs, b.recipient)
            if reason or b.listed:
                b.lines = [reason] if reason else []
                failed[i] = True
    return [block_facts(b) for b, ok in zip(blocks, failed, strict=True) if ok]


# a paragraph of a bounce's explanation is a few lines; a megabyte "paragraph" is an
# attachment or a base64 blob, and reading it as prose only costs time
MAX_PARAGRAPH = 20000


def _nearby_error(paragraphs: list[str], address: str) -> str | None:
    paragraphs = [p if len(p) <= MAX_PARAGRAPH else "" for p in paragraphs]
    at = next((i for i, p in enumerate(paragraphs) if address in p.lower()), None)
    if at is None:
        return None
    order = list(range(at + 1, min(at + 4, len(paragraphs)))) + list(range(at - 1, max(at - 4, -1), -1))
    for i in order:
        para = paragraphs[i]
        if _has_error(para) and not ADDRESS.search(para) and not is_list_heading(para):
            return one_line(para)
    own = [ln for ln in paragraphs[at].split("\n") if address not in ln.lower()]
    if _has_error("\n".join(own)):
        return one_line("\n".join(own))
    return None


_BARE_NAME = lazy_re(r"^[ \t]+([A-Za-z0-9][A-Za-z0-9._+-]{0,63})[ \t]*$")
_DAEMON_LOCAL = ("mailer-daemon", "postmaster", "maildaemon", "mail-daemon")


def bare_listed_names(text: str) -> tuple[str, list[str]] | None:
    """Local parts listed alone under an error heading about recipients, and that heading.

    A final MTA reporting on its own users may name them without a domain (AOL's "Your mail to
    the following recipients could not be delivered because ...:" then a screen name on each
    indented line).
    """
    lines = cut_at_original(text).split("\n")
    for i, line in enumerate(lines):
        if not line.rstrip().endswith(":"):
            continue
        start = i
        while start > 0 and lines[start - 1].strip() and i - start < 4:
            start -= 1
        head = one_line("\n".join(lines[start:i + 1])) or ""
        if "recipient" not in head.lower() or not _has_error(head):
            continue
        names: list[str] = []
        for nxt in lines[i + 1:]:
            m = _BARE_NAME.match(nxt)
            if m is None:
                break
            names.append(m.group(1))
        if names:
            return head, names
    return None


def reporter_domain(sender: str | None) -> str | None:
    """The domain of a bounce's From when it is the mail system itself (MAILER-DAEMON@, postmaster@)."""
    addr = clean_address(sender)
    if not addr:
        return None
    local, _, domain = addr.partition("@")
    return domain if local in _DAEMON_LOCAL and "." in domain else None


def paragraph_with(text: str, needle: str) -> str | None:
    """The paragraph of ``text`` that mentions ``needle`` and reads like an error."""
    body = cut_at_original(text)
    low = body.lower()
    idx = low.find(needle.lower())
    while idx >= 0:
        start = body.rfind("\n\n", 0, idx)
        end = body.find("\n\n", idx)
        para = body[start + 2 if start >= 0 else 0: end if end >= 0 else len(body)]
        at = para.lower().find(needle.lower())
        rest = own_lines(para[at + len(needle):], needle, para.rfind("\n", 0, at) + 1, para)
        if _has_error(rest):
            return one_line(rest.lstrip(" >:.,;-"))
        # the error may be in the next paragraph (address on its own line), unless that is the
        # report's own notice ("this mail cannot be replied to") or the heading of a list of
        # addresses ("The address to which the message has not yet been delivered is:"), which
        # may be wrapped over two lines
        if end >= 0:
            nxt_end = body.find("\n\n", end + 2)
            nxt = body[end + 2: nxt_end if nxt_end >= 0 else len(body)]
            if _has_error(nxt) and "@" not in nxt.split("\n", 1)[0] and not _NOTICE.search(nxt) \
                    and not is_list_heading(" ".join(nxt[:MAX_HEADING * 2].split())) \
                    and not _starts_a_line(nxt, needle):  # else its own line there says more
                return one_line(nxt)
        idx = low.find(needle.lower(), idx + 1)
    return None


def _starts_a_line(text: str, needle: str) -> bool:
    """Does a line of ``text`` begin with ``needle`` (or "<needle")?"""
    low, want = text.lower(), needle.lower()
    at = low.find(want)
    while at >= 0:
        if not low[low.rfind("\n", 0, at) + 1:at].strip(" \t<"):
            return True
        at = low.find(want, at + 1)
    return False


# A line that starts with an address: in a list of "address: reason" lines, the next entry.
_ADDRESS_LINE = lazy_re(r"^([ \t]*)<?(" + ADDRESS.pattern + r")>?(?::|\s|$)", re.M)


def own_lines(rest: str, needle: str, line_start: int, para: str) -> str:
    """``rest`` up to the next line that starts with another address, no deeper indented
    than the line of ``needle``: the next entry of a list, not a continuation of this one
    (Postfix indents a wrapped reply, which may well begin with an address)."""
    eol = para.find("\n", line_start)
    line = para[line_start:eol if eol >= 0 else len(para)]
    indent = len(line) - len(line.lstrip(" \t"))
    first_break = rest.find("\n")
    if first_break < 0:
        return rest
    for m in _ADDRESS_LINE.finditer(rest, first_break + 1):
        if len(m.group(1)) <= indent and m.group(2).lower() != needle.lower():
            return rest[:m.start()]
    return rest


# The report's own notices, whose words ("cannot", "できません") are no error of the recipient's
_NOTICE = lazy_re(r"\b(?:do not|don't|cannot|can't) (?:reply|respond)|unattended mailbox|"
                  r"\u8fd4\u4fe1\u3067\u304d\u307e\u305b\u3093|\u8fd4\u4fe1\u3057\u306a\u3044", re.I)


_LABELLED_ERROR = lazy_re(r"^[ \t]*(?:Error|Reason|Diagnostic)[ \t]*:[ \t]*(\S[^\n]{0,300})$", re.I | re.M)
_REPLY_OR_STATUS = lazy_re(r"(?<![\d.])[45]\d\d[\s-]|\b[45]\.\d{1,3}\.\d{1,3}\b")


def error_paragraph(text: str) -> str | None:
    """The first paragraph with an SMTP reply or status code in it, else an "Error: ..." line.

    Gateways that do not speak SMTP to the next hop (an MMS centre, a mobile carrier) state
    the failure on a labelled line ("Error: No valid recipients for this MM") instead.
    """
    body = cut_at_original(text)
    for para in _PARAGRAPH_BREAK.split(body):
        if _REPLY_OR_STATUS.search(para):
            return one_line(para)  # _finalize drops a separator heading over it
    for m in _LABELLED_ERROR.finditer(body):
        if _has_error(m.group(1)):
            return one_line(m.group(1))
    return None


def attach_diagnostics(recipients: list[RecipientFacts], human: str) -> None:
    """Fill a missing diagnostic from the human-readable text around the address."""
    if not human:
        return
    for r in recipients:
        if r.diagnostic or not r.recipient:
            continue
        found = paragraph_with(human, r.recipient)
        if found:
            r.diagnostic = found
            r.reply_code = r.reply_code or first_reply_code(found)
            r.smtp_command = r.smtp_command or detect_command(found)


_MAILER_REPLY = lazy_re(r"^[ \t]*([45]\d\d)[ -]([45]\.\d{1,3}\.\d{1,3}\b)?[^\n]*$", re.M)
_TRANSCRIPT_HEAD = lazy_re(r"-{3,}\s*Transcript of session follows\s*-{3,}", re.I)


def attach_mailer_replies(recipients: list[RecipientFacts], human: str) -> None:
    """Give a local mailer's exit status the reply Sendmail wrote for it in the transcript.

    When a delivery program fails, the DSN's ``Diagnostic-Code: X-Unix; 75`` is only the
    program's exit status; the reply code and the enhanced status the MTA derived from it
    ("554 5.3.0 unknown mailer error 255") are in the transcript of the human-readable part.
    A DSN block with no Diagnostic-Code at all gets its reply from the transcript the same way.
    """
    if not human:
        return
    local = [r for r in recipients if not (r.diagnostic or "").strip()
             or (r.labels.get("diagnostic_type") == "x-unix" and (r.diagnostic or "").strip().isdigit())]
    if not local:
        return
    head = _TRANSCRIPT_HEAD.search(human)
    if head is None:
        return
    replies = list(_MAILER_REPLY.finditer(human, head.end(), head.end() + 4000))
    for r in local:
        mine = [m for m in replies if r.recipient and r.recipient in m.group(0).lower()]
        chosen = mine or (replies if len(local) == 1 else [])
        if not chosen:
            continue
        line = chosen[-1].group(0).strip()
        r.evidence.append(line)
        r.diagnostic = line
        r.reply_code = chosen[-1].group(1)


_TRANSCRIPT_SEND = lazy_re(r"^\s*>>>\s*(RCPT|MAIL|DATA|EHLO|HELO|STARTTLS|AUTH|BDAT|QUIT)\b", re.I)
_TRANSCRIPT_RECV = lazy_re(r"^\s*<<<\s*(.*)$")


def commands_from_transcript(text: str) -> dict[str, str]:
    """Which command each reply in a session transcript answered, keyed by recipient.

    Sendmail and friends show ``>>> RCPT To:<addr>`` / ``<<< 550 ...`` pairs;
    a reply after ``>>> DATA`` that names an address belongs to that address.
    The key ``""`` holds the last command that drew an error reply.
    """
    out: dict[str, str] = {}
    last_rcpt: str | None = None
    for command, sent, reply in _session(text, _TRANSCRIPT_SEND, _TRANSCRIPT_RECV):
        if reply is None:
            if command == "RCPT":
                last_rcpt = clean_address(sent)
            continue
        if reply[:1] not in ("4", "5"):
            continue
        addrs = [a for a in (clean_address(x.group(0)) for x in ADDRESS.finditer(reply)) if a]
        target = addrs[0] if addrs else (last_rcpt if command == "RCPT" else None)
        if target and target not in out:
            out[target] = command
        out.setdefault("", command)
    return out


def _session(text: str, send: re.Pattern[str], recv: re.Pattern[str]) -> Iterator[tuple[str, str, str | None]]:
    """Walk an SMTP session transcript: (command, the line sent, None) for each command
    sent, then (that command, its line, the reply) for each reply after it."""
    command: str | None = None
    sent = ""
    for line in text.split("\n"):
        m = send.match(line)
        if m:
            command, sent = m.group(1).upper(), line
            yield command, sent, None
            continue
        r = recv.match(line)
        if r and command:
            yield command, sent, r.group(1)


def attach_commands(recipients: list[RecipientFacts], human: str) -> None:
    """Fill a missing SMTP command from a session transcript in the report text."""
    if ">>>" not in human:
        return
    found = commands_from_transcript(human)
    if not found:
        return
    for r in recipients:
        if r.smtp_command is None:
            r.smtp_command = found.get(r.recipient or "") or (found.get("") if len(recipients) == 1 else None)


_IN_LINE = lazy_re(r"^\s*In:\s+(\S+)(.*)$")
_OUT_LINE = lazy_re(r"^\s*Out:\s+([45]\d\d[ -].*)$")


def transcript_recipients(text: str) -> list[RecipientFacts]:
    """Postfix's "Transcript of session follows" (``In:``/``Out:`` lines) for a failed session.

    The recipients are the RCPT TO arguments; the failure is the first 4xx/5xx reply, at the
    command sent just before it.
    """
    if "Out:" not in text or "In:" not in text:
        return []
    rcpts: list[str] = []
    for command, sent, reply in _session(text, _IN_LINE, _OUT_LINE):
        if reply is None:
            args = _IN_LINE.match(sent)
            a = clean_address(args.group(2).split("ORCPT")[0]) if command == "RCPT" and args else None
            if a:
                rcpts.append(a)
            continue
        if rcpts:
            reply = one_line(reply)
            return [RecipientFacts(recipient=a, status=first_status(reply), reply_code=first_reply_code(reply),
                                   diagnostic=reply, smtp_command=command, evidence=[f"Out: {reply}"])
                    for a in dict.fromkeys(rcpts)]
    return []
