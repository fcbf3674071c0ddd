"""``check domain``: the sending domain's SPF, DKIM, DMARC, custom MAIL FROM and MX."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from . import FAIL, PASS, WARN, Finding

# what a sending provider asks to be published (facts: each provider's own setup guide)
PROVIDERS: dict[str, dict[str, str]] = {
    "ses": {"spf": "amazonses.com", "dkim_target": ".dkim.amazonses.com", "mail_from_mx": "feedback-smtp.",
            "name": "Amazon SES"},
    "google": {"spf": "_spf.google.com", "name": "Google Workspace"},
    "microsoft": {"spf": "spf.protection.outlook.com", "name": "Microsoft 365"},
    "sendgrid": {"spf": "sendgrid.net", "name": "SendGrid"},
}

SPF_LOOKUP_LIMIT = 10
_SPF_TERM = re.compile(
    r"^[+\-~?]?(all|include:\S+|a(:\S+)?(/\d+)?|mx(:\S+)?(/\d+)?|ptr(:\S+)?|ip4:[\d./]+|ip6:[0-9a-fA-F:./]+|"
    r"exists:\S+)$|^(redirect|exp)=\S+$", re.I)


class DnsUnavailable(Exception):
    pass


class Resolver:
    """A dnspython resolver, optionally pointed at one name server (``host`` or ``host:port``)."""

    def __init__(self, nameserver: str | None = None, timeout: float = 5.0) -> None:
        if nameserver:
            r = dns.resolver.Resolver(configure=False)
            host, _, port = nameserver.rpartition(":") if nameserver.count(":") == 1 else (nameserver, "", "")
            r.nameservers = [host or nameserver]
            r.port = int(port) if port else 53
        else:
            r = dns.resolver.Resolver()
        r.lifetime = timeout
        r.timeout = timeout
        self.r = r

    def txt(self, name: str) -> list[str]:
        return ["".join(part.decode("utf-8", "replace") for part in rd.strings) for rd in self._q(name, "TXT")]

    def mx(self, name: str) -> list[tuple[int, str]]:
        return sorted((rd.preference, rd.exchange.to_text().rstrip(".")) for rd in self._q(name, "MX"))

    def cname(self, name: str) -> str | None:
        rows = self._q(name, "CNAME")
        return rows[0].target.to_text().rstrip(".") if rows else None

    def addresses(self, name: str) -> list[str]:
        return [rd.to_text() for t in ("A", "AAAA") for rd in self._q(name, t)]

    def _q(self, name: str, rdtype: str) -> list:
        try:
            return list(self.r.resolve(name, rdtype, raise_on_no_answer=False) or [])
        except dns.resolver.NXDOMAIN:
            return []
        except dns.resolver.NoNameservers as exc:  # SERVFAIL or REFUSED from every server: not an answer
            raise DnsUnavailable(f"no usable answer for {name} {rdtype}: {exc}") from None


def _guard(fn):
    def wrapped(*a, **kw):
        try:
            return fn(*a, **kw)
        except dns.exception.Timeout:
            raise DnsUnavailable("no answer from the name server (timeout)") from None
    return wrapped


@dataclass
class SpfReport:
    record: str | None
    lookups: int
    includes: list[str]
    errors: list[str]


def _spf_record(res: Resolver, domain: str) -> tuple[list[str], str | None]:
    recs = [t for t in res.txt(domain) if t.lower().startswith("v=spf1") and (len(t) == 6 or t[6] == " ")]
    return recs, recs[0] if len(recs) == 1 else None


def spf_walk(res: Resolver, domain: str, depth: int = 0, seen: set[str] | None = None) -> SpfReport:
    """Count the DNS-querying terms (RFC 7208 §4.6.4: include, a, mx, ptr, exists, redirect)."""
    seen = seen if seen is not None else set()
    recs, rec = _spf_record(res, domain)
    if not recs:
        return SpfReport(None, 0, [], [f"no SPF record at {domain}"])
    if rec is None:
        return SpfReport(recs[0], 0, [], [f"{len(recs)} SPF records at {domain} (permerror: publish one)"])
    lookups, includes, errors = 0, [], []
    for term in rec.split()[1:]:
        if not _SPF_TERM.match(term):
            errors.append(f"not a valid SPF term at {domain}: {term!r}")
            continue
        body = term.lstrip("+-~?").lower()
        if body.startswith(("include:", "redirect=")):
            target = body.split(":", 1)[1] if body.startswith("include:") else body.split("=", 1)[1]
            lookups += 1
            includes.append(target)
            if target in seen or depth >= 12:
                errors.append(f"SPF include loop or depth at {target}")
                continue
            seen.add(target)
            sub = spf_walk(res, target, depth + 1, seen)
            lookups += sub.lookups
            includes.extend(sub.includes)
            errors.extend(sub.errors)
        elif body.split(":", 1)[0].split("/", 1)[0] in ("a", "mx", "ptr", "exists"):
            lookups += 1
    return SpfReport(rec, lookups, includes, errors)


@_guard
def check_spf(res: Resolver, domain: str, provider: str | None) -> list[Finding]:
    out: list[Finding] = []
    want = PROVIDERS.get(provider or "", {}).get("spf")
    recs, rec = _spf_record(res, domain)
    example = f"v=spf1 include:{want} ~all" if want else "v=spf1 mx ~all (list every host that sends for it)"
    if not recs:
        return [Finding("spf", FAIL, None, f"publish a TXT record at {domain}: \"{example}\"")]
    if rec is None:
        return [Finding("spf", FAIL, " | ".join(recs), f"{domain} has {len(recs)} SPF records, which is a "
                        "permanent error: merge them into one")]
    rep = spf_walk(res, domain)
    syntax_errors = [e for e in rep.errors if e.startswith("not a valid")]
    if syntax_errors:
        out.append(Finding("spf.syntax", FAIL, rec, "; ".join(syntax_errors)))
    else:
        out.append(Finding("spf.syntax", PASS, rec))
    all_term = next((t for t in rec.split() if t.lstrip("+-~?").lower() == "all"), None)
    if all_term is None and "redirect=" not in rec.lower():
        out.append(Finding("spf.all", WARN, rec, "end the record with ~all or -all"))
    elif all_term in ("all", "+all"):
        out.append(Finding("spf.all", FAIL, rec, "+all authorises every host on the Internet: use ~all or -all"))
    elif all_term == "?all":
        out.append(Finding("spf.all", WARN, rec, "?all is neutral and protects nothing: use ~all or -all"))
    if rep.lookups > SPF_LOOKUP_LIMIT:
        out.append(Finding("spf.lookups", FAIL, f"{rep.lookups} DNS lookups",
                           f"SPF allows {SPF_LOOKUP_LIMIT}; receivers return permerror. Flatten includes "
                           "into ip4:/ip6: ranges or drop senders you no longer use"))
    else:
        out.append(Finding("spf.lookups", PASS, f"{rep.lookups} DNS lookups (limit {SPF_LOOKUP_LIMIT})"))
    other = [e for e in rep.errors if not e.startswith("not a valid")]
    if other:
        out.append(Finding("spf.includes", FAIL, "; ".join(other), "fix or remove the include that fails"))
    if want:
        name = PROVIDERS[provider or ""]["name"]
        if want in rep.includes:
            out.append(Finding("spf.provider", PASS, f"include:{want}"))
        else:
            out.append(Finding("spf.provider", FAIL, rec,
                               f"{name} is not authorised: add include:{want} before the all term"))
    return out


@_guard
def check_dkim(res: Resolver, domain: str, selectors: Sequence[str], provider: str | None) -> list[Finding]:
    if not selectors:
        hint = ("give the three DKIM tokens from the SES console with --dkim-selector" if provider == "ses"
                else "give the selector(s) your provider signs with, --dkim-selector NAME")
        return [Finding("dkim", WARN, None, f"not checked: {hint}")]
    out = []
    target_suffix = PROVIDERS.get(provider or "", {}).get("dkim_target")
    for sel in selectors:
        name = f"{sel}._domainkey.{domain}"
        target = res.cname(name)
        keys = [t for t in res.txt(name) if "p=" in t.replace(" ", "")]
        check = f"dkim:{sel}"
        if target_suffix and target is None:
            out.append(Finding(check, FAIL, None, f"publish CNAME {name} -> {sel}{target_suffix}"))
        elif target_suffix and target is not None and not target.endswith(target_suffix.lstrip(".")):
            out.append(Finding(check, FAIL, f"CNAME {target}", f"point {name} at {sel}{target_suffix}"))
        elif not keys:
            out.append(Finding(check, FAIL, f"CNAME {target}" if target else None,
                               f"no DKIM key at {name}" + (f" (CNAME to {target} has none)" if target else "")
                               + ": publish the public key your provider gives (TXT v=DKIM1; k=rsa; p=...)"))
        else:
            key = re.sub(r"\s+", "", keys[0])
            p = re.search(r"(?:^|;)p=([^;]*)", key)
            if p is None or not p.group(1):
                out.append(Finding(check, FAIL, keys[0], "the key is empty (p=): the selector was revoked"))
            else:
                out.append(Finding(check, PASS, (f"CNAME {target}; " if target else "") + keys[0][:80]))
    return out


def _dmarc_tags(rec: str) -> dict[str, str]:
    tags = {}
    for part in rec.split(";"):
        k, sep, v = part.strip().partition("=")
        if sep:
            tags[k.strip().lower()] = v.strip()
    return tags


@_guard
def check_dmarc(res: Resolver, domain: str) -> list[Finding]:
    name = f"_dmarc.{domain}"
    recs = [t for t in res.txt(name) if t.replace(" ", "").lower().startswith("v=dmarc1")]
    if not recs:
        return [Finding("dmarc", FAIL, None, f"publish a TXT record at {name}: "
                        f"\"v=DMARC1; p=none; rua=mailto:dmarc@{domain}\", then move to quarantine or reject "
                        "once the reports show your mail aligned")]
    if len(recs) > 1:
        return [Finding("dmarc", FAIL, " | ".join(recs), f"{name} has {len(recs)} DMARC records: keep one")]
    rec = recs[0]
    tags = _dmarc_tags(rec)
    out = []
    policy = tags.get("p", "").lower()
    if policy not in ("none", "quarantine", "reject"):
        out.append(Finding("dmarc.policy", FAIL, rec, "p= must be none, quarantine or reject"))
    elif policy == "none":
        out.append(Finding("dmarc.policy", WARN, f"p={policy}",
                           "p=none only monitors: move to p=quarantine or p=reject once mail aligns"))
    else:
        out.append(Finding("dmarc.policy", PASS, f"p={policy}"))
    pct = tags.get("pct", "100")
    if pct != "100":
        out.append(Finding("dmarc.pct", WARN, f"pct={pct}", "the policy applies to only part of the mail"))
    if "rua" not in tags:
        out.append(Finding("dmarc.rua", WARN, None, f"add rua=mailto:dmarc@{domain} to receive aggregate reports"))
    else:
        out.append(Finding("dmarc.rua", PASS, f"rua={tags['rua']}"))
    out.append(Finding("dmarc.alignment", PASS,
                       f"adkim={tags.get('adkim', 'r')}, aspf={tags.get('aspf', 'r')} "
                       "(r: relaxed, s: strict)"))
    return out


@_guard
def check_mail_from(res: Resolver, domain: str, mail_from: str, provider: str | None,
                    region: str | None = None) -> list[Finding]:
    out = []
    if not (mail_from == domain or mail_from.endswith("." + domain)):
        out.append(Finding("mail-from.alignment", WARN, mail_from,
                           f"{mail_from} is not {domain} or a sub-domain of it: SPF cannot align for DMARC"))
    mx = res.mx(mail_from)
    want_mx = PROVIDERS.get(provider or "", {}).get("mail_from_mx")
    if not mx:
        example = f"10 feedback-smtp.{region or '<region>'}.amazonses.com" if want_mx else "your provider's host"
        out.append(Finding("mail-from.mx", FAIL, None, f"publish MX {mail_from} -> {example}"))
    elif want_mx and not any(h.startswith(want_mx) for _, h in mx):
        out.append(Finding("mail-from.mx", FAIL, ", ".join(h for _, h in mx),
                           f"the MX must be feedback-smtp.{region or '<region>'}.amazonses.com"))
    else:
        out.append(Finding("mail-from.mx", PASS, ", ".join(f"{p} {h}" for p, h in mx)))
    for f in check_spf(res, mail_from, provider):
        out.append(Finding("mail-from." + f.check, f.status, f.seen, f.advice))
    return out


@_guard
def check_mx(res: Resolver, domain: str, sending: bool = False) -> list[Finding]:
    """The domain's MX.  For a sending domain a missing MX is a warning (replies and
    bounces cannot come back); for a recipient domain it is a failure."""
    found = _check_mx(res, domain)
    if sending and found[0].status == FAIL:
        return [Finding("mx", WARN, found[0].seen, f"{found[0].advice}; replies and bounces to it are lost")]
    return found


def _check_mx(res: Resolver, domain: str) -> list[Finding]:
    mx = res.mx(domain)
    if not mx:
        addrs = res.addresses(domain)
        if addrs:
            return [Finding("mx", WARN, f"no MX; A/AAAA {', '.join(addrs)}",
                            "mail falls back to the address record: publish an MX")]
        return [Finding("mx", FAIL, None, f"{domain} has no MX and no address: it cannot receive mail")]
    if len(mx) == 1 and mx[0][1] in ("", "."):
        return [Finding("mx", FAIL, "0 . (null MX)", f"{domain} publishes a null MX: it accepts no mail")]
    missing = [h for _, h in mx if not res.addresses(h)]
    seen = ", ".join(f"{p} {h}" for p, h in mx)
    if len(missing) == len(mx):
        return [Finding("mx", FAIL, seen, "no MX host resolves to an address: fix the A/AAAA records")]
    if missing:
        return [Finding("mx", WARN, seen, f"these MX hosts do not resolve: {', '.join(missing)}")]
    return [Finding("mx", PASS, seen)]


def check_domain(domain: str, *, provider: str | None = None, dkim_selectors: Sequence[str] = (),
                 mail_from: str | None = None, nameserver: str | None = None, timeout: float = 5.0,
                 region: str | None = None) -> list[Finding]:
    """All the sending-domain checks; a DNS failure becomes a finding, never an exception."""
    res = Resolver(nameserver, timeout)
    domain = domain.strip().rstrip(".").lower()
    out: list[Finding] = []
    steps = [lambda: check_spf(res, domain, provider), lambda: check_dkim(res, domain, dkim_selectors, provider),
             lambda: check_dmarc(res, domain)]
    if mail_from:
        steps.append(lambda: check_mail_from(res, domain, mail_from.strip().lower(), provider, region))
    steps.append(lambda: check_mx(res, domain, sending=True))
    for step in steps:
        try:
            out.extend(step())
        except DnsUnavailable as exc:
            out.append(Finding("dns", FAIL, str(exc), "check --nameserver, or the network"))
            break
    return out
