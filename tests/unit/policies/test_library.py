"""The package's starting library: it loads, it is big enough, every rule cites its
source, and every rule is cited for a question it belongs to and kept out of one it
does not (cases/*.yaml, questions written as coders write them)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from consultant.answer.engine import asked
from consultant.answer.question import read_question
from consultant.answer.verdicts import Verdict
from consultant.pipeline.extract import find_codes
from consultant.policies.match import applicable
from consultant.policies.rules import VERDICT
from consultant.policies.store import package_rules

CASES = {
    rule: case
    for path in sorted((Path(__file__).parent / "cases").glob("*.yaml"))
    for rule, case in yaml.safe_load(path.read_text(encoding="utf-8")).items()
}
RULES = package_rules()
DOS = date(2025, 6, 2)


def cited(case: dict[str, Any]) -> list[str]:
    text = case["text"]
    question = read_question("", text, find_codes(text))
    verdicts = []
    for spec in case.get("verdicts", []):
        match = VERDICT.match(spec)
        assert match is not None, spec
        fields = {match["field"]: yaml.safe_load(match["value"])} if match["field"] else {}
        verdicts.append(Verdict(match["kind"], fields, ""))
    found = applicable(RULES, asked(question, text, verdicts, DOS), limit=len(RULES))
    return [rule.rule.id for rule in found]


def test_every_rule_has_a_question_for_and_against_it() -> None:
    assert sorted(CASES) == sorted(rule.id for rule in RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_a_rule_is_cited_where_it_belongs_and_only_there(rule: Any) -> None:
    assert rule.id in cited(CASES[rule.id]["fires"])
    assert rule.id not in cited(CASES[rule.id]["silent"])


def test_the_starting_library_is_large_cited_and_reviewed() -> None:
    assert len(RULES) >= 30
    for rule in RULES:
        assert rule.citations and all(len(citation) > 10 for citation in rule.citations)
        assert rule.reviewed_by and rule.reviewed_on <= date.today()
        assert not rule.retired and rule.in_force(DOS)
