"""Reading a question as claim lines: a code listed twice with other modifiers is two
lines, and the setting and payer words the answer must qualify itself by. Pure."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest

from consultant.answer import question as module
from consultant.answer.question import Question, read_question, setting_in
from consultant.pipeline.extract import find_codes
from tests.conftest import shared_dir


def read(text: str) -> Question:
    return read_question("", text, find_codes(text))


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("Is 64493 and 64493-50 right?", [("64493", ()), ("64493", ("50",))]),
        ("Knee films 73562-RT, 73562-LT.", [("73562", ("RT",)), ("73562", ("LT",))]),
        ("20610 + 20610-59 today", [("20610", ()), ("20610", ("59",))]),
    ],
)
def test_a_code_listed_twice_with_other_modifiers_is_two_lines(
    text: str, written: list[tuple[str, tuple[str, ...]]]
) -> None:
    question = read(text)
    assert [(line.code, line.modifiers) for line in question.written] == written
    # The code's one line still carries every modifier written on it.
    (line,) = question.lines
    assert set(line.modifiers) == {m for _, mods in written for m in mods}
    assert question.written_of(line.code) == question.written


@pytest.mark.parametrize(
    "text",
    [
        "64493 or 64493-50?",  # asks which, not both
        "Bill 64493-50. Payer denied 64493-50 again.",  # one line, written twice
        "Bill 64493. Later they asked about 64493-50.",  # not listed together
    ],
)
def test_a_code_written_twice_otherwise_stays_one_line(text: str) -> None:
    question = read(text)
    assert question.written == ()
    assert [line.code for line in question.lines] == ["64493"]


@pytest.mark.parametrize(
    ("text", "setting"),
    [
        ("This is a hospital outpatient claim", "hospital outpatient"),
        ("billed on the UB-04 under OPPS", "hospital outpatient"),
        ("Our ASC billed 64493", "ASC"),
        ("an ambulatory surgery center", "ASC"),
        ("for the facility claim only", "facility"),
        ("Office visit in the clinic", None),
        ("basic question, oops", None),  # "asc" and "opps" in lower case are not settings
        ("ascites drained; opps", None),
    ],
)
def test_the_setting_named_in_the_question(text: str, setting: str | None) -> None:
    assert setting_in(text) == setting


@pytest.mark.parametrize(
    ("text", "commercial"),
    [
        ("Commercial payer, not Medicare: 20610 with 99214?", True),
        ("BCBS denied 20610", True),
        ("Aetna wants modifier 59", True),
        ("Medicare patient, 20610 with 99214", False),
        ("the uhc of it", False),  # abbreviations count in upper case only
    ],
)
def test_a_commercial_payer_named_in_the_question(text: str, commercial: bool) -> None:
    assert read(text).commercial is commercial


PHRASES = [
    "Same  Knee, both\nKNEES, Bilaterally, per ear, E / M, e&m, E and M, New\tPatient visit",
    "a Separate Site; the opposite  side; Consult codes; Evaluation and Management",
    "Hospital\nOutpatient; type of  bill 131; UB04; our ASC; Ambulatory Surgery Center",
    "Facility claims; COMMERCIAL plan; Blue  Cross; UnitedHealthcare; BCBS; uhc",
]


def _texts() -> list[str]:
    mails = sorted((shared_dir() / "corpus").glob("questions-dev*/*.eml"))
    texts = []
    for path in mails:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(("plain", "html"))
        texts.append(f"{message['subject']}\n{body.get_content() if body else ''}")
    return texts + PHRASES


def test_the_word_gate_never_changes_what_a_cue_finds() -> None:
    """Each cue's pattern on the whole text, case-blind where the cue is, finds what the
    gated search finds: the gate's words are in every match."""
    cues = [module._SAME, module._DISTINCT, module._PER_SIDE, module._E_M_WORDS]
    cues += [module._COMMERCIAL, *(cue for cue, _ in module._SETTINGS)]
    texts = _texts()
    assert len(texts) > 50
    hits = 0
    for cue in cues:
        reference = re.compile(cue.pattern.pattern, re.IGNORECASE if cue.blind else 0)
        for text in texts:
            expected = bool(reference.search(text))
            assert cue.found(text, module._plain(text)) is expected, (cue.pattern.pattern, text)
            hits += expected
    assert hits > 20  # the texts exercise the cues, not only their absence
