"""Rule entries are checked before they are used: every problem of every entry is
named, with the entry it is in."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from consultant.policies.match import Asked, applicable
from consultant.policies.rules import PolicyError, parse_library, parse_rule


def entry(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "test-rule",
        "title": "A rule",
        "text": "What it says.",
        "citations": ["NCCI Policy Manual for Medicare Services, ch. I"],
        "applies": [{"codes": ["20610"]}],
        "reviewed_by": "a.reviewer@example.org",
        "reviewed_on": "2026-12-06",
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"id": "Not An Id"}, "id must be lower-case"),
        ({"citations": []}, "citations must list at least one source"),
        ({"applies": []}, "applies must list at least one condition"),
        ({"applies": [{"codez": ["1"]}]}, "unknown key(s) codez"),
        ({"applies": [{"codes": ["20610-2061"]}]}, "is not a code, a range A-B or a prefix*"),
        ({"applies": [{"codes": ["20615-20610"]}]}, "is not a code, a range A-B or a prefix*"),
        ({"applies": [{"verdicts": ["bundle"]}]}, "is not a verdict kind"),
        ({"applies": [{"pairs": ["64721"]}]}, "is not a pair A.B of codes"),
        ({"applies": [{"pairs": ["64721+64719+64718"]}]}, "is not a pair A.B of codes"),
        ({"applies": [{"modifiers": ["255"]}]}, "is not a modifier"),
        ({"applies": [{"with_words": ["x"]}]}, "with_words needs words"),
        ({"title": "two\nlines"}, "title must be one line"),
        ({"reviewed_on": "06/12/2026"}, "reviewed_on must be a date"),
        ({"effective": "2025-01-01", "expires": "2024-01-01"}, "expires is before effective"),
        ({"colour": "red"}, "unknown key(s) colour"),
        ({"version": 0}, "version must be a whole number"),
    ],
)
def test_a_bad_entry_is_refused_with_its_problem(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(PolicyError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_rule(entry(**changes))


def test_a_library_names_each_bad_entry_and_a_repeated_id() -> None:
    entries = [entry(), entry(id="second", text=""), entry(), entry(id="fourth", applies=None)]
    with pytest.raises(PolicyError) as refused:
        parse_library(entries)
    lines = str(refused.value).splitlines()
    assert lines == [
        "entry 2 (second): text is missing",
        "entry 3 (test-rule): the id test-rule is used by an earlier entry",
        "entry 4 (fourth): applies must list at least one condition",
    ]


def test_an_entry_round_trips_through_its_export_form() -> None:
    rule = parse_rule(entry(unless=["Inpatient"], effective=date(2024, 1, 1)))
    assert parse_rule(rule.entry()) == rule
    assert rule.unless == ("inpatient",)


def ask(text: str, codes: tuple[str, ...] = (), verdicts: Any = (), dos: Any = None) -> Asked:
    return Asked.of(text, codes, (), list(verdicts), dos or date(2025, 3, 1))


def test_every_key_of_an_alternative_must_match_and_any_alternative_will() -> None:
    rule = parse_rule(
        entry(
            applies=[
                {"codes": ["99202-99215"], "words": ["minor procedure*"]},
                {"verdicts": ["em_procedure:modifier=57"]},
            ]
        )
    )
    assert applicable([rule], ask("an office visit and minor procedures", ("99213",)))
    assert not applicable([rule], ask("an office visit and minor procedures", ("99221",)))
    assert not applicable([rule], ask("an office visit", ("99213",)))
    assert not applicable([rule], ask("x", verdicts=[("em_procedure", {"modifier": "25"})]))
    verdicts = [("pair", {}), ("em_procedure", {"modifier": "57"})]
    found = applicable([rule], ask("x", verdicts=verdicts))
    assert [f.verdicts for f in found] == [(1,)]


def test_phrases_match_whole_words_and_unless_keeps_a_rule_out() -> None:
    rule = parse_rule(entry(applies=[{"words": ["global period"]}], unless=["inpatient"]))
    assert applicable([rule], ask("Within the\nGLOBAL   period, may I bill?"))
    assert not applicable([rule], ask("the global periods"))
    assert not applicable([rule], ask("global period of an inpatient stay"))


def test_a_rule_applies_only_on_dates_it_is_in_force_and_not_retired() -> None:
    rule = parse_rule(entry(effective="2025-01-01", expires="2025-12-31"))
    assert applicable([rule], ask("", ("20610",), dos=date(2025, 12, 31)))
    assert not applicable([rule], ask("", ("20610",), dos=date(2024, 12, 31)))
    assert not applicable([rule], ask("", ("20610",), dos=date(2026, 1, 1)))
    assert not applicable([parse_rule(entry(retired=True))], ask("", ("20610",)))


def test_verdict_rules_come_before_code_rules_before_word_rules() -> None:
    words = parse_rule(entry(id="words", applies=[{"words": ["knee"]}]))
    codes = parse_rule(entry(id="codes", applies=[{"codes": ["2*"]}]))
    verdict = parse_rule(entry(id="verdict", applies=[{"verdicts": ["pair"]}]))
    found = applicable([words, codes, verdict], ask("knee", ("20610",), [("pair", {})]))
    assert [f.rule.id for f in found] == ["verdict", "codes", "words"]
    assert len(applicable([words, codes, verdict], ask("knee", ("20610",), [("pair", {})]), 2)) == 2


def test_a_pair_needs_two_different_codes_one_for_each_side() -> None:
    rule = parse_rule(entry(applies=[{"pairs": ["64721 + 64702-64727"]}]))
    assert rule.applies[0].pairs == ("64721+64702-64727",)
    assert applicable([rule], ask("", ("64721", "64719")))
    assert not applicable([rule], ask("", ("64721",)))  # one code is no pair
    assert not applicable([rule], ask("", ("64721", "20610")))
    found = applicable([rule, parse_rule(entry(id="codes"))], ask("", ("64721", "64719", "20610")))
    assert [(f.rule.id, f.weight) for f in found] == [("test-rule", 3), ("codes", 2)]
