"""The answer engine on the real CMS files and the ICD-10-CM tabular (../shared/data),
loaded once for the module by the real importers: one test per verdict kind and
case the answer must get right. The questions are written as coders write them;
the expected facts are the files' own (read with sqlite3 when the test was written:
27447>20610 indicator 1; 10004>36591 indicator 0; 20552>64510 deleted 2021-06-30;
global days 20610 000, 10060 010, 27447 090; 11045's primary 11042; J3301 10 mg
a unit, MUE 16; 11101's edits all deleted 2018-12-31)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from consultant.answer.engine import Answer, answer_question
from consultant.answer.units import dose_units
from consultant.codes.cms_rows import read_cms
from consultant.codes.icd10cm import load_icd10cm
from consultant.codes.importers import import_file
from consultant.codes.in_effect import releases_in_effect
from consultant.db.session import session_scope
from consultant.pipeline.extract import find_codes
from consultant.settings import Settings
from tests.conftest import cms_files, module_database, need, shared_dir

DATA = shared_dir() / "data"
FILES = cms_files()
DOS = date(2024, 9, 1)  # inside the 2024 Q3 files


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    need(all(path.is_file() for path in FILES.values()), f"the shared CMS files are not in {DATA}")
    with module_database(Path(tmp_path_factory.mktemp("answer"))) as settings:
        with session_scope(settings) as session:
            for kind, path in FILES.items():
                import_file(session, kind, path)
            load_icd10cm(session)
        yield settings


def ask(settings: Settings, text: str, dos: date = DOS) -> Answer:
    with session_scope(settings) as session:
        return answer_question(session, "", text, find_codes(text), dos)


def only(answer: Answer, kind: str) -> dict[str, Any]:
    found = [v.as_json() for v in answer.verdicts if v.kind == kind]
    assert len(found) == 1, answer.verdicts
    return found[0]


def test_a_live_edit_with_indicator_1_takes_no_modifier_on_the_same_knee(loaded: Settings) -> None:
    answer = ask(loaded, "Can I bill 27447 with 20610? Both on the same knee.")
    pair = only(answer, "pair")
    assert pair["codes"] == ["20610", "27447"] and pair["edit"] is True
    assert (pair["column1"], pair["column2"], pair["modifier_indicator"]) == ("27447", "20610", "1")
    assert pair["modifier"] is None and pair["stale"] is False
    assert answer.text.startswith("20610 is column 2 to 27447")
    assert "report the column 1 code only" in answer.text and "2024 Q3" in answer.text


def test_a_distinct_site_says_which_modifier_and_on_which_line(loaded: Settings) -> None:
    pair = only(ask(loaded, "27447 on the left knee, 20610 on the opposite knee: both?"), "pair")
    assert (pair["modifier"], pair["modifier_on"]) == ("XS", "20610")


def test_indicator_0_allows_no_modifier_even_when_asked(loaded: Settings) -> None:
    answer = ask(loaded, "Can we bill 10004 with 36591 if we add modifier 59?")
    pair = only(answer, "pair")
    assert pair["modifier_indicator"] == "0" and pair["modifier"] is None
    assert "no modifier bypasses this edit" in answer.text


def test_an_edit_deleted_before_the_date_of_service_is_no_edit(loaded: Settings) -> None:
    pair = only(ask(loaded, "Is 64510 bundled with 20552?"), "pair")
    assert pair["edit"] is False and pair["deleted"] == "2021-06-30"
    before = only(ask(loaded, "Is 64510 bundled with 20552?", dos=date(2021, 3, 1)), "pair")
    assert before["edit"] is True and before["column1"] == "20552"


@pytest.mark.parametrize(
    ("text", "procedure", "modifier"),
    [
        ("Office visit 99213 and 20610 the same day?", "20610", "25"),  # 0-day global
        ("99213 with 10060 at the same visit?", "10060", "25"),  # 10-day global
        ("99204 the day before 27447, decision for surgery", "27447", "57"),  # 90-day
    ],
)
def test_an_em_with_a_procedure_takes_25_or_57_by_global_days(
    loaded: Settings, text: str, procedure: str, modifier: str
) -> None:
    answer = ask(loaded, text)
    verdict = only(answer, "em_procedure")
    assert (verdict["procedure"], verdict["modifier"]) == (procedure, modifier)
    assert not [v for v in answer.verdicts if v.kind == "pair"]  # 25 is no PTP bypass


def test_a_visit_named_in_words_is_answered_for_the_office_visit_family(
    loaded: Settings,
) -> None:
    answer = ask(loaded, "Can we bill an office visit and 20610 for a new patient?")
    verdict = only(answer, "em_procedure")
    assert verdict == verdict | {"em": "99202-99215", "procedure": "20610", "modifier": "25"}
    assert answer.text.startswith("An office or outpatient visit (99202-99215) with 20610")
    assert "modifier 25 on the E/M line" in answer.text


def test_an_add_on_with_and_without_its_primary(loaded: Settings) -> None:
    with_primary = only(ask(loaded, "Can 11045 be billed with 11042?"), "addon")
    assert with_primary == with_primary | {"code": "11045", "ok": True}
    assert with_primary["primaries_in_question"] == ["11042"]
    alone = ask(loaded, "Can 11045 be billed on its own?")
    assert only(alone, "addon")["ok"] is False and "11042" in alone.text


def test_a_dose_is_converted_to_units_and_checked_against_the_mue(loaded: Settings) -> None:
    over = only(ask(loaded, "We gave 200 mg of Kenalog, J3301. How many units?"), "units")
    assert over == over | {"code": "J3301", "units": 20, "mue": 16, "over": True}
    within = only(ask(loaded, "Patient got 40 mg, billed with J3301."), "units")
    assert within == within | {"units": 4, "over": False}
    assert dose_units(2.5, "mg", 10, "mg") == 1  # a partial unit rounds up
    assert dose_units(1, "ml", 10, "mg") is None  # a volume is no weight


def test_a_volume_goes_through_the_strength_the_asker_states(loaded: Settings) -> None:
    """'40 mg/mL' is a strength, not a dose: 2 mL of it is 80 mg, 8 units of J3301."""
    stated = ask(loaded, "We gave 2 ml of Kenalog J3301, 40 mg/ml. How many units?")
    assert only(stated, "units") == only(stated, "units") | {"units": 8, "over": False}
    assert "2 mL at the stated 40 mg/mL is 80 mg" in stated.text
    sentence = ask(loaded, "If 1cc equals 40mg, how many units of J3301 for 5 cc?")
    assert only(sentence, "units")["units"] == 20 and only(sentence, "units")["over"] is True
    # No strength stated: a volume is not turned into a weight.
    assert not [v for v in ask(loaded, "J3301, 2 ml given. Units?").verdicts if v.kind == "units"]


@pytest.mark.parametrize(
    ("question", "expected", "words"),
    [
        (  # indicator 1: one line with 50, 1 unit, 150 %
            "Patient had 27447 RT and 27447 LT same day. How do I bill?",
            {"code": "27447", "units": 2, "over": True, "modifier": "50", "report": 1},
            "on one line with modifier 50 and 1 unit",
        ),
        (  # indicator 2: valued bilateral already, once without 50
            "Can you bill the 69210 for each ear or only once for both ears?",
            {"code": "69210", "units": 2, "over": True, "bilateral_indicator": "2", "report": 1},
            "reported once, 1 unit, without modifier 50",
        ),
        (  # indicator 3: each side at 100 %
            "X-ray 73560 of both knees, how many units?",
            {"code": "73560", "units": 2, "over": False, "bilateral_indicator": "3", "report": 2},
            "both sides are reported (RT and LT, 1 unit each)",
        ),
    ],
)
def test_both_sides_are_reported_as_the_bilateral_indicator_says(
    loaded: Settings, question: str, expected: dict[str, Any], words: str
) -> None:
    answer = ask(loaded, question)
    verdict = only(answer, "units")
    assert verdict == verdict | expected
    assert words in answer.text and "Chapter 12, section 40.7" in answer.text


def test_indicator_0_gives_no_bilateral_statement(loaded: Settings) -> None:
    answer = ask(loaded, "Ultrasound 76882 of both knees, how do I bill?")
    assert not [v for v in answer.verdicts if v.kind == "units"]


def test_a_deleted_code_is_never_valid_and_says_when_it_ended(loaded: Settings) -> None:
    answer = ask(loaded, "Claim with 11101 denied as invalid, why?")
    verdict = only(answer, "validity")
    assert verdict == verdict | {"code": "11101", "valid": False, "ended": "2018-12-31"}
    # A code no CMS file knows (a typo for 94640) is no code at all.
    typo = only(ask(loaded, "Many units of 96460 in the inpatient setting?"), "validity")
    assert typo == typo | {"code": "96460", "valid": False, "ended": None}


def test_a_right_knee_diagnosis_with_a_left_side_procedure_conflicts(loaded: Settings) -> None:
    verdict = only(ask(loaded, "Billing 27447-LT, dx M17.11. Any problem?"), "laterality")
    assert verdict == verdict | {"codes": ["27447", "M17.11"], "conflict": True}
    same = only(ask(loaded, "Billing 27447-RT, dx M17.11."), "laterality")
    assert same["conflict"] is False


def test_a_date_the_loaded_quarter_does_not_cover_is_stale(loaded: Settings) -> None:
    answer = ask(loaded, "Can I bill 27447 with 20610?", dos=date(2025, 10, 1))
    assert only(answer, "pair")["stale"] is True and "ncci-ptp" in answer.stale
    assert "do not cover the date of service" in answer.text


def test_a_question_of_no_verdict_kind_gets_no_proposed_answer(loaded: Settings) -> None:
    answer = ask(loaded, "Does Medicare cover telehealth for new patients in 2024?")
    assert answer.verdicts == () and answer.text == ""


def test_a_code_on_two_lines_counts_a_unit_a_line_and_is_told_how_to_report(
    loaded: Settings,
) -> None:
    answer = ask(loaded, "We billed 64493 and 64493-50 on the same day. Is that right?")
    verdict = only(answer, "units")
    assert verdict == verdict | {"code": "64493", "units": 2, "modifier": "50", "report": 1}
    assert "2 units of 64493 (on 2 lines: 64493, 64493-50)" in answer.text
    assert "on one line with modifier 50 and 1 unit" in answer.text
    # One visit asked two ways is not two units of it.
    visit = ask(loaded, "Should it be 99214, 99214-25 with 20610?")
    assert not [v for v in visit.verdicts if v.kind == "units"]


@pytest.mark.parametrize(
    ("question", "words", "absent"),
    [
        (
            "Hospital outpatient claim: can I bill 27447 with 20610 on the same knee?",
            "separate NCCI edits for hospital outpatient claims",
            "commercial payer",
        ),
        (
            "Our ASC billed 27447 with 20610. Modifier?",
            "You mention an ASC claim: these verdicts rest on CMS's practitioner",
            "hospital outpatient",
        ),
        (
            "Commercial plan (BCBS): can I bill 27447 with 20610?",
            "You mention a commercial payer",
            "You mention a hospital",
        ),
    ],
)
def test_the_answer_names_the_files_its_verdicts_rest_on_for_the_setting_and_payer(
    loaded: Settings, question: str, words: str, absent: str
) -> None:
    answer = ask(loaded, question)
    paragraphs = answer.text.split("\n\n")
    assert paragraphs[0].startswith("20610 is column 2 to 27447")  # the verdict stays first
    assert paragraphs[-1].startswith("The rules this rests on:\n- ")  # the rules come last
    assert words in paragraphs[-2] and absent not in answer.text
    assert [v.kind for v in answer.verdicts] == ["pair"]


def test_a_setting_alone_drafts_no_answer(loaded: Settings) -> None:
    answer = ask(loaded, "Is telehealth allowed in a hospital outpatient department?")
    assert answer.verdicts == () and answer.text == ""


def test_a_terminated_hcpcs_code_names_its_cross_reference_and_its_last_day_is_valid(
    loaded: Settings,
) -> None:
    """C9150 ends on 2024-09-30 in the HCPCS file, cross-referenced to A9610."""
    question = "Can we still bill C9150 for this patient?"
    assert not [v for v in ask(loaded, question, date(2024, 9, 30)).verdicts]  # its last day
    answer = ask(loaded, question, date(2024, 10, 1))
    verdict = only(answer, "validity")
    assert verdict == verdict | {"code": "C9150", "valid": False, "ended": "2024-09-30"}
    assert verdict["replaced_by"] == ["A9610"]
    assert "cross-references it to A9610" in answer.text
    # A terminated code the file names no successor for says only when it ended.
    plain = only(ask(loaded, "Is C7558 billable?", date(2025, 1, 2)), "validity")
    assert (plain["ended"], plain["replaced_by"]) == ("2024-12-31", [])


def test_the_answer_reads_no_cms_table_the_lookup_beside_it_has_read(loaded: Settings) -> None:
    """read_cms for codes a read in the same transaction covered is that read narrowed:
    no query, and the same rows a fresh read of just those codes finds."""
    procedures, modifiers = ["27447", "20610", "20700", "J1100", "64493"], ["59", "RT"]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    with session_scope(loaded) as session:
        releases = releases_in_effect(session, DOS)
        event.listen(session.connection(), "before_cursor_execute", count)
        read_cms(session, releases, DOS, procedures, modifiers)
        assert len(statements) >= 5
        statements.clear()
        asked = [(["27447", "20610"], ["59"]), (["J1100"], []), ([], ["RT"])]
        narrowed = [read_cms(session, releases, DOS, codes, mods) for codes, mods in asked]
        assert statements == []
        assert read_cms(session, releases, DOS, ["27447", "99214"], []) is not None
        assert len(statements) >= 4  # a code the first read did not cover: read afresh
    for (codes, mods), found in zip(asked, narrowed, strict=True):
        with session_scope(loaded) as session:  # a new transaction reads afresh
            event.listen(session.connection(), "before_cursor_execute", count)
            statements.clear()
            assert found == read_cms(session, releases, DOS, codes, mods)
            assert statements or not codes


def test_the_rules_a_verdict_rests_on_are_cited_with_their_version(loaded: Settings) -> None:
    answer = ask(loaded, "99204 the day before 27447, decision for surgery")
    cited = {found.rule.id: found for found in answer.rules}
    decision = cited["em-decision-for-surgery-57"]
    em = [n for n, v in enumerate(answer.verdicts) if v.kind == "em_procedure"]
    assert decision.verdicts == tuple(em) and "em-with-minor-procedure-25" not in cited
    line = f"[rule em-decision-for-surgery-57 v{decision.rule.version}]"
    assert f"The rules this rests on:\n- {decision.rule.title} (" in answer.text
    assert answer.text.endswith(line) or f"{line}\n" in answer.text


def test_a_question_without_a_verdict_still_gets_its_rules_but_no_answer(loaded: Settings) -> None:
    answer = ask(loaded, "When is the decision for surgery billable, and with which modifier?")
    assert not answer.verdicts and answer.text == ""
    assert "em-decision-for-surgery-57" in [found.rule.id for found in answer.rules]
