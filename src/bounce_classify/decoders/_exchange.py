"""What Exchange's NDR layouts (on-premises and Online) have in common."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts, RecipientFacts
from ._common import (
    ADDRESS,
    MAX_LINE,
    address_in_line,
    body_text,
    clean_address,
    new_facts,
    one_line,
    original_from_text,
)
from ._signals import mark_delays
from ._textscan import attach_diagnostics

# The NDR's headings as Exchange writes them in English and in its other common languages.
_GENERATING = lazy_re(r"(?:Generating server|Serveur de g\u00e9n\u00e9ration|Generierender Server|Generando servidor|"
                      r"Servidor de gera\u00e7\u00e3o|Server di generazione)\s*:\s*(\S+)", re.I)
# "Remote Server returned '550 …'", or with the server named: "Remote Server at mx.example
# (192.0.2.1) returned '…'", and in delay notices "Server at mx.example (192.0.2.1) returned '…'"
_REMOTE_RETURNED = lazy_re(r"(?:Remote Server|(?:Remote )?Server at ([a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,10})"
                           r"(?: \([^)\n]{0,64}\))?) returned '([^'\n]*(?:'[^'\n]*)*?)'", re.I)
# A delay notice's own line, "400 4.4.7 Message delayed", says only that it is late; the dated
# line under it ("11/23/2026 3:12:54 PM - Server at … returned '…'") holds the last attempt's error.
_DELAYED_ONLY = lazy_re(r"4\d\d 4\.4\.7 Message delayed\s*$", re.I)
_HASH_FORM = lazy_re(r"#(?:<[^#>]*#)?\s*([245]\.\d{1,3}\.\d{1,3}[^#]*?|[245]\d\d[^#]*?)\s*##?", re.I)
# The remote server that gave the reply, when Exchange names it before the "#": "mx.example #550 ..."
_HASH_HOST = lazy_re(r"(?:^|\s)([a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){1,10})\s+#\s*[245]", re.I)
_SINGLE_LABEL = lazy_re(r"\s*<?([\w.+'=-]{1,64}@[\w-]{1,63})>?\s*$")
_ADMIN = lazy_re(r"(?:Diagnostic information for administrators|Informations de diagnostic pour les administrateurs|"
                 r"Diagnoseinformationen f\u00fcr Administratoren|Informazioni di diagnostica per gli amministratori|"
                 r"Informaci\u00f3n de diagn\u00f3stico para administradores|"
                 r"Informa\u00e7\u00f5es de diagn\u00f3stico para administradores)\s*:", re.I)
_ORIGINAL_HEADERS = lazy_re(r"Original message headers:|En-t\u00eates de message d'origine\s*:|"
                            r"Urspr\u00fcngliche Nachrichtenkopfzeilen:|Encabezados del mensaje original:|"
                            r"Cabe\u00e7alhos originais da mensagem:|Intestazioni originali del messaggio:", re.I)
_DELIVERY_FAILED = lazy_re(
    r"(?:Delivery has failed to these recipients or (?:groups|distribution lists):|"
    r"rejected your message to the following e-?mail addresses:|"
    r"Your message (?:to .{1,200}? )?couldn't be delivered|Your message wasn't delivered)", re.I)


def remote_part(diagnostic: str | None) -> str | None:
    """The remote server's own reply inside an Exchange wrapper ("... -> 550 ...")."""
    if not diagnostic or "->" not in diagnostic:
        return diagnostic
    return diagnostic.split("->", 1)[1].strip() or diagnostic


def decode_exchange(msg: Message, name: str) -> Facts | None:
    from .rfc3464 import decode_dsn

    text = body_text(msg)
    facts = decode_dsn(msg, name)
    if facts is not None:
        generating = _GENERATING.search(text)
        if facts.reporting_mta is None and generating:
            facts.reporting_mta = generating.group(1)
        for r in facts.recipients:
            if r.diagnostic and "->" in r.diagnostic:
                r.labels["wrapper"] = r.diagnostic.split("->", 1)[0].strip()
                r.diagnostic = remote_part(r.diagnostic)
        if any(r.diagnostic and _DELAYED_ONLY.search(r.diagnostic) for r in facts.recipients):
            _last_errors_from_text(facts, msg, name, text)
        return facts
    return decode_exchange_text(msg, name, text)


def _last_errors_from_text(facts: Facts, msg: Message, name: str, text: str) -> None:
    """A delay notice's report part says only "400 4.4.7 Message delayed"; its text names the
    last attempt's error under each recipient, and that error is what the recipient gets."""
    read = decode_exchange_text(msg, name, text)
    last = {r.recipient: r for r in read.recipients if "wrapper" in r.labels} if read else {}
    for r in facts.recipients:
        found = last.get(r.recipient or "")
        if found and r.diagnostic and _DELAYED_ONLY.search(r.diagnostic):
            r.labels["wrapper"] = r.diagnostic
            r.diagnostic, r.status, r.reply_code = found.diagnostic, None, None
            r.remote_mta = r.remote_mta or found.remote_mta


def decode_exchange_text(msg: Message, name: str, text: str) -> Facts | None:
    admin = _ADMIN.search(text)
    head = text[: admin.start()] if admin else text
    tail = text[admin.end():] if admin else ""
    recipients: list[RecipientFacts] = []
    section = tail or head
    stop = _ORIGINAL_HEADERS.search(section)
    if stop:
        section = section[: stop.start()]
    lines = section.split("\n")
    for i, line in enumerate(lines):
        if "@" not in line or _GENERATING.search(line):
            continue
        m = address_in_line(line)
        if m:
            addr = clean_address(m.group(0))
        else:
            # an address typed without its top-level domain, on a line of its own (Exchange
            # answers it with 5.1.6 "single label domains not accepted")
            single = _SINGLE_LABEL.match(line, 0, 200)
            addr = single.group(1).lower() if single else None
        if not addr or any(r.recipient == addr for r in recipients):
            continue
        # the address and the lines under it; an NDR's diagnostic is a line or two, and a window
        # of megabyte lines (an attachment read as text) would cost the patterns quadratic time
        window = " ".join(ln[:MAX_LINE] for ln in lines[i: i + 6])
        diag = host = wrapper = None
        rr = _REMOTE_RETURNED.search(window)
        hh = _HASH_FORM.search(window)
        if rr:
            if _DELAYED_ONLY.match(rr.group(2)):
                last = _REMOTE_RETURNED.search(window, rr.end())
                if last:
                    wrapper, rr = rr.group(2), last
            diag, host = rr.group(2), rr.group(1)
        elif hh:
            diag = hh.group(1)
            named = _HASH_HOST.search(window)
            host = named.group(1) if named else None
        if diag is None and admin is None:
            continue
        r = RecipientFacts(recipient=addr, diagnostic=one_line(remote_part(diag)),
                           remote_mta=host.lower() if host else None,
                           evidence=[ln for ln in lines[i: i + 6] if ln.strip()])
        if wrapper:
            r.labels["wrapper"] = wrapper
        recipients.append(r)
    if not recipients:
        m = _DELIVERY_FAILED.search(head)
        if m:
            found = [a for a in (clean_address(x.group(0)) for x in ADDRESS.finditer(head[m.end(): m.end() + 800]))
                     if a]
            recipients = [RecipientFacts(recipient=a) for a in dict.fromkeys(found)]
            attach_diagnostics(recipients, head)
    if not recipients:
        return None
    mark_delays(recipients, head)
    generating = _GENERATING.search(text)
    facts = new_facts(name, msg, recipients, reporting_mta=generating.group(1) if generating else None,
                      context=text[:4000])
    if facts.original_headers is None:
        facts.original_headers = original_from_text(text)
    return facts
