"""Extraction: ICD-10-PCS, ranges, units, the code sets' say, and every negative kind."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from consultant.cli import main
from consultant.codes.systems import Vocabulary
from consultant.pipeline.extract import extract_message, find_codes
from consultant.pipeline.parse import parse
from tests.conftest import need, shared_dir


def codes(text: str, vocabulary: Vocabulary | None = None) -> list[tuple[str, str]]:
    refs = find_codes(text, vocabulary=vocabulary) if vocabulary else find_codes(text)
    return [(ref.code, ref.system) for ref in refs]


# --- ICD-10-PCS -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Total knee, PCS 0SRC0J9 on the right", "0SRC0J9"),
        ("ICD-10-PCS code 30233N1 for the transfusion", "30233N1"),
        ("ventilation 5A1955Z over 96 hours", "5A1955Z"),
        ("was B2111ZZ the right imaging code?", "B2111ZZ"),
        ("PCS code 0dtj4zz in lower case", "0DTJ4ZZ"),
    ],
)
def test_icd10pcs_codes_are_found(text: str, code: str) -> None:
    assert (code, "icd10pcs") in codes(text)


@pytest.mark.parametrize(
    "text",
    [
        "lower case 0sRc0j9 without any PCS word nearby",
        "claim 1A2B3C4 was denied",
        "the form 1O2B3C4 again",  # PCS never uses the letters I and O
        "tracking number 1Z999AA10123456784",
        "Dx S82821A is a fracture code, not PCS",
    ],
)
def test_seven_character_look_alikes_are_not_pcs(text: str) -> None:
    assert not [c for c in codes(text) if c[1] == "icd10pcs"]


def test_undotted_seven_character_cm_code_stays_cm() -> None:
    assert codes("Dx S82821A") == [("S82.821A", "icd10cm")]


# --- ranges, lists, units ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "E/M 99202-99205 for new patients",
        "E/M 99202 - 99205 for new patients",
        "E/M 99202 through 99205 for new patients",
        "E/M 99202 thru 99205 for new patients",
        "E/M 99202 to 99205 for new patients",
        "E/M 99202\u201399205 for new patients",
    ],
)
def test_range_endpoints_are_flagged(text: str) -> None:
    refs = find_codes(text)
    assert [(r.code, r.range) for r in refs] == [
        ("99202", "99202-99205"),
        ("99205", "99202-99205"),
    ]


def test_a_list_is_not_a_range_and_a_descending_pair_is_not_either() -> None:
    refs = find_codes("We billed 99213, 99214, and 99215; later 99213-99212 by mistake")
    assert [r.code for r in refs] == ["99213", "99214", "99215", "99212"]
    assert all(r.range is None for r in refs)


def test_hcpcs_range_is_flagged_too() -> None:
    refs = find_codes("supplies A4206-A4209 every month")
    assert {r.range for r in refs} == {"A4206-A4209"}


@pytest.mark.parametrize(
    ("text", "code", "units"),
    [
        ("J1100 x 4", "J1100", 4),
        ("J1100 x4 today", "J1100", 4),
        ("99214 X 2 units", "99214", 2),
        ("J3301 X quanity of 4", "J3301", 4),
        ("J3301 x quantity of 40", "J3301", 40),
        ("3 units of 97110 and one of 97140", "97110", 3),
        ("billed 97110 (4 units)", "97110", 4),
        ("J0897 \u00d7 2 vials", "J0897", 2),
    ],
)
def test_units_stated_with_a_code_are_kept(text: str, code: str, units: int) -> None:
    found = {r.code: r.units for r in find_codes(text)}
    assert found[code] == units


def test_units_are_not_read_from_a_diagnosis_or_a_following_sentence() -> None:
    refs = {r.code: r.units for r in find_codes("Dx M54.5 x 3 months. 97110 then 2 visits")}
    assert refs == {"M54.5": None, "97110": None}


# --- negatives: one per kind the issue names ------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Ship it to 1200 Main St, Dallas, TX 75201-1234",  # zip+4
        "Our office is in Dallas, Texas 75201.",  # zip after a state name
        "Call (214) 555-0188 or 1-800-555-0199, fax 214.555.0177",  # phones
        "Seen 03/14/2026 at 10:30; DOS 03-14-26 at 0800",  # dates and times
        "In 2024 and 2025 the rules changed",  # years
        "The patient paid $12,345.00 and we wrote off 15000 dollars",  # amounts
        "Claim # 22045 and invoice 48213 and account 10023",  # claim/invoice/account
        "Claim 12345-67890 and invoice 48213 / 48214, ACCT-20145",  # joined identifiers
        "NPI 1234567890, PTAN 123456, Tax ID 12-3456789",  # provider numbers
        "Patient in room 20145, Suite 10200, PO Box 12345",  # rooms and boxes
        "We gave 10000 units of heparin to 15000 patients",  # quantities
        "NDC 12345-6789-01 for the vial",  # drug numbers
        "Denied with CO-97, remark code N290 and remark M80",  # adjustment/remark codes
        "Received from [127.0.0.1]:10025 via 10.0.0.1:20000",  # ports
        "See https://example.org/cpt/99213?x=27447 for details",  # links
        "The ICD-9 code 250.00 was used before V58.61 in ICD-9",  # ICD-9
    ],
)
def test_numbers_that_are_not_codes(text: str) -> None:
    assert codes(text) == []


def test_a_number_sign_after_a_code_word_still_means_a_code() -> None:
    assert codes("Is CPT #99213 right, or code # J1100?") == [
        ("99213", "cpt"),
        ("J1100", "hcpcs"),
    ]


# --- letter + four digits: HCPCS or an undotted diagnosis ------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("M5416", ("M54.16", "icd10cm")),  # HCPCS M codes stop below M1500
        ("K5730", ("K57.30", "icd10cm")),
        ("R0789", ("R07.89", "icd10cm")),  # HCPCS R codes are R0070-R0076
        ("J1100", ("J1100", "hcpcs")),
        ("E0114", ("E0114", "hcpcs")),
        ("G0438", ("G0438", "hcpcs")),
    ],
)
def test_letter_and_four_digits_without_code_sets(written: str, expected: tuple[str, str]) -> None:
    assert codes(f"What about {written}?") == [expected]


def test_lower_case_outside_hcpcs_blocks_is_nothing() -> None:
    assert codes("log line p0120 and c0022") == []


def test_loaded_code_sets_decide_between_hcpcs_and_icd() -> None:
    vocabulary = Vocabulary(
        cpt=frozenset({"99213"}),
        hcpcs=frozenset({"E0114", "J1100"}),
        icd10cm=frozenset({"E11.65", "E11.6"}),
    )
    assert codes("E1165 and E0114", vocabulary) == [
        ("E11.65", "icd10cm"),
        ("E0114", "hcpcs"),
    ]
    # Without the sets, E1165 has HCPCS's shape in an E block HCPCS uses.
    assert codes("E1165 and E0114") == [("E1165", "hcpcs"), ("E0114", "hcpcs")]


def test_five_digit_number_no_code_set_knows_needs_a_code_word() -> None:
    vocabulary = Vocabulary(cpt=frozenset({"99213", "27447", "20700"}))
    text = "Then 45678 came back; we billed 27447. Is CPT 96460 valid? Bill 20700 and 12345 too?"
    assert codes(text, vocabulary) == [
        ("27447", "cpt"),
        ("96460", "cpt"),  # "CPT" before it: the asker's code, valid or not
        ("20700", "cpt"),
        ("12345", "cpt"),  # listed with a known code
    ]
    assert ("45678", "cpt") in codes(text)  # without the sets only context decides


def test_modifier_hyphenated_onto_an_unknown_number_vouches_for_it() -> None:
    vocabulary = Vocabulary(cpt=frozenset({"99213"}))
    assert codes("then 64999-59 as well", vocabulary) == [("64999", "cpt"), ("59", "modifier")]


# --- the whole mail ------------------------------------------------------------------------


def _mail(subject: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "coder@example.org", "consult@example.com", subject
    msg["Message-ID"] = "<q1@example.org>"
    msg.set_content(body)
    return msg.as_bytes()


def test_extract_message_reads_subject_then_text_and_skips_the_signature() -> None:
    raw = _mail(
        "20700 with 27447?",
        "Can I bill 20700 with 27447-LT? Dx M86.161\n\n-- \nJane Coder\nSuite 20145\n"
        "Phone 555-0100, zip 75201\n",
    )
    refs = extract_message(parse(raw))
    assert [(r.code, r.part) for r in refs] == [
        ("20700", "subject"),
        ("27447", "subject"),
        ("LT", "body"),
        ("M86.161", "body"),
    ]
    parsed = parse(raw)
    for ref in refs:
        text = parsed.subject if ref.part == "subject" else parsed.text
        assert text[ref.start : ref.end] == ref.as_written


def test_extract_command_prints_one_json_object_per_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.eml", tmp_path / "b.eml"
    first.write_bytes(_mail("Question", "Dx m86161 for 27447-59, range 99202-99205"))
    second.write_bytes(_mail("No codes", "Call me at 555-0100 tomorrow."))
    result = CliRunner().invoke(
        main, ["extract", "--json", "--context-only", str(first), str(second)]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["file"] for line in lines] == [str(first), str(second)]
    assert lines[1]["codes"] == []
    assert lines[0]["codes"][0] == {
        "code": "M86.161",
        "system": "icd10cm",
        "as_written": "m86161",
        "start": 3,
        "end": 9,
        "quoted": False,
        "part": "body",
        "range": None,
        "units": None,
    }
    assert [(c["code"], c["system"], c["range"]) for c in lines[0]["codes"][1:]] == [
        ("27447", "cpt", None),
        ("59", "modifier", None),
        ("99202", "cpt", "99202-99205"),
        ("99205", "cpt", "99202-99205"),
    ]


def test_extract_command_names_a_file_it_cannot_read(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["extract", "--json", "--context-only", str(tmp_path / "missing.eml")]
    )
    assert result.exit_code == 1
    assert json.loads(result.output) == {
        "file": str(tmp_path / "missing.eml"),
        "error": "No such file or directory",
    }


def test_dev_corpus_meets_the_accuracy_goal_without_code_sets() -> None:
    corpus = shared_dir() / "corpus" / "questions-dev"
    need((corpus / "labels.jsonl").is_file(), f"dev corpus not found at {corpus}")
    tp = found = wanted = 0
    for line in (corpus / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        got = {
            (r.system, r.code)
            for r in extract_message(parse((corpus / label["file"]).read_bytes()))
        }
        gold = {(c["system"], c["code"]) for c in label["codes"]}
        tp, found, wanted = tp + len(got & gold), found + len(got), wanted + len(gold)
    assert wanted == 64
    assert tp / found >= 0.99
    assert tp / wanted >= 0.98


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("64483 LT and RT", [("64483", "cpt"), ("LT", "modifier"), ("RT", "modifier")]),
        ("99213 GT via telehealth", [("99213", "cpt"), ("GT", "modifier")]),
        ("J1100 JW for the wasted part", [("J1100", "hcpcs"), ("JW", "modifier")]),
        ("99214 25 was billed", [("99214", "cpt")]),  # a bare number after a code: no
        ("99213 OR 99214", [("99213", "cpt"), ("99214", "cpt")]),  # not a modifier
    ],
)
def test_known_letter_modifier_after_a_space(text: str, expected: list[tuple[str, str]]) -> None:
    assert codes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("How many 97110 units can we bill?", [("97110", "cpt")]),
        ("We gave 10000 units of heparin", []),
        ("the 10000-foot view", []),
        ("Member ID ABC12345678, group number 90210", []),
    ],
)
def test_units_and_counts_after_numbers(text: str, expected: list[tuple[str, str]]) -> None:
    assert codes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("95/GT for telehealth", ["95", "GT"]),
        ("GP/GO on therapy claims", ["GP", "GO"]),
        ("PT/OT visits", []),
        ("24/7 care, a 50/50 split", []),
    ],
)
def test_slash_pairs_of_modifiers(text: str, expected: list[str]) -> None:
    assert [code for code, _ in codes(text)] == expected


def test_unknown_number_vouched_for_by_words_after_it_or_units_of() -> None:
    vocabulary = Vocabulary(cpt=frozenset({"94640"}))
    text = "Is 98016 payable yet? We do many units of 96460. Then 45678 came back."
    assert codes(text, vocabulary) == [("98016", "cpt"), ("96460", "cpt")]
