"""CPT descriptors from the operator's AMA-licensed data file, as
`cpt_descriptors` rows. Nothing here ships descriptor text.

Two layouts: a CSV whose header names a code column and a descriptor column
(code/cpt_code/hcpcs, descriptor/description/long_descriptor), or the AMA's
text files (LONGULT.txt and the like): the code, a space or tab, the descriptor.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from consultant.codes.cms.source import CPT_CODE, Checks, Rows, csv_table, text_lines
from consultant.errors import ImportFormatError

CPT_COLUMNS = ("code", "descriptor")
_CSV_COLUMNS = {
    "code": ("cpt_code", "cpt", "hcpcs", "hcpcs_code", "cpt_hcpcs_code", "concept_code"),
    "descriptor": (
        "description",
        "long_descriptor",
        "long_description",
        "cpt_descriptor",
        "descriptor_text",
    ),
}
_TEXT_LINE = re.compile(r"(\d{4}[0-9FTU])[ \t]+(\S.*?)\s*")
_CPT_SHAPE = "a CPT code (5 digits, or 4 digits and F, T or U)"


def read_cpt_descriptors(path: Path, details: dict[str, Any]) -> Rows:
    """Descriptors from a CSV with a header, or from the AMA's "CODE descriptor" lines."""
    with text_lines(path) as lines:
        first = next((line for line in lines if line.strip()), "")
    if _TEXT_LINE.fullmatch(first.rstrip("\r\n")):
        details["format"] = "ama-txt"
        rows = _text_rows(path)
    else:
        details["format"] = "csv"
        rows = _csv_rows(path, delimiter="\t" if "\t" in first and "," not in first else ",")
    seen: dict[str, int] = {}
    for line, code, descriptor in rows:
        if (first_line := seen.setdefault(code, line)) != line:
            raise ImportFormatError(
                path, line, f"{code} appears again (first on line {first_line})"
            )
        yield code, descriptor
    details["codes"] = len(seen)


def _text_rows(path: Path) -> Iterator[tuple[int, str, str]]:
    with text_lines(path) as lines:
        for number, text in enumerate(lines, 1):
            if not text.strip():
                continue
            if not (match := _TEXT_LINE.fullmatch(text.rstrip("\r\n"))):
                raise ImportFormatError(
                    path, number, f"expected {_CPT_SHAPE}, a space or tab and the descriptor"
                )
            yield number, match[1], match[2]


def _csv_rows(path: Path, delimiter: str) -> Iterator[tuple[int, str, str]]:
    checks = Checks(path)
    with csv_table(path, _CSV_COLUMNS, delimiter=delimiter) as table:
        icode, idescriptor = table.index["code"], table.index["descriptor"]
        for row in table.records():
            checks.line = table.line
            code = checks.code(row[icode].strip(), table.name("code"), CPT_CODE, _CPT_SHAPE)
            descriptor = row[idescriptor].strip()
            if not descriptor:
                raise checks.error(f"{table.name('descriptor')} of {code} is empty")
            yield checks.line, code, descriptor
