"""The claim's setting chooses the NCCI edits and MUEs: a hospital outpatient
question (named in words, or by a HCPCS C code) is answered from the hospital PTP
edits and the facility outpatient hospital MUEs when they are loaded, and says so;
a practitioner question never sees them.

The shared folder has no hospital files, so tests/cms_archives.py makes them
from the practitioner ones with two differences the answers must show: the
hospital file gives 27447 > 20610 modifier indicator 0 (the practitioner one
gives 1), and the facility MUE of 20610 is 1 (the practitioner MUE is 2).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from consultant.answer.engine import Answer, answer_question
from consultant.answer.question import read_question
from consultant.codes.importers import import_file
from consultant.codes.in_effect import (
    ReleaseInfo,
    for_setting,
    made_with,
    releases_in_effect,
    still_in_effect,
)
from consultant.codes.kinds import HOSPITAL, PRACTITIONER
from consultant.db.session import session_scope
from consultant.pipeline.extract import find_codes
from consultant.pipeline.lookup import look_up, render_text
from consultant.settings import Settings
from tests.cms_archives import hospital_mue, hospital_ptp
from tests.conftest import cms_files, module_database, need

FILES = cms_files()
DOS = date(2024, 9, 1)
JULY_2024 = date(2024, 7, 1)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    need(all(path.is_file() for path in FILES.values()), "the shared CMS files are missing")
    folder = Path(tmp_path_factory.mktemp("setting"))
    with module_database(folder) as settings:
        with session_scope(settings) as session:
            for kind, path in FILES.items():
                import_file(session, kind, path)
            ptp = hospital_ptp(folder / "ccioph-v302r0-f1.txt")
            import_file(session, "ncci-ptp-hospital", ptp)
            mue = hospital_mue(folder / "MCR_MUE_OutpatientHospitalServices_Eff_07-01-2024.csv")
            import_file(session, "mue-hospital", mue)
        yield settings


def ask(settings: Settings, text: str) -> Answer:
    with session_scope(settings) as session:
        return answer_question(session, "", text, find_codes(text), DOS)


def pair(answer: Answer) -> dict[str, Any]:
    """The verdict on 27447 with 20610."""
    found = [
        v for v in answer.verdicts if v.kind == "pair" and v.fields["codes"] == ["20610", "27447"]
    ]
    assert len(found) == 1, answer.verdicts
    return {**found[0].as_json(), "kinds": [s.kind for s in found[0].sources]}


def test_a_hospital_outpatient_question_gets_the_hospital_edits(loaded: Settings) -> None:
    answer = ask(loaded, "Hospital outpatient claim: can we bill 27447 with 20610 and 59?")
    found = pair(answer)
    assert (found["column1"], found["modifier_indicator"]) == ("27447", "0")
    assert found["kinds"] == ["ncci-ptp-hospital"]
    assert "no modifier bypasses this edit" in answer.text
    assert (
        "These verdicts rest on CMS's NCCI edits for hospital outpatient claims, "
        "because you mention a hospital outpatient claim."
    ) in answer.text
    assert "NCCI PTP edits, hospital outpatient" in answer.text  # the citation


def test_the_same_question_from_a_practice_gets_the_practitioner_edits(loaded: Settings) -> None:
    answer = ask(loaded, "Can we bill 27447 with 20610 and 59?")
    found = pair(answer)
    assert (found["modifier_indicator"], found["kinds"]) == ("1", ["ncci-ptp"])
    assert "hospital" not in answer.text.lower()


def test_a_c_code_makes_the_claim_a_hospital_outpatient_one(loaded: Settings) -> None:
    text = "27447 with 20610 and C1776 same session, modifier 59 on 20610?"
    question = read_question("", text, find_codes(text))
    assert (question.setting, question.setting_code) == ("hospital outpatient", "C1776")
    assert question.claim_setting == HOSPITAL
    answer = ask(loaded, text)
    assert pair(answer)["modifier_indicator"] == "0"
    assert "because C1776 is a HCPCS C code, which CMS created for hospital outpatient" in (
        answer.text
    )


def test_an_asc_claim_keeps_the_practitioner_edits_and_says_so(loaded: Settings) -> None:
    answer = ask(loaded, "Billing for an ASC: 27447 with 20610, modifier 59?")
    assert pair(answer)["modifier_indicator"] == "1"
    assert "You mention an ASC claim: these verdicts rest on CMS's practitioner" in answer.text


def test_units_are_held_against_the_settings_mue(loaded: Settings) -> None:
    hospital = ask(loaded, "Hospital outpatient: 20610 x 2 units, is that ok?")
    assert "2 units of 20610 are above its outpatient hospital MUE of 1" in hospital.text
    practice = ask(loaded, "20610 x 2 units, is that ok?")
    assert "2 units of 20610: within its practitioner MUE of 2." in practice.text


def test_the_lookup_and_its_record_name_the_setting(loaded: Settings) -> None:
    refs = find_codes("27447 20610")
    with session_scope(loaded) as session:
        report = look_up(session, refs, dos=DOS, setting=HOSPITAL)
        recorded = made_with(releases_in_effect(session, DOS, HOSPITAL))
        same = still_in_effect(recorded, session, DOS, HOSPITAL)
        other = still_in_effect(recorded, session, DOS, PRACTITIONER)
    edit = next(f for f in report.findings if f.kind == "ptp")
    assert edit.source.kind == "ncci-ptp-hospital"
    assert report.to_dict()["setting"] == HOSPITAL
    assert render_text(report).splitlines()[1].startswith("Claim setting: hospital outpatient (")
    assert {r["kind"] for r in recorded} >= {"ncci-ptp-hospital", "mue-hospital"}
    assert (same, other) == (True, False)  # a draft made for one setting is stale for another


def release(kind: str, id_: int) -> ReleaseInfo:
    return ReleaseInfo(id_, kind, "2024 Q3", JULY_2024, f"{kind}.txt")


def test_for_setting_falls_back_to_the_practitioner_files() -> None:
    chosen = {k: release(k, n) for n, k in enumerate(("ncci-ptp", "mue", "mue-dme", "pfs"))}
    hospital = for_setting(chosen, HOSPITAL)
    assert {k: r.kind for k, r in hospital.items()} == {
        "ncci-ptp": "ncci-ptp",
        "mue": "mue",
        "pfs": "pfs",
    }
    assert for_setting(chosen, "dme")["mue"].kind == "mue-dme"
    assert "mue-dme" not in for_setting(chosen, PRACTITIONER)
