"""The rule engine: rules are data, validated with clear errors, user rules first, RE2 only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bounce_classify import RuleError, classify, ruleset
from bounce_classify.model import FIX_OWNERS, HOPS, REASONS
from bounce_classify.rules import builtin_rules
from bounce_classify.rules.engine import Evidence, RuleSet, load_rules_file, load_rules_text

FIXTURES = Path(__file__).parent / "fixtures"


def evidence(diagnostic: str = "", **fields: object) -> Evidence:
    """A recipient's evidence: the diagnostic (also the text unless given) and any other fields."""
    base: dict[str, object] = {"kind": "bounce", "status": None, "reply_code": None, "diagnostic": diagnostic,
                               "text": diagnostic, "hosts": (), "decoder": "x", "smtp_command": None,
                               "action": None, "labels": {}}
    return Evidence(**{**base, **fields})  # type: ignore[arg-type]


def test_builtin_rules_load_and_use_the_vocabularies() -> None:
    rules = builtin_rules()
    assert len(rules) > 50
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    for r in rules:
        assert r.reason in REASONS
        assert r.hop is None or r.hop in HOPS
        assert r.fix_owner is None or r.fix_owner in FIX_OWNERS


@pytest.mark.parametrize(("text", "message"), [
    ('[[rule]]\nid = "x"\nreason = "nope"\n', "rule 'x': field 'reason' is 'nope'"),
    ('[[rule]]\nid = "x"\nreason = "blocked"\nhop = "moon"\n', "rule 'x': field 'hop' is 'moon'"),
    ('[[rule]]\nid = "x"\nreason = "blocked"\nwhen = { colour = ["red"] }\n', "rule 'x': unknown condition 'colour'"),
    ('[[rule]]\nid = "x"\nreason = "blocked"\nwhen = { regex = "(a" }\n', "rule 'x': regex '(a' is not valid RE2"),
    ('[[rule]]\nid = "x"\nreason = "blocked"\nwhen = { regex = "(a)\\\\1" }\n', "is not valid RE2"),
    ('[[rule]]\nid = "x"\nreason = "blocked"\nremediation = "fix {nothing}"\n', "unknown placeholder {nothing}"),
    ('[[rule]]\nreason = "blocked"\n', "rule #1: field 'id' is missing"),
    ('[[rule]]\nid = "x"\nreason = "blocked"\n[[rule]]\nid = "x"\nreason = "blocked"\n', "defined twice"),
    ("[[rule]\n", "not valid TOML"),
    ('[[rule]]\nid = "x"\nreason = "blocked"\nwhen = { diagnostic = "@missing" }\n',
     "rule 'x': 'diagnostic' refers to '@missing'"),
    ('[phrases]\nempty = []\n', "[phrases] must map names to non-empty lists"),
])
def test_invalid_rules_name_the_rule_field_and_problem(text: str, message: str) -> None:
    with pytest.raises(RuleError) as exc:
        load_rules_text(text, "mine.toml")
    assert message in str(exc.value)
    assert str(exc.value).startswith("mine.toml")


def test_backreferences_are_refused_so_every_regex_is_linear() -> None:
    # RE2 has no backtracking constructs; a pattern that would need them is rejected
    with pytest.raises(RuleError):
        load_rules_text('[[rule]]\nid = "x"\nreason = "blocked"\nwhen = { regex = "(?=a)" }\n', "m.toml")


def test_a_users_rule_is_checked_first(tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text(
        '[[rule]]\nid = "local.mailbox-full-is-ours"\nwhen = { status = ["5.2.2"], host = ["mailhost.example"] }\n'
        'reason = "systemfull"\nhop = "transport"\nfix_owner = "recipient-admin"\n'
        'remediation = "Call the mailhost team about {remote_mta} for {recipient}."\n', encoding="utf-8")
    raw = (FIXTURES / "postfix/mailbox-full-text.eml").read_bytes()
    assert classify(raw)[0].reason == "mailboxfull"
    r = classify(raw, rules=ruleset([mine]))[0]
    assert (r.reason, r.rule) == ("systemfull", "local.mailbox-full-is-ours")
    assert r.remediation == "Call the mailhost team about mx1.mailhost.example for full.box@mailhost.example."


def test_hard_bounce_only_for_address_reasons() -> None:
    hard = {r.recipient: r.hard_bounce for f in FIXTURES.glob("*/*.eml") for r in classify(f.read_bytes())}
    assert hard["gone.person@gmail.com"] is True
    assert hard["full.box@mailhost.example"] is False
    assert hard["buyer@contoso.example"] is False


def test_regex_on_hostile_input_is_fast_enough_to_finish() -> None:
    rules = load_rules_text('[[rule]]\nid = "x"\nreason = "blocked"\nwhen = { regex = "(a+)+$" }\n', "m.toml")
    ev = evidence("a" * 50000 + "!", text="")
    assert rules[0].matches(ev) is False


def test_named_phrase_lists_are_shared_by_rules_of_the_same_file() -> None:
    rules = load_rules_text(
        '[phrases]\nfull = ["mailbox full", "over quota"]\n'
        '[[rule]]\nid = "a"\nreason = "mailboxfull"\nwhen = { diagnostic = "@full" }\n'
        '[[rule]]\nid = "b"\nreason = "systemfull"\nwhen = { diagnostic = ["disk", "@full"] }\n', "mine.toml")
    ev = evidence

    assert rules[0].matches(ev("user is over quota")) and not rules[0].matches(ev("disk"))
    assert rules[1].matches(ev("mailbox full")) and rules[1].matches(ev("disk"))


def test_a_users_file_can_use_the_built_in_phrase_lists_and_its_own_name_wins(tmp_path: Path) -> None:
    from bounce_classify.rules.engine import builtin_phrases

    assert "user unknown" in builtin_phrases()["unknown_user"]
    mine = tmp_path / "mine.toml"
    mine.write_text('[phrases]\ntimed_out = ["took ages"]\n'
                    '[[rule]]\nid = "a"\nreason = "userunknown"\nwhen = { diagnostic = "@unknown_user" }\n'
                    '[[rule]]\nid = "b"\nreason = "expired"\nwhen = { diagnostic = "@timed_out" }\n', encoding="utf-8")
    a, b = load_rules_file(mine)
    ev = evidence

    assert a.matches(ev("550 no such user here")) and not a.matches(ev("mailbox full"))
    assert b.matches(ev("it took ages")) and not b.matches(ev("connection timed out"))


def test_rules_phrases_prints_every_built_in_list() -> None:
    from bounce_classify.rules.engine import builtin_phrases

    out = subprocess.run([sys.executable, "-m", "bounce_classify", "rules", "--phrases"],
                         capture_output=True, text=True, check=True).stdout
    names = [line.split(":", 1)[0] for line in out.splitlines()]
    assert names == [f"@{n}" for n in builtin_phrases()]
    assert '"user unknown"' in out


def test_one_pass_phrase_search_decides_as_testing_each_phrase_does() -> None:
    """RuleSet searches all phrases and regexes at once and skips rules by the phrases and labels
    they need; every fixture must get the rule that testing each rule in order gives."""
    import json

    from bounce_classify.decoders import decode, decode_json
    from bounce_classify.message import Message
    from bounce_classify.read import json_items
    from bounce_classify.rules import evidence_for, kind_of

    def all_facts() -> list[tuple[str, object]]:
        out = [(p.name, decode(Message(p.read_bytes()))) for p in sorted(FIXTURES.rglob("*.eml"))]
        for p in sorted(FIXTURES.rglob("*.json")):  # provider notifications: the label conditions
            for item in json_items(str(p), p.read_bytes()):
                doc = json.loads(item.data)
                out.append((p.name, decode_json(doc) if isinstance(doc, dict) else None))
        return out

    rs = RuleSet(ruleset().rules)
    compared = 0
    for name, facts in all_facts():
        for r in facts.recipients if facts else []:  # type: ignore[attr-defined]
            ev = evidence_for(facts, r, kind_of(facts, r))
            plain = next((rule.id for rule in rs.rules if rule.matches(ev)), None)  # no matcher set yet
            assert ev.matcher is None
            fast = rs.first_match(ev)
            # the set is built on the third judgment; the first two test phrases one by one
            assert (ev.matcher is rs.matcher) == (compared >= 2), name
            assert (fast.id if fast else None) == plain, name
            compared += 1
    assert compared >= 25  # every fixture with a recipient


def test_one_message_run_does_not_build_the_phrase_set() -> None:
    """A mail hook judges one or two recipients; building the RE2 set would cost more than it saves."""
    rs = RuleSet(ruleset().rules)
    for _ in range(2):
        rs.first_match(evidence("550 5.1.1 user unknown"))
    assert rs._matcher is None
    rs.first_match(evidence("550 5.1.1 user unknown"))
    assert rs._matcher is not None


_STATIC_RULES = """
[[rule]]
id = "exim-5.1"
reason = "userunknown"
when = { decoder = ["exim"], status = ["5.1.*"] }
[[rule]]
id = "not-rcpt-550"
reason = "rejected"
when = { reply_code = ["550"], not_smtp_command = ["RCPT"] }
[[rule]]
id = "no-status-delay"
reason = "expired"
when = { kind = ["delay"], has_status = false }
[[rule]]
id = "postfix-bounce-without-reply"
reason = "networkerror"
when = { kind = ["bounce"], decoder = ["postfix"], has_reply_code = false }
[[rule]]
id = "failed-not-5.7"
reason = "onhold"
when = { action = ["failed"], not_status = ["5.7.*"] }
[[rule]]
id = "anything"
reason = "undefined"
when = {}
"""


def test_static_conditions_pick_the_same_rule_as_testing_each_rule() -> None:
    """RuleSet remembers, per field value, which rules' static conditions pass; over every mix of
    values one RuleSet must choose what testing each rule in order chooses."""
    import itertools

    rs = RuleSet(load_rules_text(_STATIC_RULES, "static.toml"))
    chosen = set()
    for kind, status, code, decoder, command, action in itertools.product(
            ("bounce", "delay"), (None, "5.1.1", "5.7.1", "4.2.2"), (None, "550"), ("exim", "postfix"),
            (None, "RCPT", "DATA"), (None, "failed")):
        ev = evidence(kind=kind, status=status, reply_code=code, decoder=decoder, smtp_command=command,
                      action=action)
        plain = next(r.id for r in rs.rules if r.matches(ev))
        got = rs.first_match(ev)
        assert got is not None and got.id == plain, (kind, status, code, decoder, command, action)
        chosen.add(plain)
    assert chosen == {r.id for r in rs.rules}  # the table reaches every rule


@pytest.mark.parametrize(("rule_when", "diagnostic", "expected"), [
    ('{ diagnostic = ["over quota", "mailbox full"] }', "552 mailbox full", True),
    ('{ diagnostic = ["over quota", "mailbox full"] }', "552 mailbox", False),
    ('{ diagnostic_all = ["mailbox", "full"] }', "mailbox is full", True),
    ('{ diagnostic_all = ["mailbox", "full"] }', "mailbox is empty", False),
    ('{ not_diagnostic = ["spam"] }', "550 spam detected", False),
    ('{ not_diagnostic = ["spam"] }', "550 unknown user", True),
    ('{ text = ["relay access denied"] }', "554 relay access denied", True),
])
def test_phrase_conditions_with_the_rule_set_matcher(rule_when: str, diagnostic: str, expected: bool) -> None:
    rules = load_rules_text(f'[[rule]]\nid = "x"\nreason = "blocked"\nwhen = {rule_when}\n', "m.toml")
    ev = evidence(diagnostic)
    assert (RuleSet(rules).first_match(ev) is not None) == expected


@pytest.mark.parametrize(("patterns", "status", "expected"), [
    ('["4.7.5*"]', "4.7.500", True),
    ('["4.7.5*"]', "4.7.599", True),
    ('["4.7.5*"]', "4.7.5", False),  # the star stands for at least one character
    ('["4.7.5*"]', "4.7.6", False),
    ('["5.7.*"]', "5.7.1", True),
    ('["5.7.*"]', "5.1.1", False),
    ('["5.7.1", "4.*"]', "5.7.1", True),
    ('["5.7.1", "4.*"]', "4.2.2", True),
    ('["5.7.1", "4.*"]', "5.7.12", False),
])
def test_status_patterns_match_exactly_or_by_a_non_empty_tail(patterns: str, status: str, expected: bool) -> None:
    rules = load_rules_text(f'[[rule]]\nid = "x"\nreason = "blocked"\nwhen = {{ status = {patterns} }}\n', "s.toml")
    ev = evidence(status=status)
    assert rules[0].matches(ev) == expected
    assert (RuleSet(rules).first_match(ev) is not None) == expected


def test_every_shipped_regex_is_valid_re2() -> None:
    """The shipped rules compile their regexes when a message first needs one; here, all at once."""
    from bounce_classify.rules.engine import builtin_phrases, parsed_rule_files, rules_from_data

    checked = 0
    for name, data in parsed_rule_files():
        for rule in rules_from_data(data, name, builtin_phrases(), check_regex=True):
            checked += "regex" in rule.when
    assert checked >= 10


@pytest.mark.parametrize(("diagnostic", "rule_id"), [
    ("554 dt:spm 163 mx2,qscowac3kex, please see http://mail.163.com/help/help_spam_16.htm", "netease.spam-content"),
    ("550 mi:spf mx14,qmcowacn please see http://mail.163.com/help/help_spam_16.htm", "netease.spf"),
])
def test_a_shipped_regex_is_compiled_when_a_message_first_needs_it(diagnostic: str, rule_id: str) -> None:
    """Without the phrase set (the first messages of a run), a regex condition compiles and searches."""
    ev = evidence(diagnostic, reply_code="554", smtp_command="DATA", action="failed")
    rule = RuleSet(builtin_rules()).first_match(ev)
    assert ev.matcher is None
    assert rule is not None and rule.id == rule_id


@pytest.mark.parametrize(("patterns", "host", "expected"), [
    ('["smtp.sendgrid.net"]', "smtp.sendgrid.net", True),
    ('["sendgrid.net"]', "smtp.sendgrid.net", True),
    ('["sendgrid.net"]', "notsendgrid.net", False),  # a suffix is whole labels
    ('["email-smtp.*.amazonaws.com"]', "email-smtp.eu-west-1.amazonaws.com", True),
    ('["email-smtp.*.amazonaws.com"]', "inbound-smtp.eu-west-1.amazonaws.com", False),
    ('["email-smtp.*.amazonaws.com"]', "email-smtp.amazonaws.com", False),  # "*" is one whole label
    ('["email-smtp.*.amazonaws.com"]', "email-smtp.a.b.amazonaws.com", False),
    ('["mx.example", "email-smtp.*.amazonaws.com"]', "mx.example", True),
    ('["email-smtp.*.amazonaws.com"]', "out.email-smtp.eu-west-1.amazonaws.com", True),  # still a suffix
    ('["email-smtp.*.amazonaws.com"]', "email-smtp..amazonaws.com", False),  # an empty label is none
    ('["*.outlook.com"]', "eur.outlook.com", True),
    ('["*.outlook.com"]', "outlook.com", False),
])
def test_host_patterns_are_label_suffixes_and_a_star_is_one_label(patterns: str, host: str, expected: bool) -> None:
    rules = load_rules_text(f'[[rule]]\nid = "x"\nreason = "blocked"\nwhen = {{ host = {patterns} }}\n', "h.toml")
    ev = evidence(hosts=(host,))
    assert rules[0].matches(ev) == expected


def test_parsed_rule_files_are_cached_and_a_changed_file_is_read_again(tmp_path: Path) -> None:
    import os

    from bounce_classify.rules.engine import parsed_rule_files

    f = tmp_path / "10-mine.toml"
    f.write_text('[[rule]]\nid = "a"\nreason = "blocked"\n')
    assert parsed_rule_files(tmp_path)[0][1]["rule"][0]["id"] == "a"
    cache = next((tmp_path / "__pycache__").glob("rules.*.marshal"))
    f.write_text('[[rule]]\nid = "bb"\nreason = "blocked"\n')  # another size and time
    os.utime(f, ns=(1, 1))
    assert parsed_rule_files(tmp_path)[0][1]["rule"][0]["id"] == "bb"
    cache.write_bytes(b"garbage")  # a damaged cache is ignored and rewritten
    assert parsed_rule_files(tmp_path)[0][1]["rule"][0]["id"] == "bb"
    os.chmod(tmp_path / "__pycache__", 0o500)  # a read-only install still works
    try:
        (tmp_path / "20-more.toml").write_text('[[rule]]\nid = "c"\nreason = "blocked"\n')
        assert [name for name, _ in parsed_rule_files(tmp_path)] == ["10-mine.toml", "20-more.toml"]
    finally:
        os.chmod(tmp_path / "__pycache__", 0o700)


@pytest.mark.parametrize(("remote_mta", "recipient", "expected"), [
    ("mail.fabrikam.example", "it@fabrikam.example", True),  # a name inside the domain
    ("fabrikam.example", "it@fabrikam.example", True),
    ("MX1.Fabrikam.Example.", "it@fabrikam.example", True),  # case and the root dot
    ("fabrikam-example.mail.protection.outlook.com", "it@fabrikam.example", True),  # Microsoft 365's MX
    ("fabrikam-co-uk.mail.protection.outlook.com", "it@fabrikam.co.uk", True),
    ("fabrikam.example.in.filter.example", "it@fabrikam.example", True),  # domain in front
    ("notfabrikam.example", "it@fabrikam.example", False),  # a suffix is whole labels
    ("eur01-db5.mail.protection.outlook.com", "it@fabrikam.example", False),  # another tenant's
    ("aspmx.l.google.com", "it@fabrikam.example", False),  # a shared MX names no domain
    ("fabrikamexample.mail.example", "it@fabrikam.example", False),  # no dash: not a dashed name
    ("mail.fabrikam.example", "it@localhost", False),  # a dotless domain is never matched
])
def test_the_recipient_domain_label_holds_for_the_domains_own_servers(
        remote_mta: str, recipient: str, expected: bool) -> None:
    from bounce_classify.model import RecipientFacts
    from bounce_classify.rules import _with_derived_labels
    labels = _with_derived_labels(RecipientFacts(recipient=recipient, remote_mta=remote_mta))
    assert (labels.get("remote_mta") == "recipient-domain") == expected


# A server's reply in another language, with no status code to go by: the words decide.
@pytest.mark.parametrize(("diagnostic", "reason"), [
    ("550 Benutzer unbekannt", "userunknown"),
    ("550 Utilisateur inconnu", "userunknown"),
    ("550 Пользователь не найден", "userunknown"),
    ("550 Użytkownik nie istnieje", "userunknown"),
    ("550 Mottakeren finnes ikke", "userunknown"),
    ("550 Användaren finns inte", "userunknown"),
    ("550 Kullanıcı bulunamadı", "userunknown"),
    ("550 Uživatel neexistuje", "userunknown"),
    ("552 Почтовый ящик переполнен", "mailboxfull"),
    ("552 Skrzynka pełna", "mailboxfull"),
    ("552 Posta kutusu dolu", "mailboxfull"),
    ("552 Postkassen er fuld", "mailboxfull"),
    ("550 Домен не существует", "hostunknown"),
    ("550 Учетная запись заблокирована", "suspend"),
])
def test_replies_in_other_languages_are_read_by_their_words(diagnostic: str, reason: str) -> None:
    raw = ("From: MAILER-DAEMON@mx.sender.example\nTo: office@sender.example\n"
           "Subject: Undelivered Mail Returned to Sender\n\n"
           f"<someone@dest.example>: host mx.dest.example[198.51.100.9] said: {diagnostic}\n"
           "    (in reply to RCPT TO command)\n").encode()
    results = [r for r in classify(raw) if r.recipient == "someone@dest.example"]
    assert results and results[0].reason == reason


@pytest.mark.parametrize(("diagnostic", "kind", "reply_code", "rule_id", "reason"), [
    # no SMTP server answered: the network, not a list
    ("Deferred: Connection refused by mx.dest.example.", "bounce", None, "specific.connection-refused",
     "networkerror"),
    ("connect to mx.dest.example[198.51.100.9]:25: Connection refused", "delay", None,
     "specific.connection-refused-retrying", "networkerror"),
    # a server that answered, or words that name a list, are read by the rules for those
    ("554 5.7.1 Connection refused, 198.51.100.7 is listed at zen.spamhaus.org", "bounce", "554", "text.blocked",
     "blocked"),
    ("Connection refused: your IP is blacklisted", "bounce", None, "text.blocked", "blocked"),
])
def test_a_refused_connection_is_the_network_unless_a_server_or_a_list_says_more(
        diagnostic: str, kind: str, reply_code: str | None, rule_id: str, reason: str) -> None:
    rule = ruleset().first_match(evidence(diagnostic.lower(), kind=kind, reply_code=reply_code))
    assert rule is not None and (rule.id, rule.reason) == (rule_id, reason)
