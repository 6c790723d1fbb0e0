"""What the asker asked, read as claim lines: each procedure or drug code with the
modifiers, units and dose written with it, the diagnoses with their side, and the
words that change an answer ("same knee", "separate site", "each ear").

Input: the mail's text (subject and own words; quoted history is left out by the
caller) and the code references the extractor found in it. Output: a `Question`.
Pure: no database. The verdicts (consultant.answer.verdicts) decide from it which
things were asked and what the loaded data say about them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Protocol

from consultant.codes.cpt_sections import cpt_section
from consultant.codes.kinds import HOSPITAL, PRACTITIONER
from consultant.codes.systems import PROCEDURES, CodeSystem
from consultant.codes.systems.modifier import attached

E_M_SECTION = "Evaluation and Management"
HOSPITAL_OUTPATIENT = "hospital outpatient"
OFFICE_VISITS = "99202-99215"  # the E/M family a visit named only in words stands for
SIDES = {"RT": "right", "LT": "left", "50": "both"}


class _Cue:
    """A phrase that changes an answer, and the words one of which every match holds
    (lower case, single spaces): a long mail without any of them costs a substring
    scan, not a regular-expression scan (the worker reads every mail's own text). A
    case-blind pattern (lower-case literals) runs on the lowered text, which is
    faster than re.IGNORECASE; a pattern with upper-case abbreviations on the text."""

    __slots__ = ("blind", "pattern", "words")

    def __init__(self, pattern: str, words: str, *, blind: bool = True) -> None:
        self.pattern, self.blind = re.compile(pattern), blind
        self.words = tuple(words.split("|"))

    def found(self, text: str, plain: str) -> bool:
        """Whether `text` (`plain`: it in lower case with single spaces) says it."""
        if not any(word in plain for word in self.words):
            return False
        return bool(self.pattern.search(plain if self.blind else text))


def _plain(text: str) -> str:
    return " ".join(text.lower().split())


# The words that tell two procedures happened at the same place or time (no modifier
# may separate them) or at distinct ones (a distinct-service modifier may).
_SAME = _Cue(
    r"\bsame\s+(?:knee|joint|site|incision|session|encounter|area|lesion|side|ear|eye|"
    r"hand|foot|finger|toe|shoulder|hip|level|vessel|location|spot|anatomic)",
    "same",
)
_DISTINCT = _Cue(
    r"\b(?:separate|different|distinct|other|opposite|contralateral)\s+(?:\w+\s+)?"
    r"(?:site|knee|joint|incision|session|encounter|area|lesion|side|organ|structure|"
    r"location|ear|eye|hand|foot|finger|toe|shoulder|hip|level|visit|day)",
    "separate|different|distinct|other|opposite|contralateral",
)
# Words that ask whether two codes go together on one claim.
_TOGETHER = re.compile(
    r"\b(?:with|together|along|bundl\w*|unbundl\w*|separately|ncci|cci|ptp|edits?|"
    r"modifier|mod|both|and\s+also|in\s+addition|plus|same\s+day|same\s+date|"
    r"column\s*[12]|pair)\b",
    re.IGNORECASE,
)
# Each ear, both sides: the asker asks about one unit per side.
_PER_SIDE = _Cue(
    r"\b(?:each|per|both)\s+(?:ear|eye|side|knee|hip|shoulder|foot|hand|breast|kidney|"
    r"lung|leg|arm)s?\b|\bbilateral(?:ly)?\b",
    "each|per|both|bilateral",
)
_E_M_WORDS = _Cue(
    r"\b(?:e\s*/\s*m|e&m|e\s*and\s*m|office\s+visit|new\s+patient|established\s+patient|"
    r"consultation|consult\s+(?:code|visit|service)s?|evaluation\s+and\s+management)\b",
    "/|&|andm|and m|visit|patient|consult|evaluation",
)
# A dose written near a drug code: "40 mg", "2.5mg", "1 cc", "5 mL".
# Doses and strengths are read from the lowered text (faster than re.IGNORECASE).
DOSE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(mg|mcg|g|ml|cc|units?)\b")
_AMOUNT = r"(?<![\w.])(\d+(?:\.\d+)?)\s*"
# A strength the asker states: "40 mg/mL", "40 mg per ml", "10 mg in 1 ml",
# "1cc that equals 40mg", "1 mL = 40 mg". Its numbers are not doses.
_STRENGTHS = (
    re.compile(rf"{_AMOUNT}(mg|mcg|g)\s*(?:/|per|in|each)\s*(?:(\d+(?:\.\d+)?)\s*)?(ml|cc)\b"),
    re.compile(
        rf"{_AMOUNT}(ml|cc)\s*(?:that\s+|which\s+)?(?:=|equals?|is|contains?|has|of)\s*"
        r"(\d+(?:\.\d+)?)\s*(mg|mcg|g)\b"
    ),
)


# What joins two mentions of one code listed as two claim lines ("64493 and
# 64493-50", "73562-RT, 73562-LT", "20610 + 20610-59"); "or" asks which, not both.
_JOINED = re.compile(r"\s*(?:,|;|&|\+|\band\b|\bplus\b|\bwith\b)\s*(?:\band\b\s*)?")
# Settings other than a practitioner's office: the hospital outpatient department,
# the ambulatory surgical center, a facility claim named as such. The answer says
# which CMS files its verdicts rest on. Abbreviations count in upper case only.
_SETTINGS = (
    (
        _Cue(
            r"(?i:\bhospital\s+out-?patient|\bout-?patient\s+hospital|\btype\s+of\s+bill\b|"
            r"\bUB-?04\b)|\b(?:HOPD|OPPS|OPD)\b",
            "hospital|type of bill|ub04|ub-04|hopd|opps|opd",
            blind=False,
        ),
        HOSPITAL_OUTPATIENT,
    ),
    (_Cue(r"\bASCs?\b|(?i:\bambulatory\s+surg\w*\s+cent)", "asc|ambulatory", blind=False), "ASC"),
    (
        _Cue(r"\bfacility\s+(?:claim|side|billing|coding|fee|charge)s?\b", "facility"),
        "facility",
    ),
)
_COMMERCIAL = _Cue(
    r"(?i:\bcommercial\b|\bprivate\s+(?:insurance|payers?|payors?)\b|\bblue\s+cross\b|"
    r"\baetna\b|\bcigna\b|\bunited\s*health\s*care\b|\bhumana\b)|\b(?:BCBS|UHC)\b",
    "commercial|private|blue cross|aetna|cigna|united|humana|bcbs|uhc",
    blind=False,
)


@dataclass(frozen=True, slots=True)
class Dose:
    amount: float
    unit: str  # "mg", "mcg", "g", "ml"


@dataclass(frozen=True, slots=True)
class Strength:
    """A drug's strength the asker states: `amount` of `unit` in one mL."""

    amount: float
    unit: str  # "mg", "mcg", "g"


@dataclass(frozen=True, slots=True)
class Line:
    """A procedure or drug code as written on one claim line of the question."""

    code: str
    system: str
    modifiers: tuple[str, ...] = ()
    units: int | None = None
    doses: tuple[Dose, ...] = ()

    @property
    def side(self) -> str | None:
        sides = {SIDES[m] for m in self.modifiers if m in SIDES}
        return sides.pop() if len(sides) == 1 else None

    @property
    def is_em(self) -> bool:
        section = cpt_section(self.code) if self.system == CodeSystem.CPT else None
        return section is not None and section.section == E_M_SECTION


@dataclass(frozen=True, slots=True)
class Question:
    lines: tuple[Line, ...]
    diagnoses: tuple[str, ...]
    modifiers: tuple[str, ...]  # every modifier the question names
    same_site: bool = False
    distinct_site: bool = False
    together: bool = False
    per_side: bool = False
    em_words: bool = False
    doses: tuple[Dose, ...] = ()  # every dose the question writes, wherever
    strengths: tuple[Strength, ...] = ()  # every strength it states ("40 mg/mL")
    # The claim lines as written where a code is listed twice with other modifiers
    # ("64493 and 64493-50", "73562-RT, 73562-LT"); `lines` keeps one per code.
    written: tuple[Line, ...] = ()
    setting: str | None = None  # "hospital outpatient", "ASC", "facility"
    commercial: bool = False  # the asker names a commercial (non-Medicare) payer
    # The C code that makes the claim a hospital outpatient one when no words do.
    setting_code: str | None = None

    @property
    def claim_setting(self) -> str:
        """Whose NCCI edits and MUEs the claim is checked against: the hospital
        outpatient ones for a hospital outpatient claim, else the practitioner ones
        (an ASC's or a "facility" claim is left to the reviewer, as the answer says)."""
        return HOSPITAL if self.setting == HOSPITAL_OUTPATIENT else PRACTITIONER

    def written_of(self, code: str) -> tuple[Line, ...]:
        """The lines `code` is written on (one unless it is listed twice)."""
        return tuple(line for line in self.written if line.code == code)

    @property
    def procedures(self) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if not line.is_em)

    @property
    def em_lines(self) -> tuple[Line, ...]:
        """The E/M codes asked about; the office visit family when the asker names a
        visit in words ("office visit", "new patient", "E/M") and writes no E/M code."""
        named = tuple(line for line in self.lines if line.is_em)
        if named or not self.em_words:
            return named
        return (Line(OFFICE_VISITS, CodeSystem.CPT),)


class Ref(Protocol):
    """What the reader needs of an extracted reference (consultant.pipeline.extract)."""

    @property
    def code(self) -> str: ...
    @property
    def system(self) -> str: ...
    @property
    def part(self) -> str: ...
    @property
    def quoted(self) -> bool: ...
    @property
    def units(self) -> int | None: ...


def read_question(subject: str, text: str, refs: Sequence[Ref]) -> Question:
    """The claim lines and cues of a question whose codes the extractor found."""
    own = [ref for ref in refs if not ref.quoted]
    parts = {"subject": subject, "body": text}
    written = [_lines(ref, parts.get(ref.part, text)) for ref in own if ref.system in PROCEDURES]
    words = f"{subject}\n{text}"
    plain = _plain(words)
    setting, setting_code = _setting(words, plain, own)
    return Question(
        lines=_merged(tuple(line for lines in written for line in lines[:1])),
        written=tuple(line for lines in written for line in lines[1:]),
        diagnoses=tuple(ref.code for ref in own if ref.system == CodeSystem.ICD10CM),
        modifiers=tuple(dict.fromkeys(r.code for r in own if r.system == CodeSystem.MODIFIER)),
        same_site=_SAME.found(words, plain),
        distinct_site=_DISTINCT.found(words, plain),
        together=bool(_TOGETHER.search(words)),
        per_side=_PER_SIDE.found(words, plain),
        em_words=_E_M_WORDS.found(words, plain),
        doses=tuple(doses_in(words)),
        strengths=tuple(dict.fromkeys(strength for strength, _ in _strengths(words))),
        commercial=_COMMERCIAL.found(words, plain),
        setting=setting,
        setting_code=setting_code,
    )


def _setting(words: str, plain: str, own: Sequence[Ref]) -> tuple[str | None, str | None]:
    """The setting the asker names; else hospital outpatient when the claim has a
    HCPCS C code (CMS made the C codes for the hospital outpatient payment system),
    with that code."""
    if (named := setting_in(words, plain)) is not None:
        return named, None
    c_code = next((r.code for r in own if r.system == CodeSystem.HCPCS and r.code[0] == "C"), None)
    return (HOSPITAL_OUTPATIENT, c_code) if c_code else (None, None)


def setting_in(text: str, plain: str | None = None) -> str | None:
    """The place of service the asker names, when it is not a practitioner's office."""
    plain = _plain(text) if plain is None else plain
    for cue, setting in _SETTINGS:
        if cue.found(text, plain):
            return setting
    return None


def doses_in(text: str) -> list[Dose]:
    """The doses written in text, leaving out the numbers of a stated strength."""
    text = text.lower()
    taken = [span for _, span in _strengths(text)]
    found = []
    for match in DOSE.finditer(text):
        if not any(start <= match.start() < end for start, end in taken):
            found.append(_dose(match))
    return found


def _strengths(text: str) -> list[tuple[Strength, tuple[int, int]]]:
    """Each strength stated in text, per mL, with where it is written."""
    found: list[tuple[Strength, tuple[int, int]]] = []
    text = text.lower()
    if "ml" not in text and "cc" not in text:  # every strength is per mL
        return found
    for pattern in _STRENGTHS:
        for match in pattern.finditer(text):
            groups = match.groups()
            if pattern is _STRENGTHS[0]:
                weight, unit, volume = float(groups[0]), groups[1], float(groups[2] or 1)
            else:
                volume, weight, unit = float(groups[0]), float(groups[2]), groups[3]
            if volume > 0:
                found.append((Strength(weight / volume, unit.lower()), match.span()))
    return found


def _lines(ref: Ref, text: str) -> list[Line]:
    """The code's line (every modifier attached to it wherever it is written, the units
    the extractor kept, the doses written in the rest of its sentence), then the lines
    it is written on when it is listed twice with other modifiers ("64493 and
    64493-50"); just the one line otherwise."""
    mentions = []
    for match in re.finditer(rf"(?<![0-9A-Za-z]){re.escape(ref.code)}(?![0-9A-Za-z])", text, re.I):
        hits = list(attached(text, match.end()))
        sentence = re.split(r"[.?!\n]\s", text[match.end() : match.end() + 160])[0]
        end = hits[-1][3] if hits else match.end()
        mentions.append((match.start(), end, tuple(hit[0] for hit in hits), doses_in(sentence)))
    merged = Line(
        ref.code,
        ref.system,
        tuple(dict.fromkeys(m for _, _, modifiers, _ in mentions for m in modifiers)),
        ref.units,
        tuple(dose for *_, doses in mentions for dose in doses),
    )
    listed = _listed_together(text, [(start, end, mods) for start, end, mods, _ in mentions])
    return [merged, *(Line(ref.code, ref.system, mods) for mods in listed)]


def _listed_together(
    text: str, mentions: list[tuple[int, int, tuple[str, ...]]]
) -> list[tuple[str, ...]]:
    """The modifiers of each mention in the first run of mentions joined by "and", ","
    or "+" that differ in their modifiers; none when there is no such run."""
    run: list[tuple[str, ...]] = []
    for (_, end, mods), (start, _, following) in pairwise(mentions):
        if _JOINED.fullmatch(text[end:start]) is None:
            if len(set(run)) > 1:
                break
            run = []
            continue
        run = run or [mods]
        run.append(following)
    return run if len(set(run)) > 1 else []


def _dose(match: re.Match[str]) -> Dose:
    unit = match.group(2).lower()
    return Dose(float(match.group(1)), "ml" if unit == "cc" else unit.rstrip("s"))


def _merged(lines: tuple[Line, ...]) -> tuple[Line, ...]:
    """One line per code (the extractor reports a code once)."""
    return tuple({line.code: line for line in lines}.values())
