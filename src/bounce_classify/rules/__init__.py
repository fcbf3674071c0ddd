"""The rules layer: from decoded facts to reason, hop, permanence and remediation."""

from __future__ import annotations

import re

from ..hostnames import serves_domain
from ..lazyre import lazy_re
from ..model import Facts, FrozenRecord, RecipientFacts
from .engine import Evidence, Rule, RuleError, RuleSet, builtin_rules, load_rules_file, ruleset
from .verdict import hard_bounce, is_soft, kind_of, permanent, pseudo_status

_ADDRESS = lazy_re(r"[\w.!#$%&'*+/=?^`{|}~-]{1,128}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,10}")
_HOST_IN_TEXT = lazy_re(r"\b((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,8}[a-z]{2,24})\b", re.I)
_DEFAULT_HOP = {"delivered": None, "autoreply": None, "not-bounce": None}


class Judgement(FrozenRecord):
    __slots__ = ("kind", "status", "reason", "hop", "permanent", "hard_bounce", "fix_owner",
                 "remediation", "rule")
    kind: str
    status: str | None
    reason: str
    hop: str | None
    permanent: bool | None
    hard_bounce: bool
    fix_owner: str | None
    remediation: str | None
    rule: str

    def __init__(self, kind: str, status: str | None, reason: str, hop: str | None,
                 permanent: bool | None, hard_bounce: bool, fix_owner: str | None,
                 remediation: str | None, rule: str) -> None:
        self._set(kind=kind, status=status, reason=reason, hop=hop, permanent=permanent,
                  hard_bounce=hard_bounce, fix_owner=fix_owner, remediation=remediation, rule=rule)


def evidence_for(facts: Facts, r: RecipientFacts, kind: str) -> Evidence:
    raw = (r.diagnostic or "").lower()
    # phrases are matched with addresses masked: a local part such as
    # "no-such-user@" must not read as the server's words
    diag = _ADDRESS.sub("<address>", raw) if "@" in raw else raw
    hosts: list[str] = []
    for h in (r.remote_mta, facts.reporting_mta):
        if h:
            hosts.extend(m.group(1).lower() for m in _HOST_IN_TEXT.finditer(h))
    if raw:
        hosts.extend(m.group(1).lower() for m in _HOST_IN_TEXT.finditer(raw[:2000]))
    text = diag + "\n" + facts.context[:6000].lower() if facts.context else diag
    return Evidence(
        kind=kind,
        status=r.status,
        reply_code=r.reply_code,
        diagnostic=diag,
        text=text,
        hosts=tuple(dict.fromkeys(hosts)),
        decoder=facts.decoded_by,
        smtp_command=r.smtp_command,
        action=r.action,
        labels=_with_derived_labels(r),
    )


def _with_derived_labels(r: RecipientFacts) -> dict[str, str]:
    """The decoder's labels, plus ``remote_mta: recipient-domain`` when the server that replied
    is the recipient domain's own, not a relay between (see `hostnames.serves_domain`)."""
    host, recipient = r.remote_mta, r.recipient
    if not host or not recipient or "remote_mta" in r.labels:
        return r.labels
    if serves_domain(host, recipient.rpartition("@")[2]):
        return {**r.labels, "remote_mta": "recipient-domain"}
    return r.labels


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return {"recipient": "the recipient", "domain": "the recipient's domain",
                "remote_mta": "the remote server", "reporting_mta": "the reporting server",
                "relay": "the relay"}.get(key, "(unknown)")


_FIRST_ADDRESS = lazy_re(r"[^\s<>,;:\"()@]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def fill(template: str | None, facts: Facts, r: RecipientFacts) -> str | None:
    if not template:
        return None
    values = _Blank()
    for key, value in (
        ("recipient", r.recipient), ("remote_mta", r.remote_mta), ("reporting_mta", facts.reporting_mta),
        ("status", r.status), ("reply_code", r.reply_code), ("smtp_command", r.smtp_command),
        ("decoder", facts.decoded_by), ("diagnostic", (r.diagnostic or "")[:200] or None),
    ):
        if value:
            values[key] = value
    if r.recipient and "@" in r.recipient:
        values["domain"] = r.recipient.rsplit("@", 1)[1]
    # the first address of the original's From, whatever its display name holds
    sender = _FIRST_ADDRESS.search((facts.original or {}).get("from") or "")
    if sender:
        values["sender_domain"] = sender.group(1).rstrip(".")
    relay = r.remote_mta or facts.reporting_mta
    if relay:
        values["relay"] = relay
    try:
        return template.format_map(values)
    except (ValueError, IndexError):
        return template


def judge(facts: Facts, rules: RuleSet, r: RecipientFacts) -> tuple[Judgement, Rule | None]:
    kind = kind_of(facts, r)
    ev = evidence_for(facts, r, kind)
    rule = rules.first_match(ev)
    hop: str | None
    owner: str | None
    remediation: str | None
    if rule is None:
        reason, hop, owner, rperm, remediation, rule_id = "undefined", "unknown", None, None, None, "fallback"
    else:
        reason, hop, owner, rperm = rule.reason, rule.hop, rule.fix_owner, rule.permanent
        remediation, rule_id = rule.remediation, rule.id
    if kind in _DEFAULT_HOP:
        hop = None
    status = r.status
    if status is None and kind in ("bounce", "delay"):
        status = pseudo_status(reason, is_soft(r, kind))
    perm = permanent(kind, reason, r, rperm)
    if owner is None and perm is False and kind in ("bounce", "delay"):
        owner = "none"
    return Judgement(
        kind=kind,
        status=status,
        reason=reason,
        hop=hop,
        permanent=perm,
        hard_bounce=hard_bounce(kind, reason, r),
        fix_owner=owner,
        remediation=fill(remediation, facts, r),
        rule=rule_id,
    ), rule


__all__ = ["Judgement", "judge", "RuleSet", "RuleError", "Rule", "ruleset", "builtin_rules",
           "load_rules_file"]
