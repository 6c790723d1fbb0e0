"""Answer a question from the loaded code data: the verdicts it needs, then the
proposed answer that states them first.

Input: a session, the mail's subject and own text, the codes the extractor found
in it, and the date of service. Output: an `Answer` (verdicts, the proposed
answer text, and which kinds of data were stale for the date). Reads each CMS
table once for the question's codes (consultant.codes.cms_rows) and the
ICD-10-CM descriptions of its diagnoses; writes nothing.

Which verdicts a question needs: every E/M with every procedure (em_procedure);
every pair of other procedures when the asker asks about them together (or
names exactly two); every add-on code; units wherever the asker states them, a
dose, or a side each; a code that is not valid on the date; a diagnosis of one
side with a procedure of the other. Data older or newer than the date of
service is used as the nearest release and the verdict says so (`stale`). A
question about a hospital outpatient, ASC or facility claim, or a commercial
payer, ends with a note naming the CMS files the verdicts rest on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultant.answer.question import Question, Ref, read_question
from consultant.answer.units import units_verdict
from consultant.answer.verdicts import (
    Verdict,
    addon_verdict,
    em_verdict,
    laterality_verdict,
    pair_verdict,
    unknown_to_cms,
    validity_verdict,
)
from consultant.codes.cms_rows import CmsRows, PtpRow, read_cms
from consultant.codes.in_effect import ReleaseInfo, releases_in_effect
from consultant.codes.kinds import (
    HOSPITAL,
    ICD10CM,
    MUE,
    MUE_DME,
    MUE_HOSPITAL,
    NCCI_PTP,
    NCCI_PTP_HOSPITAL,
    PFS,
    PRACTITIONER,
    SETTING_NAMES,
    SETTINGS,
)
from consultant.codes.naming import next_release
from consultant.db.models.codes import Icd10cmCode, PtpEdit
from consultant.policies.match import Asked, Fired, applicable
from consultant.policies.store import in_use

PAIRED_LINES = 6  # procedures compared pairwise (15 pairs at most)
_SETTING_FILES = (
    (NCCI_PTP_HOSPITAL, "NCCI edits for hospital outpatient claims"),
    (MUE_HOSPITAL, "MUEs for facility outpatient hospital services"),
    (MUE_DME, "MUEs for DME supplier services"),
)
RULES_HEADING = "The rules this rests on:"


@dataclass(frozen=True, slots=True)
class Answer:
    dos: date
    verdicts: tuple[Verdict, ...]
    text: str  # the proposed answer; "" when no verdict could be drafted
    stale: tuple[str, ...]  # kinds whose loaded release does not cover the date
    rules: tuple[Fired, ...] = ()  # the policy rules that apply, most specific first
    basis: str = ""  # how the date of service was found, where the answer knows it


def answer_question(
    session: Session,
    subject: str,
    text: str,
    refs: Sequence[Ref],
    dos: date,
    *,
    setting: str | None = None,
) -> Answer:
    """The verdicts the question needs, from the releases nearest the date of service,
    for the claim `setting` a reviewer chose, else the one the question names."""
    question = read_question(subject, text, refs)
    releases = releases_in_effect(session, dos, setting or question.claim_setting)
    stale = tuple(sorted(release.kind for release in releases.values() if _stale(release, dos)))
    codes = [line.code for line in question.lines]
    rows = read_cms(session, releases, dos, codes, list(question.modifiers))
    verdicts = [_marked(verdict, stale) for verdict in _verdicts(session, rows, question, releases)]
    rules = tuple(applicable(in_use(session), asked(question, f"{subject}\n{text}", verdicts, dos)))
    notes = scope_notes(question, verdicts, setting)
    return Answer(dos, tuple(verdicts), compose(verdicts, notes, rules), stale, rules)


def rules_only(session: Session, subject: str, text: str, dos: date, basis: str = "") -> Answer:
    """The policy rules a question without codes calls for (its words alone)."""
    question = read_question(subject, text, ())
    rules = applicable(in_use(session), asked(question, f"{subject}\n{text}", (), dos))
    return Answer(dos, (), "", (), tuple(rules), basis)


def asked(question: Question, words: str, verdicts: Sequence[Verdict], dos: date) -> Asked:
    """What the policy rules are matched against: the asker's words, codes and
    modifiers, and the verdicts drawn."""
    codes = [line.code for line in (*question.lines, *question.written)]
    modifiers = [m for line in (*question.lines, *question.written) for m in line.modifiers]
    return Asked.of(
        words,
        [*codes, *question.diagnoses],
        [*question.modifiers, *modifiers],
        [(verdict.kind, verdict.fields) for verdict in verdicts],
        dos,
    )


def _stale(release: ReleaseInfo, dos: date) -> bool:
    """The release does not cover the date: it starts after it, or a newer one is due."""
    return release.effective > dos or dos >= next_release(release.kind, release.effective)


def _marked(verdict: Verdict, stale: Sequence[str]) -> Verdict:
    if not any(source.kind in stale for source in verdict.sources):
        return verdict
    return Verdict(verdict.kind, verdict.fields, verdict.text, verdict.sources, True)


def _verdicts(
    session: Session, rows: CmsRows, question: Question, releases: dict[str, ReleaseInfo]
) -> Iterator[Verdict]:
    codes = [line.code for line in question.lines]
    fee = releases.get(PFS)
    after_data = fee is None or rows.dos >= next_release(PFS, fee.effective)
    invalid = set()
    for line in question.lines:
        unknown = not after_data and unknown_to_cms(rows, line.code)
        mentions = _mentions(session, releases, line.code) if unknown else []
        if (found := validity_verdict(rows, line, after_data, mentions)) is not None:
            invalid.add(line.code)
            yield found
    for em in question.em_lines:
        for procedure in question.procedures:
            if (found := em_verdict(rows, em, procedure)) is not None:
                yield found
    procedures = [line for line in question.procedures if line.code not in invalid]
    procedures = procedures[:PAIRED_LINES]
    if NCCI_PTP in releases and (question.together or len(procedures) == 2):
        for a, b in combinations(procedures, 2):
            if (found := pair_verdict(rows, question, a, b)) is not None:
                yield found
    for line in question.lines:
        if (found := addon_verdict(rows, line.code, codes)) is not None:
            yield found
        if (found := units_verdict(rows, question, line)) is not None:
            yield found
    yield from _laterality(session, question, releases, rows.dos)


def _mentions(session: Session, releases: dict[str, ReleaseInfo], code: str) -> list[PtpRow]:
    """The PTP edits with `code` in column 1 (the key's order, so one index search).

    Asked only for a CPT code the fee schedule, the MUEs and the add-on edits do
    not know. In the 2024 Q3 files no such code is column 2 of an edit without
    also being column 1 of one, so the column 1 rows tell a deleted code (edits
    ended) from a number that was never a code (no edits), without scanning
    2.5 million rows.
    """
    release = releases.get(NCCI_PTP)
    if release is None:
        return []
    t = PtpEdit.__table__.c
    query = (
        select(t.column1, t.column2, t.seq, t.effective, t.deleted, t.modifier_indicator,
               t.rationale)
        .where(t.release_id == release.id, t.column1 == code)
        .limit(500)
    )  # fmt: skip
    return [PtpRow(*row) for row in session.execute(query)]


def _laterality(
    session: Session, question: Question, releases: dict[str, ReleaseInfo], dos: date
) -> Iterator[Verdict]:
    sided = [line for line in question.lines if line.side in ("right", "left")]
    release = releases.get(ICD10CM)
    if not sided or not question.diagnoses or release is None:
        return
    query = select(Icd10cmCode.code, Icd10cmCode.description).where(
        Icd10cmCode.release_id == release.id, Icd10cmCode.code.in_(question.diagnoses)
    )
    described = {code: description for code, description in session.execute(query)}
    source = release.source(dos)
    for line in sided:
        for diagnosis, description in described.items():
            if (found := laterality_verdict(line, diagnosis, description, source)) is not None:
                yield found


def scope_notes(
    question: Question, verdicts: Sequence[Verdict], chosen: str | None = None
) -> list[str]:
    """What the verdicts do not cover that the asker's words suggest they should: the
    setting (whose edits and MUEs the verdicts use, `chosen` by a reviewer or read
    from the question) and the payer."""
    kinds = {source.kind for verdict in verdicts for source in verdict.sources}
    notes = []
    if chosen is not None and chosen != PRACTITIONER and kinds & set(SETTINGS):
        notes.append(_chosen_note(chosen, kinds))
    elif chosen is None and question.setting is not None and kinds & set(SETTINGS):
        notes.append(_setting_note(question, kinds))
    if question.commercial and verdicts:
        notes.append(
            "You mention a commercial payer: these verdicts rest on CMS's Medicare files. "
            "A commercial payer may apply its own edits and policies; check its rules."
        )
    return notes


def _chosen_note(chosen: str, kinds: set[str]) -> str:
    """Which setting's files the verdicts rest on, for a setting the reviewer chose."""
    named = SETTING_NAMES.get(chosen, chosen)
    used = [name for kind, name in _SETTING_FILES if kind in kinds]
    if not used:
        return (
            f"This is {'an' if named[0] in 'aeiouAEIOU' else 'a'} {named} claim: CMS's edits for "
            "it are not loaded here, so these verdicts rest on the practitioner NCCI edits "
            "and MUEs."
        )
    return f"This is a {named} claim: these verdicts rest on CMS's {' and '.join(used)}."


def _setting_note(question: Question, kinds: set[str]) -> str:
    """Which setting's NCCI edits and MUEs the verdicts rest on, and why."""
    why = (
        f"{question.setting_code} is a HCPCS C code, which CMS created for hospital "
        "outpatient claims"
        if question.setting_code
        else f"you mention {'an' if question.setting == 'ASC' else 'a'} {question.setting} claim"
    )
    used = [name for kind, name in _SETTING_FILES if kind in kinds]
    if used:
        note = f"These verdicts rest on CMS's {' and '.join(used)}, because {why}."
        if kinds & {NCCI_PTP, MUE}:
            note += " Where no hospital file is loaded, they rest on the practitioner one."
        return note
    note = (
        f"{why[0].upper()}{why[1:]}: these verdicts rest on CMS's practitioner NCCI edits and MUEs."
    )
    if question.claim_setting == HOSPITAL:
        return note + (
            " CMS publishes separate NCCI edits for hospital outpatient claims and MUEs "
            "for facility outpatient hospital services; those were not checked here."
        )
    return note + " Check the edits the facility's own claim is subject to."


def compose(
    verdicts: Sequence[Verdict], notes: Sequence[str] = (), rules: Sequence[Fired] = ()
) -> str:
    """The proposed answer: one short paragraph per verdict, each with its source, then
    the notes on what the verdicts do not cover, then the policy rules it rests on,
    one line each; "" when there is no verdict."""
    paragraphs = []
    for verdict in verdicts:
        cited = "; ".join(source.short() for source in verdict.sources)
        paragraph = f"{verdict.text} [{cited}]"
        if verdict.stale:
            paragraph += (
                " These data do not cover the date of service: check the release in force "
                "then before relying on this."
            )
        paragraphs.append(paragraph)
    if not paragraphs:
        return ""
    listed = [rule_lines(rules)] if rules else []
    return "\n\n".join([*paragraphs, *notes, *listed])


def rule_lines(rules: Sequence[Fired]) -> str:
    """The rules an answer cites, one line each, with the version it used."""
    lines = [RULES_HEADING]
    for found in rules:
        rule = found.rule
        cited = "; ".join(rule.citations)
        lines.append(f"- {rule.title} ({cited}) [rule {rule.id} v{rule.version}]")
    return "\n".join(lines)
