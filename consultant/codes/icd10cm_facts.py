"""ICD-10-CM facts and findings for the diagnoses of one mail, in three queries at most.

Input: the dotted codes, the release in effect and its Source. Output: a
`CodeFacts` per code (description, billable or header or invalid, where it
sits in the tabular, its 7th character, every note that applies to it with the
entry it is written on) and the findings: not billable, a 7th character
missing or wrong, not in the tabular, and Excludes1 conflicts between the
codes. The rows come from consultant.codes.icd10cm_rows: one recursive query
for every code's entries up to its chapter, one for the notes on all of them,
and one, only when a code is not billable, for the entries below it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from consultant.codes.excludes import note_covers, undotted
from consultant.codes.facts import (
    BILLABLE,
    ERROR,
    HEADER,
    INVALID,
    WARNING,
    CodeFacts,
    Fact,
    Finding,
    Source,
)
from consultant.codes.icd10cm_rows import Entry, Note, Tabular, read_children, read_tabular
from consultant.codes.systems import CodeSystem

# Notes in the order a coder applies them, with their tabular names.
NOTE_TITLES = {
    "code_first": "Code first",
    "use_additional_code": "Use additional code",
    "code_also": "Code also",
    "excludes1": "Excludes1",
    "excludes2": "Excludes2",
    "includes": "Includes",
    "inclusion_term": "Inclusion term",
    "note": "Note",
}
SUGGEST = 12  # entries listed when a code is not billable


def icd10cm_facts(
    session: Session, release_id: int, source: Source, codes: Sequence[str]
) -> tuple[dict[str, CodeFacts], list[Finding]]:
    """Facts per code and findings (including Excludes1 conflicts) for the mail's diagnoses."""
    tabular = read_tabular(session, release_id, codes)
    needy = set()
    for code in codes:
        entry = tabular.nearest(code)
        if entry is not None and not (entry.code == code and entry.billable):
            needy.add(entry.code)
    read_children(session, release_id, tabular, needy)
    facts: dict[str, CodeFacts] = {}
    findings: list[Finding] = []
    for code in codes:
        code_facts, code_findings = _one_code(tabular, source, code)
        facts[code] = code_facts
        findings.extend(code_findings)
    findings.extend(
        excludes1_conflicts(tabular, source, [c for c in codes if c in tabular.entries])
    )
    return facts, findings


def _one_code(tabular: Tabular, source: Source, code: str) -> tuple[CodeFacts, list[Finding]]:
    entry = tabular.entries.get(code)
    if entry is None:
        return _not_an_entry(tabular, source, code)
    lineage = tabular.lineage(code)
    facts = [Fact("description", entry.description, source)]
    findings: list[Finding] = []
    seventh = tabular.seventh(lineage)
    if entry.billable:
        status = BILLABLE
        facts.append(Fact("status", "billable: valid as a diagnosis on a claim", source))
    else:
        status = HEADER
        fact, finding = _not_billable(tabular, source, entry, seventh)
        facts.append(fact)
        findings.append(finding)
    facts.append(Fact("hierarchy", _hierarchy(lineage[1:]), source))
    if seventh is not None:
        facts.append(_seventh_fact(source, code, seventh))
    facts.extend(_note_facts(tabular, source, lineage))
    return CodeFacts(code, CodeSystem.ICD10CM, status, entry.description, tuple(facts)), findings


def _not_billable(
    tabular: Tabular, source: Source, entry: Entry, seventh: tuple[str, list[Note]] | None
) -> tuple[Fact, Finding]:
    children = tabular.children.get(entry.code, [])
    if seventh is not None and any(len(undotted(child.code)) == 7 for child in children):
        codes = ", ".join(child.code for child in children) or "see the tabular"
        text = f"not billable without a 7th character: {codes}"
        finding = Finding(
            "needs_seventh_character",
            ERROR,
            (entry.code,),
            f"{entry.code} needs a 7th character (defined at {seventh[0]}): {codes}",
            source,
        )
        return Fact("status", text, source), finding
    below = _listing(children)
    what = entry.kind if entry.kind in ("category", "subcategory") else "entry"
    text = f"{what}, not billable: needs more characters; choose a code below it: {below}"
    finding = Finding("not_billable", ERROR, (entry.code,), f"{entry.code} is a {text}", source)
    return Fact("status", text, source), finding


def _listing(entries: Sequence[Entry]) -> str:
    shown = [f"{e.code} {e.description}" for e in entries[:SUGGEST]]
    if len(entries) > SUGGEST:
        shown.append(f"and {len(entries) - SUGGEST} more")
    return "; ".join(shown) if shown else "see the tabular"


def _hierarchy(ancestors: Sequence[Entry]) -> str:
    parts = []
    for entry in ancestors:
        if entry.kind == "chapter":
            parts.append(f"chapter {entry.code}: {entry.description}")
        elif entry.kind == "block":
            parts.append(f"block {entry.description}")
        else:
            parts.append(f"{entry.kind} {entry.code} {entry.description}")
    return "under " + " < ".join(parts) if parts else "a chapter of the tabular"


def _seventh_fact(source: Source, code: str, seventh: tuple[str, list[Note]]) -> Fact:
    where, defined = seventh
    plain = undotted(code)
    if len(plain) == 7:
        meaning = next((n.text for n in defined if n.character == plain[6]), None)
        if meaning is not None:
            return Fact(
                "seventh_character",
                f"7th character {plain[6]} (defined at {where}): {meaning}",
                source,
            )
    listed = "; ".join(f"{n.character} {n.text}" for n in defined)
    text = f"takes a 7th character (defined at {where}): {listed}"
    if len(plain) < 6:
        positions = "position 6" if len(plain) == 5 else f"positions {len(plain) + 1} to 6"
        text += f"; fill {positions} with the placeholder X"
    return Fact("seventh_character", text, source)


def _note_facts(tabular: Tabular, source: Source, lineage: Sequence[Entry]) -> list[Fact]:
    """Every note that applies, a fact per kind and entry, the code's own before its
    ancestors': "Excludes1 (from E11): …; …"."""
    facts = []
    for kind, title in NOTE_TITLES.items():
        for depth, entry in enumerate(lineage):
            if kind == "inclusion_term" and depth > 0:
                continue  # an ancestor's inclusion terms describe the ancestor
            texts = [
                note.text
                for note in tabular.notes.get(entry.code, ())
                if note.kind == kind and note.character is None
            ]
            if texts:
                origin = f" (from {_name(entry)})" if depth else ""
                facts.append(Fact(kind, f"{title}{origin}: {_joined(texts)}", source))
    return facts


def _name(entry: Entry) -> str:
    return f"chapter {entry.code}" if entry.kind == "chapter" else entry.code


def _joined(texts: Sequence[str]) -> str:
    """Note lines joined with "; ", except after a line that introduces the next ones."""
    out = texts[0]
    for text in texts[1:]:
        out += f" {text}" if out.endswith(":") else f"; {text}"
    return out


def _not_an_entry(tabular: Tabular, source: Source, code: str) -> tuple[CodeFacts, list[Finding]]:
    """A code the tabular does not list: say why, and what is nearest."""
    nearest = tabular.nearest(code)
    text = f"{code} is not in the ICD-10-CM tabular ({source.label})"
    facts = [Fact("status", "not a code in this release of the tabular", source)]
    if nearest is not None:
        seventh = tabular.seventh(tabular.lineage(nearest.code))
        text = _why_not(tabular, code, nearest, seventh) or (
            f"{text}; the nearest entry is {nearest.code} {nearest.description}"
        )
        if seventh is not None:
            facts.append(_seventh_fact(source, nearest.code, seventh))
    finding = Finding("invalid_code", ERROR, (code,), text, source)
    return CodeFacts(code, CodeSystem.ICD10CM, INVALID, "", tuple(facts)), [finding]


def _why_not(
    tabular: Tabular, code: str, nearest: Entry, seventh: tuple[str, list[Note]] | None
) -> str | None:
    """Explain a 7th character that is wrong, or written without its X placeholders."""
    if seventh is None or nearest.kind != "code":
        return None
    plain, base = undotted(code), undotted(nearest.code)
    rest = plain[len(base) :]
    where, defined = seventh
    valid = [n.character for n in defined if n.character]
    if len(rest) != 1:
        return None
    if len(base) < 6:
        fixed = nearest.code + "X" * (6 - len(base)) + rest
        exists = any(e.code == fixed for e in tabular.children.get(nearest.code, []))
        if rest in valid and exists:
            return (
                f"{code} is not a code: the 7th character goes in position 7, so "
                f"{nearest.code} takes the placeholder X first: {fixed}"
            )
    if len(base) == 6 and rest not in valid:
        return (
            f"{code} is not a code: 7th character {rest} is not defined for {nearest.code} "
            f"(defined at {where}: {', '.join(valid)})"
        )
    return None


def excludes1_conflicts(tabular: Tabular, source: Source, codes: Sequence[str]) -> list[Finding]:
    """A finding per pair of codes where an Excludes1 note of one (or its ancestors)
    names the other; both directions of a pair make one finding."""
    said: dict[tuple[str, str], list[str]] = {}
    for a in codes:
        lineage = tabular.lineage(a)
        for b in codes:
            if b == a:
                continue
            for line in _excluding(tabular, lineage, b):
                key = (a, b) if a < b else (b, a)
                said.setdefault(key, []).append(f"{a}: {line}")
    return [
        Finding(
            "excludes1",
            WARNING,
            pair,
            f"Excludes1 between {pair[0]} and {pair[1]}: they are not coded together, "
            "unless the two conditions are unrelated (guideline I.A.12.a). " + "; ".join(lines),
            source,
        )
        for pair, lines in said.items()
    ]


def _excluding(tabular: Tabular, lineage: Iterable[Entry], other: str) -> list[str]:
    lines = []
    for entry in lineage:
        for note in tabular.notes.get(entry.code, ()):
            if note.kind == "excludes1" and note_covers(note.text, other) is not None:
                lines.append(f"Excludes1 at {_name(entry)}: {note.text}")
    return lines
