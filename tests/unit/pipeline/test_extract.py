from __future__ import annotations

from email.message import EmailMessage

import pytest

from consultant.answer.question import read_question
from consultant.pipeline.extract import CodeRef, extract_message, find_codes
from consultant.pipeline.parse import parse

SUPPORTED = frozenset({"cpt", "hcpcs", "icd10cm", "modifier"})


def pairs(text: str) -> list[tuple[str, str]]:
    return [(ref.code, ref.system) for ref in find_codes(text)]


def test_example_question_gives_codes_modifier_and_diagnosis_in_order() -> None:
    text = "Can I bill 20700 with 27447? Do I need modifier 59? Dx M86.161"
    assert pairs(text) == [
        ("20700", "cpt"),
        ("27447", "cpt"),
        ("59", "modifier"),
        ("M86.161", "icd10cm"),
    ]


def test_offsets_and_as_written_point_into_the_text() -> None:
    text = "Dx m86161 for 27447-lt"
    for ref in find_codes(text):
        assert text[ref.start : ref.end] == ref.as_written
    assert find_codes(text) == [
        CodeRef("M86.161", "icd10cm", "m86161", 3, 9),
        CodeRef("27447", "cpt", "27447", 14, 19),
        CodeRef("LT", "modifier", "lt", 20, 22),
    ]


def test_repeated_code_is_reported_once_at_its_first_occurrence() -> None:
    refs = find_codes("Is 99213 right? We billed 99213 twice and 99214 once.")
    assert [(ref.code, ref.start) for ref in refs] == [("99213", 3), ("99214", 42)]


def test_codes_after_quoted_from_are_marked_quoted() -> None:
    text = "What about 99214?\n> On Monday you wrote: bill 99213 with G0438"
    refs = find_codes(text, text.index(">"))
    assert [(ref.code, ref.quoted) for ref in refs] == [
        ("99214", False),
        ("99213", True),
        ("G0438", True),
    ]


def test_quoted_spans_and_a_code_repeated_in_own_text() -> None:
    text = "> bill 99213?\nYes, 99213 with G0438.\n> and 99214"
    first = (0, text.index("\n") + 1)
    last = (text.rindex(">"), len(text))
    refs = find_codes(text, [first, last])
    assert [(ref.code, ref.quoted, ref.start) for ref in refs] == [
        ("99213", False, text.index("99213", text.index("Yes"))),
        ("G0438", False, text.index("G0438")),
        ("99214", True, text.index("99214")),
    ]


def test_without_quoted_from_nothing_is_quoted() -> None:
    assert not any(ref.quoted for ref in find_codes("99213 and 99214"))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("bill 27447 today", "27447"),
        ("anesthesia 00100 for the salivary gland", "00100"),
        ("report 0001F for the measure", "0001F"),
        ("is 0042t covered", "0042T"),
        ("the PLA code 0001U", "0001U"),
        ("CPT®99213", "99213"),
        ("(99213)", "99213"),
    ],
)
def test_cpt_forms_are_found_and_normalised(text: str, code: str) -> None:
    assert pairs(text) == [(code, "cpt")]


def test_cpt_list_with_commas_and_and_gives_each_code() -> None:
    assert pairs("99213, 99214 and 99215") == [
        ("99213", "cpt"),
        ("99214", "cpt"),
        ("99215", "cpt"),
    ]


def test_range_yields_both_endpoints_and_no_modifier() -> None:
    assert pairs("E/M codes 99202-99205") == [("99202", "cpt"), ("99205", "cpt")]
    assert pairs("0591T-0593T") == [("0591T", "cpt"), ("0593T", "cpt")]
    assert pairs("Z00.00-Z00.01") == [("Z00.00", "icd10cm"), ("Z00.01", "icd10cm")]


def test_slash_pair_of_codes_gives_both() -> None:
    assert pairs("94667/94668 revenue code denial") == [("94667", "cpt"), ("94668", "cpt")]


def test_unit_count_glued_to_code_does_not_hide_it() -> None:
    assert pairs("billed 96372x2 and J3301x4") == [("96372", "cpt"), ("J3301", "hcpcs")]


@pytest.mark.parametrize("code", ["J1100", "G0438", "A4550", "E0601", "K0005", "Q4101"])
def test_hcpcs_level_two_codes_are_found(code: str) -> None:
    assert pairs(f"Can we bill {code} here?") == [(code, "hcpcs")]


def test_lower_case_hcpcs_is_normalised_to_upper() -> None:
    assert pairs("we use the j3301 hcpc code") == [("J3301", "hcpcs")]


def test_letter_and_four_digits_after_dx_is_an_undotted_icd_code() -> None:
    assert pairs("Dx M8616, is that right?") == [("M86.16", "icd10cm")]
    assert pairs("diagnosis code: E1165") == [("E11.65", "icd10cm")]


def test_letter_and_four_digits_with_a_non_hcpcs_letter_is_icd() -> None:
    assert pairs("patient has I2510 on file") == [("I25.10", "icd10cm")]


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("M86.161", "M86.161"),
        ("E11.9", "E11.9"),
        ("I10", "I10"),
        ("E11", "E11"),
        ("Z79.4", "Z79.4"),
        ("S72.001A", "S72.001A"),
        ("T84.84XA", "T84.84XA"),
        ("m86.161", "M86.161"),
        ("M86161", "M86.161"),
        ("S72001A", "S72.001A"),
        ("U07.1", "U07.1"),
        ("O9A.211", "O9A.211"),
    ],
)
def test_icd10cm_forms_are_normalised_with_the_dot(written: str, code: str) -> None:
    refs = find_codes(f"The code was {written}.")
    assert [(ref.code, ref.system, ref.as_written) for ref in refs] == [(code, "icd10cm", written)]


@pytest.mark.parametrize(
    "text",
    [
        "A1 or B2 grade",
        "check the A1C result",
        "a face-to-face F2F visit",
        "the H1N1 vaccine",
        "vitamin B12 shots",
        "lower case e11 is chatter",
        "E119 without any context",
        "LCD L33822 says so",
        "we would use V06.1, V04.89. V05.3 before",
        "the ICD-9 code E849.0",
        "ICD-9 code V58.69",
        "the host f42.i.mail.ru",
        "remark code M15 and N130",
    ],
)
def test_letter_words_that_only_look_like_icd_codes_are_ignored(text: str) -> None:
    assert pairs(text) == []


@pytest.mark.parametrize(
    ("text", "modifiers"),
    [
        ("bill it with -59", ["59"]),
        ("mod 25 on the visit", ["25"]),
        ("modifier XU instead", ["XU"]),
        ("Modifier -24 on an eye exam", ["24"]),
        ("modifiers 59 and 25", ["59", "25"]),
        ("modifiers 59, 25 or XU", ["59", "25", "XU"]),
        ("modifier 59/XS", ["59", "XS"]),
        ("modifier PN or modifier PO", ["PN", "PO"]),
        ("modifier lt on the knee", ["LT"]),
        ("add the -RT", ["RT"]),
        ("G0438 with the 25 modifier", ["25"]),
        ("take the KU modifier", ["KU"]),
        ("use RT and LT modifiers", ["RT", "LT"]),
        ("bill RT/LT on separate lines", ["RT", "LT"]),
        ("append a 25-modifier", ["25"]),
        ("the 59 or XU modifier", ["59", "XU"]),
        ("modifier 25 vs. 59", ["25", "59"]),
        ("modifiers -24 and -52", ["24", "52"]),
    ],
)
def test_modifiers_with_context_are_found(text: str, modifiers: list[str]) -> None:
    assert [code for code, system in pairs(text) if system == "modifier"] == modifiers


def test_code_with_hyphen_suffix_gives_code_and_modifier() -> None:
    assert pairs("27447-LT") == [("27447", "cpt"), ("LT", "modifier")]
    assert pairs("99214-25") == [("99214", "cpt"), ("25", "modifier")]
    assert pairs("J3301-JW") == [("J3301", "hcpcs"), ("JW", "modifier")]


def test_chained_hyphen_modifiers_are_all_found() -> None:
    assert pairs("20610-59-RT") == [("20610", "cpt"), ("59", "modifier"), ("RT", "modifier")]
    assert pairs("99213-25/59") == [("99213", "cpt"), ("25", "modifier"), ("59", "modifier")]


@pytest.mark.parametrize(
    "text",
    [
        "it took 25 minutes",
        "paid at 50 percent",
        "within 90 days",
        "RT, labs, etc.",
        "AS IT TO OR AN",
        "is a modifier needed?",
        "What about the E/M modifier?",
        "the modifier is wrong",
        "no modifier was used",
        "a 10-day global",
        "denial CO-97 again",
        "modifier 10 is not a thing",
    ],
)
def test_words_and_numbers_without_modifier_context_are_not_modifiers(text: str) -> None:
    assert pairs(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Dallas, TX 75201",
        "Springfield IL 62704-1234",
        "Phoenix, Arizona 85001",
        "mail to 82023 Peters Road, Suite 400",
        "call 555-123-4567 or (555) 123-4567",
        "fax 1-800-633-4227",
        "on 2024-03-15 and 03/15/2024",
        "in 1995 and 2035",
        "a bill of $12500 or $ 12500 or $1,250.00",
        "12500 dollars",
        "claim 12345",
        "claim #12345 and Claim number: 23456",
        "invoice 34567",
        "account 45678 and acct# 56789",
        "NPI 1234567890",
        "member ID 67890",
        "policy no. 78901",
        "ref 89012 and reference 90123",
        "ticket #11223",
        "room 22334",
        "Suite 10000",
        "zip 33445 and zip code 44556",
        "phone 55667 ext 66778",
        "reason code 32440",
        "revenue code 0410",
        "123456 and 12345.67 and 1.23456",
        "25000 units of heparin",
        "10000 mg daily",
        "see https://example.org/answer/81126",
        "MLN Matters MM12521 and SE20016",
        "Publication 100-04, Section 150",
        "9944X wildcard",
        "0000 and 02134 and 05000",
    ],
)
def test_numbers_that_are_not_codes_are_ignored(text: str) -> None:
    assert pairs(text) == []


def test_code_after_an_address_line_is_still_found() -> None:
    text = "Dallas, TX 75201\nCan we bill 99213 with G0438?"
    assert pairs(text) == [("99213", "cpt"), ("G0438", "hcpcs")]


def test_units_after_hcpcs_code_do_not_hide_it() -> None:
    assert pairs("how many J3302 units are billable") == [("J3302", "hcpcs")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20610 XS", [("20610", "cpt"), ("XS", "modifier")]),
        ("20610   XS", [("20610", "cpt"), ("XS", "modifier")]),
        ("64493\tLT and RT", [("64493", "cpt"), ("LT", "modifier"), ("RT", "modifier")]),
        ("26055 | F2", [("26055", "cpt"), ("F2", "modifier")]),
        ("92928 LC", [("92928", "cpt"), ("LC", "modifier")]),
        ("99214 25", [("99214", "cpt")]),  # a number after a space may be units
        ("20610 IS billed", [("20610", "cpt")]),  # capitals that are no modifier
    ],
)
def test_modifiers_after_a_space_or_a_column(text: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(text) == expected


def test_modifiers_in_an_html_table_stay_on_their_codes() -> None:
    """An HTML-only mail with a claim table: each modifier cell belongs to its row's code."""
    html = (
        "<p>Can we bill these together?</p><table><tr><th>CPT</th><th>Mod</th></tr>"
        "<tr><td>20610</td><td>XS</td></tr><tr><td>27447</td><td>RT</td></tr></table>"
    )
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@example.org", "desk@example.org", "Q"
    mail.set_content(html, subtype="html")
    parsed = parse(mail.as_bytes())
    found = [(ref.code, ref.system) for ref in extract_message(parsed)]
    assert found == [("20610", "cpt"), ("XS", "modifier"), ("27447", "cpt"), ("RT", "modifier")]
    question = read_question(parsed.subject, parsed.new_text, extract_message(parsed))
    assert [(line.code, line.modifiers) for line in question.lines] == [
        ("20610", ("XS",)),
        ("27447", ("RT",)),
    ]
