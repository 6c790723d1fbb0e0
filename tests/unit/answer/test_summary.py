"""The queue's signals read off a fact sheet: pure."""

from __future__ import annotations

from typing import Any

from consultant.answer.summary import Signals, signals


def _pair(indicator: str, *, stale: bool = False) -> dict[str, Any]:
    return {"kind": "pair", "edit": True, "modifier_indicator": indicator, "stale": stale}


def test_problems_are_named_worst_first_and_once() -> None:
    sheet = {
        "verdicts": [
            _pair("1"),  # a modifier may bypass it: a warning
            {"kind": "addon", "code": "20930", "ok": False},  # an error
            _pair("0"),  # the same words again, now an error
            {"kind": "units", "over": False, "mue": 2},  # nothing wrong: left out
        ]
    }
    assert signals(sheet) == Signals("add-on without primary, PTP edit", "error", False)


def test_a_sheet_without_problems_has_no_summary_but_keeps_the_findings_severity() -> None:
    sheet = {
        "verdicts": [{"kind": "pair", "edit": None}, {"kind": "addon", "ok": True}],
        "findings": [{"severity": "info"}, {"severity": "warning"}],
    }
    assert signals(sheet) == Signals(None, "warning", False)


def test_each_kind_has_its_words() -> None:
    sheet = {
        "verdicts": [
            {"kind": "em_procedure", "modifier": "25"},
            {"kind": "units", "over": True, "mue": 1},
            {"kind": "validity", "code": "0001T"},
            {"kind": "laterality", "conflict": True},
            {"kind": "laterality", "conflict": False},
        ]
    }
    found = signals(sheet)
    assert found.verdicts == (
        "units over MUE, code not valid on the date, laterality conflict, "
        "E/M with a procedure, modifier 25"
    )
    assert found.severity == "error"


def test_stale_data_is_any_verdict_resting_on_data_that_misses_the_date() -> None:
    assert signals({"verdicts": [_pair("1"), _pair("0", stale=True)]}).stale_data
    assert not signals({"verdicts": [_pair("1")], "stale": ["ncci-ptp"]}).stale_data


def test_no_sheet_no_signals() -> None:
    assert signals(None) == Signals(None, None, False)
    assert signals({"rules": [{"id": "mod25"}]}) == Signals(None, None, False)
