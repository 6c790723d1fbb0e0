"""The lookup stage: pure parts, then lookups on SQLite with the real CMS files and
the ICD-10-CM tabular loaded by the real loaders once for the module."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import pytest

from consultant.codes.cms_rows import read_cms
from consultant.codes.cpt_sections import cpt_section
from consultant.codes.edits import compact, primaries
from consultant.codes.excludes import Reference, note_covers, references
from consultant.codes.facts import CodeFacts, Fact, Finding, Report, Source
from consultant.codes.icd10cm import load_icd10cm
from consultant.codes.importers import import_file
from consultant.codes.in_effect import ReleaseInfo, choose, releases_in_effect
from consultant.codes.releases import release_in_effect
from consultant.db.migrate import upgrade
from consultant.db.models.codes import RELEASE_KINDS
from consultant.db.session import dispose_engines, session_scope
from consultant.pipeline.extract import CodeRef
from consultant.pipeline.lookup import date_of_service, look_up, parse_codes, render_text
from consultant.settings import Settings, get_settings
from tests.conftest import cms_files, need, shared_dir

DATA = shared_dir() / "data"
FILES = cms_files()
DOS = date(2024, 9, 1)
MAIL_DAY = date(2026, 3, 20)


def ref(code: str, system: str, units: int | None = None) -> CodeRef:
    return CodeRef(code, system, code, 0, len(code), units=units)


# --- date of service -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Can I bill 20700 with 27447? DOS 3/14/2026", date(2026, 3, 14)),
        ("date of service: 2026-03-14, modifier 59?", date(2026, 3, 14)),
        ("DOS: 03-14-26 for the knee", date(2026, 3, 14)),
        ("service date March 14, 2026", date(2026, 3, 14)),
        ("Date of Service was 14 March 2026.", date(2026, 3, 14)),
        ("D.O.S. 1/2/2025", date(2025, 1, 2)),
        ("dates of service 12.31.2025 and after", date(2025, 12, 31)),
        ("the DOS of Mar. 3rd 2026", date(2026, 3, 3)),
    ],
)
def test_date_of_service_reads_the_date_the_mail_states(text: str, expected: date) -> None:
    assert date_of_service(text, MAIL_DAY) == (expected, "stated in the mail")


def test_date_of_service_without_a_year_is_the_last_such_day_before_the_mail() -> None:
    assert date_of_service("DOS 3/14", MAIL_DAY) == (date(2026, 3, 14), "stated in the mail")
    assert date_of_service("DOS 12/30", MAIL_DAY) == (date(2025, 12, 30), "stated in the mail")


@pytest.mark.parametrize(
    "text",
    [
        "Can I bill 20700 with 27447? Dx M86.161",
        "Seen 3/14/2026, billed 4/1/2026",  # a date, but not said to be the service date
        "DOS 13/45/2026",  # no such day
        "The DOS box was empty",
    ],
)
def test_date_of_service_falls_back_to_the_date_of_the_mail(text: str) -> None:
    assert date_of_service(text, MAIL_DAY) == (MAIL_DAY, "date of the mail")


# --- Excludes1 references -----------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "covered", "not_covered"),
    [
        ("type 1 diabetes mellitus (E10.-)", ["E10.9", "E10.65", "E10"], ["E11.9", "E1"]),
        ("gestational diabetes (O24.4-)", ["O24.410", "O24.4"], ["O24.3", "O24.01"]),
        ("neonatal diabetes mellitus (P70.2)", ["P70.2"], ["P70.1", "P70"]),
        ("neoplasms (C00-C96)", ["C50.911", "C4A.9", "C96.Z"], ["D00.0", "B99"]),
        ("diabetes mellitus (E08-E13)", ["E11.9", "E08.00", "E13.9"], ["E14", "E07.9"]),
        ("inflammatory bowel (K50.-, K51.-)", ["K50.90", "K51.00"], ["K52.9"]),
        ("Escherichia coli infection (A04.0-A04.4)", ["A04.1", "A04.4"], ["A04.5"]),
        ("occlusion (I63.3-I63.5-)", ["I63.312", "I63.50"], ["I63.2", "I63.6"]),
        ("neuralgic amyotrophy in diabetes mellitus (E08-E13 with .44)", ["E11.44"], ["E11.49"]),
        ("fluency disorder (I69. with final characters -23)", ["I69.023"], ["I69.020"]),
        ("mononucleosis with meningitis (B27.- with fifth character 2)", ["B27.92"], ["B27.90"]),
    ],
)
def test_excludes1_references_cover_prefixes_ranges_and_conditions(
    note: str, covered: list[str], not_covered: list[str]
) -> None:
    for code in covered:
        assert note_covers(note, code) is not None, (note, code)
    for code in not_covered:
        assert note_covers(note, code) is None, (note, code)


def test_excludes1_reference_parsing_ignores_words_in_parentheses() -> None:
    note = "glucose-6-phosphate dehydrogenase (G6PD) deficiency without anemia (D75.A)"
    assert references(note) == (Reference("D75A", "D75A"),)
    assert references("pancytopenia (due to) (with) aplastic anemia (D61.9)") == (
        Reference("D619", "D619"),
    )
    assert references("certain localized infections - see body system-related chapters") == ()
    # A condition the parser cannot read covers nothing rather than too much.
    unread = references("open fracture (S52.- with open fracture 7th character)")
    assert [r.unreadable for r in unread] == [True]
    assert note_covers("open fracture (S52.- with open fracture 7th character)", "S52.001B") is None


# --- CPT sections, compact lists, sources ---------------------------------------------


@pytest.mark.parametrize(
    ("code", "section", "subsection"),
    [
        ("00100", "Anesthesia", None),
        ("01999", "Anesthesia", None),
        ("10004", "Surgery", "Integumentary System"),
        ("19499", "Surgery", "Integumentary System"),
        ("27447", "Surgery", "Musculoskeletal System"),
        ("20700", "Surgery", "Musculoskeletal System"),
        ("33016", "Surgery", "Cardiovascular System"),
        ("55920", "Surgery", "Reproductive System and Intersex"),
        ("69990", "Surgery", "Operating Microscope"),
        ("70010", "Radiology", None),
        ("80047", "Pathology and Laboratory", None),
        ("90281", "Medicine", None),
        ("99213", "Evaluation and Management", None),
        ("99500", "Medicine", None),
        ("0001F", "Category II (performance measurement)", None),
        ("0591T", "Category III (emerging technology)", None),
        ("0001U", "Proprietary Laboratory Analyses (PLA)", None),
    ],
)
def test_cpt_section_of_a_code_number(code: str, section: str, subsection: str | None) -> None:
    found = cpt_section(code)
    assert found is not None
    assert (found.section, found.subsection) == (section, subsection)


def test_cpt_section_names_the_range_and_knows_no_section_outside_them() -> None:
    assert str(cpt_section("27447")) == "Surgery, Musculoskeletal System (20100\u201329999)"
    assert str(cpt_section("0591T")) == "Category III (emerging technology) (####T)"
    assert cpt_section("69995") is None
    assert cpt_section("99700") is None
    assert cpt_section("J1100") is None
    assert cpt_section("2744") is None


def test_compact_joins_runs_of_consecutive_codes() -> None:
    codes = ["11010", "11011", "11012", "11043", "11044", "20240", "0213T"]
    assert compact(codes) == "11010\u201311012, 11043, 11044, 20240, 0213T"
    assert compact(codes, limit=2) == "11010\u201311012, 11043 and 3 more"


def test_source_cites_release_label_and_file() -> None:
    source = Source("ncci-ptp", "2024 Q3", date(2024, 7, 1), "ptp_practitioner_2024q3_full.csv.gz")
    assert source.cite() == (
        "NCCI PTP edits (practitioner), 2024 Q3, ptp_practitioner_2024q3_full.csv.gz"
    )
    late = Source("addon", "2026 Q2", date(2026, 4, 1), "aoc_medicare_2026q2.csv", "in effect…")
    assert late.cite().endswith("aoc_medicare_2026q2.csv (in effect…)")
    assert late.short() == "NCCI add-on code edits, 2026 Q2, starts after the date of service"


def test_a_release_older_than_the_date_of_service_says_so_per_fact() -> None:
    release = ReleaseInfo(7, "ncci-ptp", "2024 Q3", date(2024, 7, 1), "ptp.csv.gz")
    assert release.source(date(2024, 9, 30)).note == ""  # inside its quarter
    old = release.source(date(2026, 12, 6))
    assert old.note == "covers 2024-07-01 to 2024-09-30, before the date of service"
    assert old.short() == "NCCI PTP edits, 2024 Q3, ends before the date of service"
    assert old.cite().endswith("(covers 2024-07-01 to 2024-09-30, before the date of service)")
    early = release.source(date(2024, 6, 30))
    assert early.note == "in effect from 2024-07-01, after the date of service"


def test_parse_codes_classifies_codes_typed_one_by_one() -> None:
    found = parse_codes(["27447", "20700", "59", "E119", "J1100", "lt", "s82.821a", "0591T"])
    assert [(r.code, r.system) for r in found] == [
        ("27447", "cpt"),
        ("20700", "cpt"),
        ("59", "modifier"),
        ("E11.9", "icd10cm"),
        ("J1100", "hcpcs"),
        ("LT", "modifier"),
        ("S82.821A", "icd10cm"),
        ("0591T", "cpt"),
    ]
    with pytest.raises(ValueError, match="HELLO is not"):
        parse_codes(["27447 hello"])


def test_render_text_ends_every_fact_and_finding_line_with_its_source() -> None:
    ptp = Source("ncci-ptp", "2024 Q3", date(2024, 7, 1), "ptp.csv.gz")
    mods = Source("consultant", "modifier list (own wording)")
    report = Report(
        date(2024, 9, 1),
        "stated in the mail",
        (
            CodeFacts("27447", "cpt", "valid", "", (Fact("status", "valid: listed", ptp),)),
            CodeFacts("59", "modifier", "valid", "x", (Fact("description", "distinct", mods),)),
        ),
        (Finding("ptp", "warning", ("27447", "20610"), "NCCI PTP edit: …", ptp),),
        ("cpt-descriptors",),
    )
    text = render_text(report)
    print(text)
    lines = text.splitlines()
    assert lines[0] == "Date of service: 2024-09-01 (stated in the mail)"
    assert "27447 (CPT): valid" in lines
    assert "  - valid: listed [NCCI PTP edits, 2024 Q3]" in lines
    assert "  - distinct [consultant, modifier list (own wording)]" in lines
    assert "  - WARNING (ptp, 27447 + 20610): NCCI PTP edit: … [NCCI PTP edits, 2024 Q3]" in lines
    assert "Not loaded (facts from these are missing): CPT descriptors (AMA licence)" in lines
    assert lines[-1] == "  - NCCI PTP edits, 2024 Q3, ptp.csv.gz"
    assert json.loads(json.dumps(report.to_dict()))["findings"][0]["source"]["file"] == "ptp.csv.gz"


# --- lookups on SQLite with the real files ----------------------------------------


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A migrated SQLite database with the CMS files and the ICD-10-CM tabular loaded."""
    need(all(path.is_file() for path in FILES.values()), f"the shared CMS files are not in {DATA}")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in list(os.environ):
            if name.startswith("CONSULTANT_") and name != "CONSULTANT_SHARED_DIR":
                monkeypatch.delenv(name)
        monkeypatch.setenv("CONSULTANT_VAR_DIR", str(tmp_path_factory.mktemp("lookup") / "var"))
        get_settings.cache_clear()
        settings = get_settings()
        upgrade(settings)
        with session_scope(settings) as session:
            for kind, path in FILES.items():
                import_file(session, kind, path)
            load_icd10cm(session)
        yield settings
    get_settings.cache_clear()
    dispose_engines()


def lookup(settings: Settings, refs: Sequence[CodeRef], dos: date = DOS, **units: int) -> Report:
    with session_scope(settings) as session:
        report = look_up(session, refs, dos=dos, units=units or None)
    print(render_text(report))
    for code in report.codes:
        assert code.facts, code.code
        for fact in code.facts:
            assert fact.source.cite() and fact.source.kind, (code.code, fact)
    for finding in report.findings:
        assert finding.source.cite() and finding.source.kind, finding
    json.dumps(report.to_dict())
    return report


def facts_of(report: Report, code: str) -> CodeFacts:
    return next(c for c in report.codes if c.code == code)


def texts(facts: CodeFacts, topic: str) -> list[str]:
    return [f.text for f in facts.facts if f.topic == topic]


def findings(report: Report, kind: str) -> list[Finding]:
    return [f for f in report.findings if f.kind == kind]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_releases_are_chosen_as_release_in_effect_chooses_them(loaded: Settings) -> None:
    with session_scope(loaded) as session:
        for on in (date(2020, 1, 1), DOS, date(2025, 10, 1), date(2026, 6, 1)):
            chosen = releases_in_effect(session, on)
            for kind in RELEASE_KINDS:
                expected = release_in_effect(session, kind, on)
                assert (chosen[kind].id if kind in chosen else None) == (
                    expected.id if expected else None
                ), (kind, on)
    assert choose((), DOS) == {}


def test_addon_primaries_of_20700_are_those_of_the_addon_file(loaded: Settings) -> None:
    expected = sorted(
        row["Primary_Code"]
        for row in read_csv(FILES["addon"])
        if row["Add-On_Code"] == "20700" and not row["AOC_Edit_DelDT"]
    )
    with session_scope(loaded) as session:
        rows = read_cms(session, releases_in_effect(session, DOS), DOS, ["20700"], [])
        found = primaries(rows.addon["20700"], DOS)
    assert found == expected and len(found) == 76
    report = lookup(loaded, [ref("27447", "cpt"), ref("20700", "cpt")])
    addon = texts(facts_of(report, "20700"), "addon")[0]
    assert addon.startswith("add-on code, edit type 1: paid only with one of the listed primary")
    assert "76 primary codes: 11010\u201311012, 11043" in addon
    [finding] = findings(report, "addon_without_primary")
    assert (finding.severity, finding.codes) == ("error", ("20700",))
    assert "none of its 76 primary codes is in the question" in finding.text
    assert finding.source.file == "aoc_medicare_2026q2.csv"
    # The add-on file starts 2026-04-01, after the date of service: the source says so.
    assert finding.source.note == "in effect from 2026-04-01, after the date of service"


def test_an_addon_with_one_of_its_primaries_has_no_finding(loaded: Settings) -> None:
    report = lookup(loaded, [ref("27301", "cpt"), ref("20700", "cpt")])
    assert not findings(report, "addon_without_primary")
    assert "its primary code 27301 is in the question" in texts(facts_of(report, "20700"), "addon")


def test_ptp_edit_is_found_in_either_order_with_its_indicator(loaded: Settings) -> None:
    for order in (["27447", "20610"], ["20610", "27447"]):
        report = lookup(loaded, [ref(code, "cpt") for code in order])
        [finding] = findings(report, "ptp")
        assert finding.codes == ("27447", "20610")
        assert finding.severity == "warning"
        assert "27447 is column 1 (paid) and 20610 is column 2" in finding.text
        assert "Modifier indicator 1: both codes are allowed with an appropriate" in finding.text
        assert "Rationale: Misuse of Column Two code with Column One code." in finding.text
        assert "No NCCI-associated modifier is in the question." in finding.text
        assert finding.source.cite() == (
            "NCCI PTP edits (practitioner), 2024 Q3, "
            "ptp_practitioner_2024q3_col1_10000-29999.csv.gz"
        )


def test_a_bypass_modifier_in_the_question_is_named_in_the_ptp_finding(loaded: Settings) -> None:
    report = lookup(loaded, [ref("27447", "cpt"), ref("20610", "cpt"), ref("59", "modifier")])
    [finding] = findings(report, "ptp")
    assert (
        "Modifier 59 in the question can bypass this edit if the documentation supports "
        "a distinct service." in finding.text
    )
    assert texts(facts_of(report, "59"), "description") == [
        "CPT modifier 59: distinct procedural service (separate site, session, incision or lesion)"
    ]


def test_indicator_0_says_a_modifier_does_not_bypass_the_edit(loaded: Settings) -> None:
    report = lookup(loaded, [ref("27447", "cpt"), ref("01402", "cpt"), ref("59", "modifier")])
    [finding] = findings(report, "ptp")
    assert (finding.severity, finding.codes) == ("error", ("27447", "01402"))
    assert "Modifier indicator 0: no modifier allows both codes" in finding.text
    assert finding.text.endswith("A modifier does not bypass it.")


def test_only_the_ptp_rows_in_effect_on_the_date_of_service_count(loaded: Settings) -> None:
    pair = [ref("17000", "cpt"), ref("11042", "cpt")]
    # 17000/11042 was deleted 2019-03-31; 11042/17000 is active.
    now = findings(lookup(loaded, pair), "ptp")
    assert [f.codes for f in now] == [("11042", "17000")]
    before = findings(lookup(loaded, pair, dos=date(2019, 1, 15)), "ptp")
    assert [f.codes for f in before] == [("11042", "17000"), ("17000", "11042")]
    assert "The edit is deleted as of 2019-03-31." in before[1].text
    # 27760/99231 has an active row and one deleted 2019-12-31: one finding, the active one.
    repeated = findings(lookup(loaded, [ref("27760", "cpt"), ref("99231", "cpt")]), "ptp")
    assert len(repeated) == 1 and "deleted as of" not in repeated[0].text


def test_mue_value_and_units_above_it(loaded: Settings) -> None:
    mue = {row["hcpcs_cpt_code"]: row for row in read_csv(FILES["mue"])}
    report = lookup(loaded, [ref("27447", "cpt"), ref("J1100", "hcpcs", units=200)], **{"27447": 2})
    assert texts(facts_of(report, "27447"), "mue") == [
        f"MUE {mue['27447']['practitioner_mue_value']} unit; MAI 2: date of service edit, "
        "policy: an absolute limit per day; units above it are not paid; rationale: CMS Policy"
    ]
    exceeded = {f.codes[0]: f for f in findings(report, "mue_exceeded")}
    assert exceeded["27447"].severity == "error"
    assert exceeded["27447"].text.startswith("2 units of 27447 are above its MUE of 1 (MAI 2")
    assert exceeded["J1100"].severity == "warning"
    assert exceeded["J1100"].text.startswith(
        f"200 units of J1100 are above its MUE of {mue['J1100']['practitioner_mue_value']}"
    )
    assert not findings(lookup(loaded, [ref("J1100", "hcpcs", units=4)]), "mue_exceeded")


def test_pfs_status_and_global_days_of_27447(loaded: Settings) -> None:
    [pfs] = [r for r in read_csv(FILES["pfs"]) if r["hcpcs_code"] == "27447" and not r["mod"]]
    assert pfs["glob"] == "090"
    report = lookup(loaded, [ref("27447", "cpt")])
    facts = facts_of(report, "27447")
    assert texts(facts, "global_days") == [
        "global days 090: 90-day global: the day before, the day of and 90 days after are included"
    ]
    assert texts(facts, "pfs_status") == [
        "PFS status A: active: separately paid under the fee schedule"
    ]
    assert facts.status == "valid"
    assert texts(facts, "section") == [
        "CPT section: Surgery, Musculoskeletal System (20100\u201329999)"
    ]
    # No descriptor file is loaded: no CPT text, a licence note instead.
    assert facts.description == ""
    assert "holds a licence" in texts(facts, "description")[0]
    assert "cpt-descriptors" in report.not_loaded


def test_hcpcs_description_coverage_and_deletion(loaded: Settings) -> None:
    rows = {row["HCPC"]: row for row in read_csv(FILES["hcpcs"]) if row["RECID"] in "37"}
    report = lookup(loaded, [ref("J1100", "hcpcs"), ref("A4397", "hcpcs"), ref("LT", "modifier")])
    j1100 = facts_of(report, "J1100")
    assert j1100.description == rows["J1100"]["LONG DESCRIPTION"]
    assert j1100.status == "valid"
    assert texts(j1100, "coverage") == [
        "Medicare coverage code D: special coverage instructions apply (see the CMS manuals or "
        "an NCD)"
    ]
    a4397 = facts_of(report, "A4397")
    assert rows["A4397"]["TERM DT"] == "20211231"
    assert a4397.status == "deleted"
    [deleted] = findings(report, "deleted_code")
    assert deleted.codes == ("A4397",) and "terminated 2021-12-31" in deleted.text
    # The termination date is the last day the code may be used.
    assert (
        facts_of(lookup(loaded, [ref("A4397", "hcpcs")], dos=date(2021, 12, 31)), "A4397").status
        == "valid"
    )
    lt = facts_of(report, "LT")
    assert lt.description == rows["LT"]["LONG DESCRIPTION"]
    assert any("NCCI-associated modifier (anatomic)" in t for t in texts(lt, "ncci"))


def test_unknown_codes_are_invalid_or_unchecked_but_never_guessed(loaded: Settings) -> None:
    report = lookup(
        loaded,
        [
            ref("99550", "cpt"),
            ref("Q9899", "hcpcs"),
            ref("ZZ", "modifier"),
            ref("0SRC0J9", "icd10pcs"),
        ],
    )
    assert facts_of(report, "99550").status == "unchecked"
    assert "not in the loaded CMS files" in texts(facts_of(report, "99550"), "status")[0]
    assert facts_of(report, "Q9899").status == "invalid"
    assert facts_of(report, "ZZ").status == "invalid"
    assert facts_of(report, "0SRC0J9").status == "unchecked"
    assert {f.codes for f in findings(report, "invalid_code")} == {("Q9899",), ("ZZ",)}
    assert "icd10pcs" in report.not_loaded
    # Q9999 was added 2025-04-01: not a code yet on the date of service.
    early = facts_of(lookup(loaded, [ref("Q9999", "hcpcs")]), "Q9999")
    assert early.status == "invalid"
    assert texts(early, "status") == ["invalid on the date of service: added 2025-04-01"]


def test_e11_9_is_billable_and_inherits_the_excludes1_of_e11(loaded: Settings) -> None:
    report = lookup(loaded, [ref("E11.9", "icd10cm")])
    e11_9 = facts_of(report, "E11.9")
    assert (e11_9.status, e11_9.description) == (
        "billable",
        "Type 2 diabetes mellitus without complications",
    )
    excludes1 = texts(e11_9, "excludes1")
    assert excludes1[0] == (
        "Excludes1: type 2 diabetes mellitus, without complications in remission (E11.A)"
    )
    assert any(
        t.startswith("Excludes1 (from E11): ") and "type 1 diabetes mellitus (E10.-)" in t
        for t in excludes1
    )
    assert any(t.startswith("Excludes1 (from chapter 4): ") for t in excludes1)
    assert texts(e11_9, "hierarchy")[0].startswith("under category E11 Type 2 diabetes mellitus")
    assert not report.findings
    source = e11_9.facts[0].source
    assert (source.kind, source.file) == ("icd10cm", "simple-icd-10-cm==1.5.0")
    assert source.note == "in effect from 2026-04-01, after the date of service"


def test_e11_is_a_header_to_choose_a_code_below(loaded: Settings) -> None:
    report = lookup(loaded, [ref("E11", "icd10cm")], dos=date(2026, 5, 1))
    assert facts_of(report, "E11").status == "header"
    [finding] = findings(report, "not_billable")
    assert finding.text.startswith(
        "E11 is a category, not billable: needs more characters; choose a code below it: "
        "E11.0 Type 2 diabetes mellitus with hyperosmolarity"
    )
    assert finding.source.note == ""  # the tabular is in effect on 2026-05-01


def test_s82_821_needs_a_7th_character(loaded: Settings) -> None:
    report = lookup(loaded, [ref("S82.821", "icd10cm"), ref("S82.821A", "icd10cm")])
    assert facts_of(report, "S82.821").status == "header"
    [finding] = findings(report, "needs_seventh_character")
    assert finding.text == (
        "S82.821 needs a 7th character (defined at S82.82): "
        "S82.821A, S82.821D, S82.821G, S82.821K, S82.821P, S82.821S"
    )
    seventh = texts(facts_of(report, "S82.821"), "seventh_character")[0]
    assert seventh.startswith(
        "takes a 7th character (defined at S82.82): A initial encounter for closed fracture; D"
    )
    assert texts(facts_of(report, "S82.821A"), "seventh_character") == [
        "7th character A (defined at S82.82): initial encounter for closed fracture"
    ]
    assert facts_of(report, "S82.821A").status == "billable"


def test_a_wrong_or_misplaced_7th_character_is_explained(loaded: Settings) -> None:
    report = lookup(loaded, [ref("S00.00A", "icd10cm"), ref("S82.821Z", "icd10cm")])
    invalid = {f.codes[0]: f.text for f in findings(report, "invalid_code")}
    assert invalid["S00.00A"] == (
        "S00.00A is not a code: the 7th character goes in position 7, so S00.00 takes the "
        "placeholder X first: S00.00XA"
    )
    assert invalid["S82.821Z"] == (
        "S82.821Z is not a code: 7th character Z is not defined for S82.821 "
        "(defined at S82.82: A, D, G, K, P, S)"
    )
    assert facts_of(report, "S00.00A").status == "invalid"


def test_excludes1_conflict_between_two_diagnoses(loaded: Settings) -> None:
    report = lookup(
        loaded, [ref("E11.9", "icd10cm"), ref("E10.9", "icd10cm"), ref("M86.161", "icd10cm")]
    )
    [finding] = findings(report, "excludes1")
    assert (finding.codes, finding.severity) == (("E10.9", "E11.9"), "warning")
    assert "E11.9: Excludes1 at E11: type 1 diabetes mellitus (E10.-)" in finding.text
    assert "E10.9: Excludes1 at E10: type 2 diabetes mellitus (E11.-)" in finding.text
    assert finding.source.kind == "icd10cm"


def test_7th_characters_with_placeholders_and_digits_are_listed(loaded: Settings) -> None:
    report = lookup(loaded, [ref("T07", "icd10cm"), ref("O32.1", "icd10cm")])
    needs = {f.codes[0]: f.text for f in findings(report, "needs_seventh_character")}
    assert needs["T07"] == (
        "T07 needs a 7th character (defined at T07): T07.XXXA, T07.XXXD, T07.XXXS"
    )
    assert needs["O32.1"].startswith("O32.1 needs a 7th character (defined at O32): O32.1XX0, ")
    assert texts(facts_of(report, "T07"), "seventh_character")[0].endswith(
        "fill positions 4 to 6 with the placeholder X"
    )


def test_cpt_description_comes_only_from_the_licensed_descriptor_file(
    migrated: Settings, tmp_path: Path
) -> None:
    # Made-up text standing in for the operator's AMA file; no CPT text is in the repository.
    licensed = tmp_path / "cpt_descriptors_2024.csv"
    licensed.write_text("code,descriptor\n27447,PLACEHOLDER TEXT FOR A TEST\n", encoding="utf-8")
    with session_scope(migrated) as session:
        import_file(session, "cpt-descriptors", licensed)
    report = lookup(migrated, [ref("27447", "cpt"), ref("27448", "cpt")])
    known, unknown = report.codes
    assert (known.status, known.description) == ("valid", "PLACEHOLDER TEXT FOR A TEST")
    assert known.facts[0].source.kind == "cpt-descriptors"
    assert not any("holds a licence" in f.text for f in known.facts)
    assert unknown.status == "invalid"
    assert texts(unknown, "status") == ["invalid: not in the licensed CPT descriptor file"]
    assert "cpt-descriptors" not in report.not_loaded
