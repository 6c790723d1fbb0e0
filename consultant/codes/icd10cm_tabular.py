"""The ICD-10-CM tabular XML read into rows: entries and notes, no database.

`read_tabular` turns the CDC tabular XML and the package's code list into the
rows `consultant.codes.icd10cm` writes: `Tabular.codes` for `Icd10cmCode`,
`Tabular.notes` for `Icd10cmNote`, both without release ids. An element the
reader does not know stops it, so a new XML layout cannot drop notes silently.

Entries (`Icd10cmCode.kind`), with the CDC guidelines' words (I.A.3):

- chapter: "1" … "22", described "Certain infectious and parasitic diseases (A00-B99)".
- block: a range of categories, "E08-E13". The 12 heading blocks that hold
  other blocks (C00-C96, C00-C75, M00-M25, T20-T32, V00-V99, …) follow each
  other in the XML, but their notes cover the blocks under them, so here they
  are those blocks' parents: C00-C14 → C00-C75 → C00-C96 → 2. A block of a
  single category has that category's code as its XML id ("B99"); it is stored
  as "B99-B99" so it does not collide with the category.
- category: three characters, "E11".
- subcategory: a code with a dot that has more specific entries under it, "E11.6".
- code: "the final level of subdivision" of the tabular ("E11.9", "S82.821"),
  and the codes made of it and a 7th character ("S82.821A", "S00.00XA").
  "Codes that have applicable 7th characters are still referred to as codes,
  not subcategories. A code that has an applicable 7th character is considered
  invalid without the 7th character": S82.821 is a code that is not billable.

`billable` is true exactly for categories and codes with nothing under them
(74,719 in the April 2026 release). 7th-character codes are built as the
package builds them: the nearest 7th-character definition, X placeholders up
to six characters, and only the results listed in the package's code list.

Notes (`Icd10cmNote.kind`) are stored on the entry where the tabular puts
them, one row per line, `position` counting from 0 in the entry's source
order: includes, inclusion_term, excludes1, excludes2, code_first,
use_additional_code, code_also, note (the XML's <notes>, and the visual
impairment table of H54.8 as one line per category), seven_chr_note, and
seven_chr_def (`character` "A", `text` "initial encounter for closed
fracture"). A line under a 7th-character definition ("initial encounter for
open fracture NOS" under B) is an inclusion_term with that `character`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def read_tabular(tabular: Path, code_list: Path) -> Tabular:
    """Read the tabular XML; the code list says which 7th-character codes exist."""
    root = ET.parse(tabular).getroot()
    result = Tabular(root.findtext("version", ""), _code_list(code_list))
    result.read(root)
    return result


def _code_list(path: Path) -> frozenset[str]:
    # One entry a line, without dots; the lines end in CRLF.
    return frozenset(path.read_text("utf-8").split())


NOTE_KINDS = {
    "includes": "includes",
    "inclusionTerm": "inclusion_term",
    "excludes1": "excludes1",
    "excludes2": "excludes2",
    "codeFirst": "code_first",
    "useAdditionalCode": "use_additional_code",
    "codeAlso": "code_also",
    "notes": "note",
    "sevenChrNote": "seven_chr_note",
}
# Read by the entry itself (name, desc, children) or derived (the chapter's list of blocks).
STRUCTURE = frozenset({"name", "desc", "section", "diag", "sectionIndex"})


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _range(block: str) -> tuple[str, str]:
    first, _, last = block.partition("-")
    return first, last or first


class Tabular:
    """The tabular XML read into rows: `codes` and `notes`, without release ids."""

    def __init__(self, fiscal_year: str, confirmed: frozenset[str]) -> None:
        self.fiscal_year = fiscal_year  # the XML's <version>: "2026"
        self.confirmed = confirmed  # every entry of the package's code list, without dots
        self.codes: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []

    def read(self, root: ET.Element) -> None:
        for chapter in root.iter("chapter"):
            code = _clean(chapter.findtext("name"))
            self._entry(code, "chapter", chapter, None)
            self._blocks(chapter.findall("section"), code)

    def _entry(
        self, code: str, kind: str, element: ET.Element, parent: str | None
    ) -> dict[str, Any]:
        row = {
            "code": code,
            "kind": kind,
            "description": _clean(element.findtext("desc")),
            "billable": False,
            "parent": parent,
        }
        self.codes.append(row)
        self._notes(code, element)
        return row

    def _blocks(self, sections: Sequence[ET.Element], chapter: str) -> None:
        # Heading blocks hold no categories of their own; the blocks after them
        # that fall in their range are theirs.
        headings: list[tuple[str, tuple[str, str]]] = []
        for section in sections:
            span = _range(section.attrib["id"])
            while headings and not headings[-1][1][0] <= span[0] <= span[1] <= headings[-1][1][1]:
                headings.pop()
            code = "-".join(span)
            self._entry(code, "block", section, headings[-1][0] if headings else chapter)
            diags = section.findall("diag")
            if not diags:
                headings.append((code, span))
            for diag in diags:
                self._diag(diag, code, {})

    def _diag(self, element: ET.Element, parent: str, seventh: dict[str, str]) -> None:
        code = _clean(element.findtext("name"))
        children = element.findall("diag")
        kind = "category" if len(code) == 3 else "subcategory" if children else "code"
        row = self._entry(code, kind, element, parent)
        seventh = self._seventh(element) or seventh
        for child in children:
            self._diag(child, code, seventh)
        if not children:
            row["billable"] = not self._extend(row, seventh)

    def _seventh(self, element: ET.Element) -> dict[str, str]:
        definition = element.find("sevenChrDef")
        if definition is None:
            return {}
        return {item.attrib["char"]: _clean(item.text) for item in definition.iter("extension")}

    def _extend(self, row: dict[str, Any], seventh: dict[str, str]) -> bool:
        """Add the 7th-character codes of a tabular leaf; say whether there were any."""
        stem = row["code"] if len(row["code"]) > 3 else row["code"] + "."
        stem = stem.ljust(7, "X")
        added = False
        for character, meaning in seventh.items():
            code = stem + character
            if code.replace(".", "") not in self.confirmed:
                continue
            self.codes.append(
                {
                    "code": code,
                    "kind": "code",
                    "description": f"{row['description']}, {meaning}",
                    "billable": True,
                    "parent": row["code"],
                }
            )
            added = True
        return added

    def _notes(self, code: str, element: ET.Element) -> None:
        lines: list[tuple[str, str | None, str]] = []
        for child in element:
            if child.tag in NOTE_KINDS:
                kind = NOTE_KINDS[child.tag]
                lines.extend((kind, None, _clean(note.text)) for note in child.iter("note"))
            elif child.tag == "sevenChrDef":
                lines.extend(_seven_chr_def(child))
            elif child.tag == "visualImpairment":
                lines.extend(("note", None, text) for text in _visual_impairment(child))
            elif child.tag not in STRUCTURE:
                raise ValueError(f"unknown element <{child.tag}> in ICD-10-CM entry {code}")
        self.notes.extend(
            {"code": code, "kind": kind, "position": position, "character": char, "text": text}
            for position, (kind, char, text) in enumerate(line for line in lines if line[2])
        )

    def counts(self) -> dict[str, Any]:
        """Entries by kind, billable codes, notes, and notes by kind."""
        return {
            "entries": dict(sorted(Counter(row["kind"] for row in self.codes).items())),
            "billable": sum(1 for row in self.codes if row["billable"]),
            "notes": len(self.notes),
            "notes_by_kind": dict(sorted(Counter(row["kind"] for row in self.notes).items())),
        }


def _seven_chr_def(definition: ET.Element) -> Iterable[tuple[str, str | None, str]]:
    character: str | None = None
    for item in definition:
        if item.tag == "extension":
            character = item.attrib["char"]
            yield "seven_chr_def", character, _clean(item.text)
        elif item.tag == "note" and character is not None:
            yield "inclusion_term", character, _clean(item.text)
        else:
            raise ValueError(f"unexpected <{item.tag}> in a 7th-character definition")


def _visual_impairment(table: ET.Element) -> Iterable[str]:
    """One line per category of the table, in the words of its header row."""
    rows = table.findall("visCategory")
    head = rows[0].find("visRange")
    if head is None:
        return
    maximum = _clean(head.findtext("visMax/heading"))
    minimum = _clean(head.findtext("visMin/heading"))
    title = f"{_clean(rows[0].findtext('heading'))} ({_clean(head.findtext('heading'))})"
    for row in rows[1:]:
        parts = []
        for heading, path in (
            (maximum, "visRange/visMax/value"),
            (minimum, "visRange/visMin/value"),
        ):
            values = [_clean(value.text) for value in row.findall(path)]
            if values:
                parts.append(f"{heading} {', '.join(values)}")
        yield f"{title} {_clean(row.findtext('value'))}: {'; '.join(parts)}"
