"""Read the ICD-10-CM tabular rows the diagnoses of one mail need: two or three queries.

Input: the dotted codes and the release in effect. Output: a `Tabular` of
plain values: each code's entries (the code itself, or its longest existing
prefix when it is not one, up to its chapter) with the notes written on them,
and, for codes that are not billable, the entries right below them.
consultant.codes.icd10cm_facts turns it into facts and findings.

What applies to a code is what it and its ancestors say (the tabular's
convention); 7th-character definitions come only from the nearest entry that
has them, as in `consultant.codes.icd10cm.notes_for`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from consultant.codes.excludes import undotted
from consultant.db.models.codes import Icd10cmCode, Icd10cmNote


@dataclass(frozen=True, slots=True)
class Entry:
    code: str
    kind: str  # chapter, block, category, subcategory, code
    description: str
    billable: bool
    parent: str | None


@dataclass(frozen=True, slots=True)
class Note:
    code: str  # the entry it is written on
    kind: str
    position: int
    character: str | None
    text: str


@dataclass(slots=True)
class Tabular:
    """The rows read for one mail: entries by code, notes by entry, children by parent."""

    entries: dict[str, Entry] = field(default_factory=dict)
    notes: dict[str, list[Note]] = field(default_factory=lambda: defaultdict(list))
    children: dict[str, list[Entry]] = field(default_factory=lambda: defaultdict(list))

    def lineage(self, code: str) -> list[Entry]:
        """The entry and its ancestors, nearest first."""
        found: list[Entry] = []
        entry = self.entries.get(code)
        while entry is not None and len(found) < 12:
            found.append(entry)
            entry = self.entries.get(entry.parent) if entry.parent else None
        return found

    def nearest(self, code: str) -> Entry | None:
        """The longest prefix of `code` that is an entry (the code itself when it is one)."""
        return next((self.entries[p] for p in reversed(prefixes(code)) if p in self.entries), None)

    def seventh(self, lineage: Sequence[Entry]) -> tuple[str, list[Note]] | None:
        """The nearest entry defining 7th characters, and its definitions."""
        for entry in lineage:
            defined = [n for n in self.notes.get(entry.code, ()) if n.kind == "seven_chr_def"]
            if defined:
                return entry.code, defined
        return None


def prefixes(code: str) -> list[str]:
    """The entries a dotted code would sit under, shortest first: S82, S82.8, … S82.821A."""
    code = code.upper()
    if len(code) <= 3 or code[3] != ".":
        return [code]
    return [code[:3], *(code[:end] for end in range(5, len(code) + 1))]


def _lineage_statement() -> Select[Any]:
    """Entries named by `codes` and every entry above them: a recursive CTE."""
    c = Icd10cmCode.__table__.c
    columns = (c.code, c.kind, c.description, c.billable, c.parent)
    start = (
        select(*columns)
        .where(
            c.release_id == bindparam("release_id"), c.code.in_(bindparam("codes", expanding=True))
        )
        .cte("lineage", recursive=True)
    )
    up = select(*columns).where(c.release_id == bindparam("release_id"), c.code == start.c.parent)
    return select(start.union(up))


# Built once; they compile once per IN-list length and run without the ORM layer.
_LINEAGE = _lineage_statement()
_N = Icd10cmNote.__table__.c
_NOTES = (
    select(_N.code, _N.kind, _N.position, _N.character, _N.text)
    .where(
        _N.release_id == bindparam("release_id"), _N.code.in_(bindparam("codes", expanding=True))
    )
    .order_by(_N.code, _N.position)
)


def read_tabular(session: Session, release_id: int, codes: Sequence[str]) -> Tabular:
    """Every entry from each code (or its longest existing prefix) up to its chapter, and
    the notes on them: two queries."""
    wanted = sorted({p for code in codes for p in prefixes(code)})
    connection = session.connection()
    tabular = Tabular()
    for row in connection.execute(_LINEAGE, {"release_id": release_id, "codes": wanted}):
        tabular.entries[row[0]] = Entry(*row)
    params = {"release_id": release_id, "codes": sorted(tabular.entries)}
    for row in connection.execute(_NOTES, params):
        tabular.notes[row[0]].append(Note(*row))
    return tabular


_CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_C = Icd10cmCode.__table__.c
_ENTRIES = (
    select(_C.code, _C.kind, _C.description, _C.billable, _C.parent)
    .where(
        _C.release_id == bindparam("release_id"), _C.code.in_(bindparam("codes", expanding=True))
    )
    .order_by(_C.code)
)


def dotted(plain: str) -> str:
    return f"{plain[:3]}.{plain[3:]}" if len(plain) > 3 else plain


def child_candidates(code: str, seventh: bool) -> list[str]:
    """Every code that could sit right below `code`: one more character, or, when a
    7th character applies, the X placeholders up to six and a 7th character."""
    plain = undotted(code)
    found = [dotted(plain + c) for c in _CHARACTERS] if len(plain) < 7 else []
    if seventh and len(plain) < 6:
        padded = plain + "X" * (6 - len(plain))
        found += [dotted(padded + c) for c in _CHARACTERS]
    return found


def read_children(session: Session, release_id: int, tabular: Tabular, parents: set[str]) -> None:
    """Add the entries right below `parents`: one query by primary key over the codes that
    could be there (a parent or prefix query would scan the table)."""
    candidates = sorted(
        {
            child
            for parent in parents
            for child in child_candidates(
                parent, tabular.seventh(tabular.lineage(parent)) is not None
            )
        }
    )
    if not candidates:
        return
    params = {"release_id": release_id, "codes": candidates}
    for row in session.connection().execute(_ENTRIES, params):
        entry = Entry(*row)
        if entry.parent in parents:
            tabular.children[entry.parent].append(entry)
