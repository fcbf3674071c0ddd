"""The rule engine: rules are data (TOML), compiled once, first match wins.

A rule has an ``id``, a ``when`` table of conditions (all must hold; each
condition's list is any-of) and what it decides: ``reason``, ``hop``,
``fix_owner``, optionally ``permanent``, and a ``remediation`` whose
``{placeholders}`` are filled from the evidence.

Regular expressions in rules are compiled with RE2, which runs in time linear
in the input, so no rule can be made to hang on a hostile diagnostic.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import re2

from ..model import FIX_OWNERS, HOPS, REASONS, Record
from ..patterns import PatternSet, ci_regex

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; these names are for annotations only
    from pathlib import Path
    from typing import Any

CONDITION_KEYS = {
    "kind": "list of record kinds (bounce, delay, feedback, autoreply, delivered)",
    "status": "list of status patterns: exact (5.1.1), or with a trailing * for one or more characters (5.7.*, 4.7.5*)",
    "reply_code": "list of reply-code patterns (550, 55*, 4*)",
    "diagnostic": "list of phrases, any of which appears in the diagnostic (case-insensitive; "
                  "addresses in it read as <address>)",
    "diagnostic_all": "list of phrases that must all appear in the diagnostic",
    "not_diagnostic": "list of phrases none of which may appear in the diagnostic",
    "text": "list of phrases, any of which appears in the diagnostic or the report's text",
    "regex": "an RE2 regular expression searched in the diagnostic (case-insensitive; addresses in "
             "it read as <address>)",
    "host": "list of host suffixes matched against the remote MTA, the reporting MTA or hosts in the diagnostic "
            "(a label may be *, standing for any one label: email-smtp.*.amazonaws.com)",
    "decoder": "list of decoder names",
    "smtp_command": "list of SMTP commands (CONN, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA)",
    "not_smtp_command": "list of SMTP commands the failure must not be at (an unknown command matches)",
    "not_status": "list of status patterns the status must not match (a missing status matches)",
    "action": "list of DSN actions",
    "label": "table of provider label name -> list of values (e.g. bounceSubType); the label remote_mta is "
             "recipient-domain when the server that replied is the recipient domain's own (named inside "
             "it, or a hosted MX named after it, such as example-org.mail.protection.outlook.com)",
    "has_status": "true/false: the bounce carried an enhanced status code",
    "has_reply_code": "true/false: the bounce carried an SMTP reply code (a failed connection has none)",
}
DECISION_KEYS = {"reason", "hop", "fix_owner", "permanent", "remediation"}
PLACEHOLDERS = {"recipient", "domain", "remote_mta", "reporting_mta", "status", "reply_code",
                "diagnostic", "smtp_command", "decoder", "sender_domain", "relay"}


class RuleError(ValueError):
    """A rules file is not valid; the message names the rule, field and problem."""


# A rule's regex joins the phrase set under this prefix and its pattern: "found" then holds it
# when the regex matches (case-insensitively, as the rule's own compiled regex does).
REGEX_KEY = "\0regex:"


class PhraseMatcher:
    """Every phrase of a rule set, searched in one pass (an RE2 set) instead of one by one.

    ``found(text)`` is the set of the phrases that occur in ``text``; the phrase conditions of
    the rules then become set operations.  (Measured: 1,500 phrases tested with ``in`` on a
    600-character text took 2 ms, the set 1.5 microseconds.)
    """

    def __init__(self, phrases: Iterable[str]) -> None:
        self.phrases = sorted(set(phrases))
        self._set = PatternSet("(?i)" + p[len(REGEX_KEY):] if p.startswith(REGEX_KEY) else re2.escape(p)
                               for p in self.phrases)

    def found(self, text: str) -> frozenset[str] | None:
        """The phrases in ``text``; None if RE2 cannot take the text (a lone surrogate)."""
        hits = self._set.matching(text)
        return None if hits is None else frozenset(self.phrases[i] for i in hits)


class Evidence(Record):
    """What the conditions look at, prepared once per recipient.

    ``diagnostic`` is lower-cased, ``text`` is the lower-cased diagnostic and report context,
    ``hosts`` the lower-cased host names.  ``matcher`` is set by RuleSet.first_match; without
    it, phrase conditions test each phrase in turn.
    """

    __slots__ = ("kind", "status", "reply_code", "diagnostic", "text", "hosts", "decoder",
                 "smtp_command", "action", "labels", "matcher", "_in_diagnostic", "_in_text")

    def __init__(self, kind: str, status: str | None, reply_code: str | None, diagnostic: str,
                 text: str, hosts: tuple[str, ...], decoder: str, smtp_command: str | None,
                 action: str | None, labels: dict[str, str],
                 matcher: PhraseMatcher | None = None) -> None:
        self.kind = kind
        self.status = status
        self.reply_code = reply_code
        self.diagnostic = diagnostic
        self.text = text
        self.hosts = hosts
        self.decoder = decoder
        self.smtp_command = smtp_command
        self.action = action
        self.labels = labels
        self.matcher = matcher
        self._in_diagnostic: frozenset[str] | None = None
        self._in_text: frozenset[str] | None = None

    def in_diagnostic(self) -> frozenset[str] | None:
        if self._in_diagnostic is None and self.matcher is not None:
            self._in_diagnostic = self.matcher.found(self.diagnostic)
        return self._in_diagnostic

    def in_text(self) -> frozenset[str] | None:
        if self._in_text is None and self.matcher is not None:
            self._in_text = self.matcher.found(self.text)
        return self._in_text


class Rule(Record):
    """One rule of a rules file, its conditions compiled to ``tests``.

    ``static`` holds the tests that look only at STATIC_FIELD's keys, each with the one evidence field
    it reads (RuleSet caches their outcome per field value), and ``dynamic`` the others.
    ``required`` is the phrases of a ``diagnostic`` (or ``diagnostic_all``) condition, one of
    which the diagnostic must contain for the rule to match.
    """

    __slots__ = ("id", "when", "reason", "hop", "fix_owner", "permanent", "remediation", "origin",
                 "tests", "phrases", "static", "dynamic", "required")

    def __init__(self, id: str, when: dict[str, Any], reason: str, hop: str | None,
                 fix_owner: str | None, permanent: bool | None, remediation: str | None,
                 origin: str, tests: list[Callable[[Evidence], bool]] | None = None,
                 phrases: frozenset[str] = frozenset(),
                 static: tuple[tuple[str, Callable[[Evidence], bool]], ...] = (),
                 dynamic: tuple[Callable[[Evidence], bool], ...] = (),
                 required: frozenset[str] | None = None) -> None:
        self.id = id
        self.when = when
        self.reason = reason
        self.hop = hop
        self.fix_owner = fix_owner
        self.permanent = permanent
        self.remediation = remediation
        self.origin = origin
        self.tests: list[Callable[[Evidence], bool]] = [] if tests is None else tests
        self.phrases = phrases
        self.static = static
        self.dynamic = dynamic
        self.required = required

    def matches(self, ev: Evidence) -> bool:
        for test in self.tests:
            if not test(ev):
                return False
        return True


# Conditions that read only kind, status, reply_code, decoder, smtp_command and action.  Those
# fields take few distinct values across a run, so which rules pass these conditions is worked
# out once per combination (RuleSet.first_match) and remembered.
STATIC_FIELD = {"kind": "kind", "status": "status", "not_status": "status", "has_status": "status",
                "has_reply_code": "reply_code",
                "reply_code": "reply_code", "decoder": "decoder", "smtp_command": "smtp_command",
                "not_smtp_command": "smtp_command", "action": "action"}
_STATIC_FIELDS = ("kind", "status", "reply_code", "decoder", "smtp_command", "action")


def _pattern_test(attr: str, patterns: list[str]) -> Callable[[Evidence], bool]:
    exact = {p for p in patterns if not p.endswith("*")}
    prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))
    # "*" stands for one or more characters: "4.7.5*" is 4.7.50 to 4.7.599, not 4.7.5 itself.
    bare = set(prefixes)

    def test(ev: Evidence) -> bool:
        v = getattr(ev, attr)
        return v is not None and (v in exact or (bool(prefixes) and v.startswith(prefixes) and v not in bare))

    return test


def _expand(rule_id: str, key: str, value: Any, phrases: dict[str, list[str]], origin: str) -> Any:
    """Replace ``"@name"`` items (or a whole ``"@name"`` value) by a named phrase list.

    The names are the file's own ``[phrases]`` and the built-in ones (see ``builtin_phrases``).
    """
    items = [value] if isinstance(value, str) and value.startswith("@") else value
    if not isinstance(items, list) or not any(isinstance(v, str) and v.startswith("@") for v in items):
        return value
    out: list[Any] = []
    for v in items:
        if isinstance(v, str) and v.startswith("@"):
            if v[1:] not in phrases:
                raise RuleError(f"{origin}: rule {rule_id!r}: {key!r} refers to {v!r}, but neither the file's "
                                f"[phrases] table nor the built-in lists have one named {v[1:]!r}")
            out.extend(phrases[v[1:]])
        else:
            out.append(v)
    return out


def _compile(rule_id: str, when: dict[str, Any], origin: str, phrases: dict[str, list[str]] | None = None,
             used: set[str] | None = None,
             required: list[frozenset[str]] | None = None,
             check_regex: bool = True) -> list[Callable[[Evidence], bool]]:
    """The tests of a rule's conditions: one per key of ``when``, in its order.

    With ``check_regex`` false a ``regex`` condition is compiled when a message first reaches
    it (the shipped rules, whose patterns the tests compile; a one-message run reaches few).
    """
    tests: list[Callable[[Evidence], bool]] = []
    used = set() if used is None else used
    for key, value in when.items():
        value = _expand(rule_id, key, value, phrases or {}, origin)
        if key not in CONDITION_KEYS:
            raise RuleError(f"{origin}: rule {rule_id!r}: unknown condition {key!r} "
                            f"(known: {', '.join(sorted(CONDITION_KEYS))})")
        if key == "regex":
            if not isinstance(value, str):
                raise RuleError(f"{origin}: rule {rule_id!r}: 'regex' must be a string")
            rx = None
            if check_regex:
                try:
                    rx = ci_regex(value)
                except Exception as exc:  # re2 raises its own error type
                    raise RuleError(f"{origin}: rule {rule_id!r}: regex {value!r} is not valid RE2: {exc}") from exc
            key = REGEX_KEY + value
            used.add(key)
            if required is not None:
                required.append(frozenset((key,)))
            tests.append(_regex_test(rx, value, key))
            continue
        if key in ("has_status", "has_reply_code"):
            if not isinstance(value, bool):
                raise RuleError(f"{origin}: rule {rule_id!r}: {key!r} must be true or false")
            tests.append(_present_test(STATIC_FIELD[key], value))
            continue
        if key == "label":
            if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
                raise RuleError(f"{origin}: rule {rule_id!r}: 'label' must be a table of lists")
            wanted = {k: {str(x).lower() for x in v} for k, v in value.items()}
            tests.append(_label_test(wanted))
            continue
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise RuleError(f"{origin}: rule {rule_id!r}: {key!r} must be a non-empty list of strings")
        if key in ("status", "reply_code"):
            tests.append(_pattern_test(key, value))
        elif key == "not_status":
            tests.append(_negated(_pattern_test("status", value)))
        elif key == "not_smtp_command":
            tests.append(_negated(_member_test("smtp_command", frozenset(v.upper() for v in value))))
        elif key in ("diagnostic", "text", "diagnostic_all", "not_diagnostic"):
            lowered = tuple(v.lower() for v in value)
            used.update(lowered)
            if required is not None and key in ("diagnostic", "diagnostic_all"):
                required.append(frozenset(lowered))
            tests.append(_phrase_test(key, lowered))
        elif key == "host":
            tests.append(_host_test(tuple(v.lower().lstrip(".") for v in value)))
        else:  # kind, decoder, smtp_command, action: membership in a set
            members = frozenset(v.upper() if key == "smtp_command" else v.lower() if key == "action" else v
                                for v in value)
            tests.append(_member_test(key, members))
    return tests


def _negated(test: Callable[[Evidence], bool]) -> Callable[[Evidence], bool]:
    return lambda ev: not test(ev)


def _regex_test(rx: Any, pattern: str, key: str) -> Callable[[Evidence], bool]:
    compiled = [rx]

    def test(ev: Evidence) -> bool:
        found = ev.in_diagnostic()
        if found is not None:
            return key in found
        if compiled[0] is None:
            compiled[0] = ci_regex(pattern)
        return compiled[0].search(ev.diagnostic) is not None
    return test


def _present_test(attr: str, want: bool) -> Callable[[Evidence], bool]:
    return lambda ev: (getattr(ev, attr) is not None) == want


def _label_test(wanted: dict[str, set[str]]) -> Callable[[Evidence], bool]:
    return lambda ev: all(ev.labels.get(k, "").lower() in vs for k, vs in wanted.items())


def _phrase_test(key: str, phrases: tuple[str, ...]) -> Callable[[Evidence], bool]:
    wanted = frozenset(phrases)
    if key == "text":
        def in_text(ev: Evidence) -> bool:
            found = ev.in_text()
            return any(p in ev.text for p in phrases) if found is None else not wanted.isdisjoint(found)
        return in_text

    def in_diagnostic(ev: Evidence) -> bool:
        found = ev.in_diagnostic()
        if found is None:
            hits = [p in ev.diagnostic for p in phrases]
            return all(hits) if key == "diagnostic_all" else any(hits)
        return wanted <= found if key == "diagnostic_all" else not wanted.isdisjoint(found)

    if key == "not_diagnostic":
        return _negated(in_diagnostic)
    return in_diagnostic


def _host_test(suffixes: tuple[str, ...]) -> Callable[[Evidence], bool]:
    plain = tuple(s for s in suffixes if "*" not in s)
    wild = tuple(tuple(s.split(".")) for s in suffixes if "*" in s)
    if not wild:
        return lambda ev: any(_host_match(h, plain) for h in ev.hosts)
    return lambda ev: any(_host_match(h, plain) or _wild_match(h, wild) for h in ev.hosts)


def _wild_match(host: str, patterns: tuple[tuple[str, ...], ...]) -> bool:
    """Whether ``host`` ends with one of the label patterns, where a "*" label is any one label
    ("email-smtp.*.amazonaws.com" takes email-smtp.eu-west-1.amazonaws.com, not
    email-smtp.amazonaws.com nor email-smtp.a.b.amazonaws.com)."""
    labels = host.split(".")
    for pattern in patterns:
        n = len(pattern)
        if len(labels) < n:
            continue
        tail = labels[-n:]
        if all(p == label or (p == "*" and label) for p, label in zip(pattern, tail, strict=True)):
            return True
    return False


def _member_test(attr: str, wanted: frozenset[str]) -> Callable[[Evidence], bool]:
    return lambda ev: getattr(ev, attr) in wanted


def _host_match(host: str, suffixes: tuple[str, ...]) -> bool:
    for s in suffixes:
        if host == s or host.endswith("." + s):
            return True
    return False


def _check_remediation(rule_id: str, text: str, origin: str) -> None:
    # string.Formatter().parse is this function; importing string would also compile
    # string.Template's pattern, a cost every start-up would pay for nothing
    from _string import formatter_parser

    for _, name, _, _ in formatter_parser(text):
        if name is not None and name not in PLACEHOLDERS:
            raise RuleError(f"{origin}: rule {rule_id!r}: remediation uses unknown placeholder "
                            f"{{{name}}} (known: {', '.join(sorted(PLACEHOLDERS))})")


def build_rule(raw: Any, origin: str, position: int, phrases: dict[str, list[str]] | None = None,
               check_regex: bool = True) -> Rule:
    if not isinstance(raw, dict):
        raise RuleError(f"{origin}: rule #{position} is not a table")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise RuleError(f"{origin}: rule #{position}: field 'id' is missing or not a string")
    unknown = set(raw) - DECISION_KEYS - {"id", "when", "note"}
    if unknown:
        raise RuleError(f"{origin}: rule {rule_id!r}: unknown field(s) {', '.join(sorted(unknown))}")
    when = raw.get("when", {})
    if not isinstance(when, dict):
        raise RuleError(f"{origin}: rule {rule_id!r}: 'when' must be a table")
    reason = raw.get("reason")
    if reason not in REASONS:
        raise RuleError(f"{origin}: rule {rule_id!r}: field 'reason' is {reason!r}, "
                        f"not one of the reason vocabulary")
    hop = raw.get("hop")
    if hop is not None and hop not in HOPS:
        raise RuleError(f"{origin}: rule {rule_id!r}: field 'hop' is {hop!r}, not one of {', '.join(sorted(HOPS))}")
    owner = raw.get("fix_owner")
    if owner is not None and owner not in FIX_OWNERS:
        raise RuleError(f"{origin}: rule {rule_id!r}: field 'fix_owner' is {owner!r}, "
                        f"not one of {', '.join(sorted(FIX_OWNERS))}")
    permanent = raw.get("permanent")
    if permanent is not None and not isinstance(permanent, bool):
        raise RuleError(f"{origin}: rule {rule_id!r}: field 'permanent' must be true or false")
    remediation = raw.get("remediation")
    if remediation is not None:
        if not isinstance(remediation, str):
            raise RuleError(f"{origin}: rule {rule_id!r}: field 'remediation' must be a string")
        _check_remediation(rule_id, remediation, origin)
    used: set[str] = set()
    required: list[frozenset[str]] = []
    tests = _compile(rule_id, when, origin, phrases, used, required, check_regex)
    fields = [STATIC_FIELD.get(key) for key in when]
    return Rule(
        id=rule_id.strip(), when=when, reason=reason, hop=hop, fix_owner=owner, permanent=permanent,
        remediation=remediation, origin=origin, tests=tests, phrases=frozenset(used),
        static=tuple((f, t) for t, f in zip(tests, fields, strict=True) if f is not None),
        dynamic=tuple(t for t, f in zip(tests, fields, strict=True) if f is None),
        required=min(required, key=len) if required else None,
    )


def load_rules_text(text: str, origin: str) -> list[Rule]:
    """A user's rules file; its ``@name`` items may name its own or the built-in phrase lists."""
    import tomllib  # imported here: a start-up reads the rules from the cache (parsed_rule_files)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{origin}: not valid TOML: {exc}") from exc
    return rules_from_data(data, origin, builtin_phrases())


def _file_phrases(data: dict[str, Any], origin: str) -> dict[str, list[str]]:
    phrases = data.get("phrases", {})
    if not isinstance(phrases, dict) or not all(
            isinstance(v, list) and v and all(isinstance(x, str) for x in v) for v in phrases.values()):
        raise RuleError(f"{origin}: [phrases] must map names to non-empty lists of strings")
    return phrases


def rules_from_data(data: dict[str, Any], origin: str, shared: dict[str, list[str]] | None = None,
                    check_regex: bool = True) -> list[Rule]:
    """The rules of one parsed file; ``@name`` refers to its own [phrases], then to ``shared``.

    ``check_regex`` false leaves each regex to be compiled when first needed (see _compile).
    """
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise RuleError(f"{origin}: 'rule' must be an array of tables ([[rule]])")
    phrases = {**(shared or {}), **_file_phrases(data, origin)}
    rules = [build_rule(r, origin, i + 1, phrases, check_regex) for i, r in enumerate(raw_rules)]
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            raise RuleError(f"{origin}: rule {r.id!r} is defined twice")
        seen.add(r.id)
    return rules


def load_rules_file(path: str | Path) -> list[Rule]:
    p = os.fspath(path)
    try:
        with open(p, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise RuleError(f"{p}: cannot read rules file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RuleError(f"{p}: rules file is not UTF-8 text") from exc
    return load_rules_text(text, p)


# os.path rather than pathlib: importing pathlib costs a one-message run 3 ms
_RULES_DIR = os.path.dirname(os.path.realpath(__file__))


def parsed_rule_files(directory: str | Path = _RULES_DIR) -> list[tuple[str, dict[str, Any]]]:
    """The shipped rule files, parsed; from a marshal cache in ``__pycache__`` when it is fresh.

    Parsing the TOML costs more than classifying a message, so, like Python with its .pyc
    files, the parsed tables are kept beside the sources, keyed on every file's name, size
    and modification time.  A cache that cannot be written (a read-only install) is skipped.
    """
    import marshal
    import sys

    directory = os.fspath(directory)
    names = sorted(n for n in os.listdir(directory) if n.endswith(".toml") and not n.startswith("_"))
    key = [(n, st.st_size, st.st_mtime_ns) for n in names for st in (os.stat(os.path.join(directory, n)),)]
    cache = os.path.join(directory, "__pycache__", f"rules.{sys.implementation.cache_tag}.marshal")
    try:
        with open(cache, "rb") as fh:
            cached_key, data = marshal.loads(fh.read())
        if cached_key == key:
            return data
    except (OSError, ValueError, EOFError, TypeError):
        pass
    import tomllib

    data = []
    for name in names:
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as fh:
                data.append((name, tomllib.loads(fh.read())))
        except tomllib.TOMLDecodeError as exc:
            raise RuleError(f"{name}: not valid TOML: {exc}") from exc
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        tmp = f"{cache}.{id(data)}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(marshal.dumps((key, data)))
        os.replace(tmp, cache)
    except (OSError, ValueError):
        pass
    return data


class RuleSet:
    """An ordered list of rules; the first that matches decides.

    The static conditions (STATIC_FIELD) read six fields that take few values across a run.
    For each field value, the rules whose conditions on that field pass are worked out once
    and kept as a bit mask; the rules left for a message are the AND of its six masks.  Once
    the phrase set is built, a rule that needs a phrase the diagnostic lacks is dropped the
    same way, by the mask of the rules that each phrase found can satisfy.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        # a user's rule may reuse a built-in id; being earlier in the list, it wins
        self.rules = list(rules)
        self._matcher: PhraseMatcher | None = None
        self._judged = 0
        self._masks: dict[tuple[str, str | None], int] = {}
        # per field: the mask of rules with no condition on it, and the others with their tests
        self._free = dict.fromkeys(_STATIC_FIELDS, 0)
        self._constrained: dict[str, list[tuple[int, list[Callable[[Evidence], bool]]]]] = {
            f: [] for f in _STATIC_FIELDS}
        # the rules that need no phrase, and for each phrase the rules it can satisfy; the same
        # for the labels a rule needs the evidence to carry
        self._needs_none = 0
        self._by_phrase: dict[str, int] = {}
        self._needs_no_label = 0
        self._by_label: dict[str, int] = {}
        for i, rule in enumerate(self.rules):
            bit = 1 << i
            by_field: dict[str, list[Callable[[Evidence], bool]]] = {}
            for field, test in rule.static:
                by_field.setdefault(field, []).append(test)
            for field in _STATIC_FIELDS:
                if field in by_field:
                    self._constrained[field].append((bit, by_field[field]))
                else:
                    self._free[field] |= bit
            if rule.required is None:
                self._needs_none |= bit
            else:
                for phrase in rule.required:
                    self._by_phrase[phrase] = self._by_phrase.get(phrase, 0) | bit
            label = rule.when.get("label")
            if isinstance(label, dict) and label and not any(
                    "" in {str(x).lower() for x in v} for v in label.values()):
                # a label condition fails when the label is missing (it reads as "")
                first = next(iter(label))
                self._by_label[first] = self._by_label.get(first, 0) | bit
            else:
                self._needs_no_label |= bit

    @property
    def matcher(self) -> PhraseMatcher:
        """The RE2 set of every phrase of the rules, built on first use."""
        if self._matcher is None:
            self._matcher = PhraseMatcher(p for r in self.rules for p in r.phrases)
        return self._matcher

    def _static_mask(self, ev: Evidence) -> int:
        if len(self._masks) >= 4096:  # a long run over varied input: start again
            self._masks.clear()
        mask = -1
        for field in _STATIC_FIELDS:
            key = (field, getattr(ev, field))
            m = self._masks.get(key)
            if m is None:
                m = self._free[field]
                for bit, tests in self._constrained[field]:
                    if all(t(ev) for t in tests):
                        m |= bit
                self._masks[key] = m
            mask &= m
        return mask

    def first_match(self, ev: Evidence) -> Rule | None:
        # Building the phrase set costs a few milliseconds, about what testing the phrases one
        # by one costs for a couple of recipients; so a run that judges one message (a mail
        # hook) tests them one by one, and a longer run builds the set on its third recipient.
        self._judged += 1
        if self._judged > 2 and ev.matcher is not self.matcher:
            ev.matcher, ev._in_diagnostic, ev._in_text = self.matcher, None, None
        mask = self._static_mask(ev)
        viable = self._needs_no_label
        for label in ev.labels:
            viable |= self._by_label.get(label, 0)
        mask &= viable
        if ev.matcher is not None:
            found = ev.in_diagnostic()
            if found is not None:
                viable = self._needs_none
                for phrase in found:
                    viable |= self._by_phrase.get(phrase, 0)
                mask &= viable
        rules = self.rules
        while mask:
            low = mask & -mask
            rule = rules[low.bit_length() - 1]
            for test in rule.dynamic:
                if not test(ev):
                    break
            else:
                return rule
            mask ^= low
        return None


_PARSED: list[tuple[str, dict[str, Any]]] | None = None
_BUILTIN: list[Rule] | None = None
_PHRASES: dict[str, list[str]] | None = None


def _shipped() -> list[tuple[str, dict[str, Any]]]:
    global _PARSED
    if _PARSED is None:
        _PARSED = parsed_rule_files()
    return _PARSED


def builtin_phrases() -> dict[str, list[str]]:
    """The named phrase lists of all shipped files, which every rules file may use as ``@name``.

    A name is defined once across the shipped files, so what ``@name`` means never depends on
    which file a rule is in.
    """
    global _PHRASES
    if _PHRASES is None:
        merged: dict[str, list[str]] = {}
        where: dict[str, str] = {}
        for name, data in _shipped():
            for key, value in _file_phrases(data, name).items():
                if key in merged:
                    raise RuleError(f"{name}: phrase list {key!r} is already defined in {where[key]}")
                merged[key], where[key] = value, name
        _PHRASES = merged
    return _PHRASES


def builtin_rules() -> list[Rule]:
    global _BUILTIN
    if _BUILTIN is None:
        shared = builtin_phrases()
        rules: list[Rule] = []
        for name, data in _shipped():
            # the shipped patterns are compiled by the tests (test_rules); here, when first needed
            rules.extend(rules_from_data(data, name, shared, check_regex=False))
        _BUILTIN = rules
    return _BUILTIN


def ruleset(user_files: Iterable[str | Path] = ()) -> RuleSet:
    user: list[Rule] = []
    for f in user_files:
        user.extend(load_rules_file(f))
    return RuleSet(user + builtin_rules())
