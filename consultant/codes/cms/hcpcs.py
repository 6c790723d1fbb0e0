"""The CMS Alpha-Numeric HCPCS file as `hcpcs_codes` rows: codes (record 3)
and modifiers (record 7), from the CSV, the xlsx CMS publishes, or the
fixed-width text file.

In the text file (and sometimes the xlsx) a long description continues over
more records of the same code with higher sequence numbers (record type 4 after
a code, 8 after a modifier); the pieces are joined with a space. The text
layout is CMS's 320-character contractor record (HCPC2016_recordlayout.txt and
later, unchanged since): code 1-5 (modifiers right-aligned), sequence 6-10,
record id 11, long description 12-91, short description 92-119, coverage 230,
cross-references 205-229 (five of 5), BETOS 257-259, added 269-276, action
effective 277-284, terminated 285-292, action 293.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from consultant.codes.cms.source import (
    HCPCS_CODE,
    MODIFIER,
    Checks,
    Rows,
    csv_table,
    locate,
    normalize,
    text_lines,
)
from consultant.errors import ImportFormatError

HCPCS_COLUMNS = (
    "code",
    "record_id",
    "long_description",
    "short_description",
    "coverage",
    "betos",
    "added",
    "action_effective",
    "terminated",
    "action",
    "xref",
)
CODE, MODIFIER_RECORD = "3", "7"
_CONTINUES = {"4": CODE, "8": MODIFIER_RECORD}  # continuation record -> the record it continues
_RECORD_IDS = ("3", "4", "7", "8")

# The file's columns this reader keeps, by their CMS names, in Record order.
_FILE_COLUMNS = {
    "hcpc": (),
    "seqnum": (),
    "recid": (),
    "long_description": (),
    "short_description": (),
    "cov": (),
    "betos": (),
    "add_dt": (),
    "act_eff_dt": (),
    "term_dt": (),
    "action_cd": (),
    **{f"xref{n}": () for n in range(1, 6)},
}
_OPTIONAL = tuple(f"xref{n}" for n in range(1, 6))  # kept when the file has them
# Fixed-width slices (0-based) of the same columns in the text record.
_TXT_SLICES = (
    (0, 5),
    (5, 10),
    (10, 11),
    (11, 91),
    (91, 119),
    (229, 230),
    (256, 259),
    (268, 276),
    (276, 284),
    (284, 292),
    (292, 293),
    *((start, start + 5) for start in range(204, 229, 5)),
)
TXT_RECORD_LENGTH = 320

# The line (or row) a record starts on, and its _FILE_COLUMNS values as text, stripped.
Record = tuple[int, list[str]]


def read_hcpcs(path: Path, details: dict[str, Any]) -> Rows:
    """HCPCS codes and modifiers from the CSV, the xlsx or the fixed-width text file."""
    if _is_xlsx(path):
        details["format"], checks = "xlsx", Checks(path, unit="row")
        records = _xlsx_records(path)
    else:
        with text_lines(path) as lines:
            first = next(lines)
        checks = Checks(path)
        if _fixed_width(first):
            details["format"], records = "cms-txt", _txt_records(path)
        else:  # the CSV, or a file whose header says what it is not
            details["format"], records = "csv", _csv_records(path)
    yield from _assemble(records, checks, details)


@dataclass(slots=True)
class _Entry:
    """A code or modifier being read, until its last continuation record."""

    seq: int
    row: list[Any]
    parts: list[str] = field(default_factory=list)

    def finish(self) -> tuple[Any, ...]:
        self.row[2] = " ".join(part for part in self.parts if part)
        return tuple(self.row)


def _assemble(
    records: Iterable[Record], checks: Checks, details: dict[str, Any]
) -> Iterator[tuple[Any, ...]]:
    entry: _Entry | None = None
    first_line: dict[str, int] = {}
    counts = {CODE: 0, MODIFIER_RECORD: 0}
    continued = 0
    for line, fields in records:
        code, seq_text, record_id, long_text = fields[:4]
        checks.line = line
        seq = checks.integer(seq_text, "SEQNUM")
        checks.choice(record_id, "RECID", _RECORD_IDS)
        if entry is not None and code == entry.row[0]:
            base = _CONTINUES.get(record_id, record_id)
            if base == entry.row[1] and (record_id in _CONTINUES or seq > entry.seq):
                entry.parts.append(long_text)
                entry.seq = seq
                continued += len(entry.parts) == 2
                continue
        if record_id in _CONTINUES:
            raise checks.error(f"RECID {record_id} continues {code}, which no record before starts")
        if entry is not None:
            yield entry.finish()
        if (first := first_line.setdefault(code, line)) != line:
            raise checks.error(f"{code} appears again (first on {checks.unit} {first})")
        entry = _Entry(seq, _row(fields, checks), [long_text])
        counts[record_id] += 1
    if entry is not None:
        yield entry.finish()
    details["codes"] = counts[CODE]
    details["modifiers"] = counts[MODIFIER_RECORD]
    details["continued"] = continued


def _row(fields: list[str], checks: Checks) -> list[Any]:
    """The table row of a record 3 or 7 (its long description filled in at the end)."""
    code, _, record_id, _, short, coverage, betos, added, action_date, term, action = fields[:11]
    xrefs = [xref for xref in fields[11:] if xref]
    if record_id == CODE:
        checks.code(code, "HCPC", HCPCS_CODE, "a HCPCS Level II code (a letter and 4 digits)")
    else:
        checks.code(code, "HCPC", MODIFIER, "a modifier (2 letters or digits)")
    return [
        code,
        record_id,
        "",
        checks.text(short, "SHORT DESCRIPTION", 60),
        checks.text(coverage, "COV", 1),
        checks.text(betos, "BETOS", 3),
        checks.ymd(added, "ADD DT"),
        checks.ymd(action_date, "ACT EFF DT"),
        checks.ymd(term, "TERM DT"),
        checks.text(action, "ACTION CD", 1),
        " ".join(checks.text(xref, "XREF", 5) for xref in xrefs),
    ]


def _csv_records(path: Path) -> Iterator[Record]:
    with csv_table(path, _FILE_COLUMNS, optional=_OPTIONAL) as table:
        index = [table.index.get(column) for column in _FILE_COLUMNS]
        for row in table.records():
            yield table.line, [row[i].strip() if i is not None else "" for i in index]


def _txt_records(path: Path) -> Iterator[Record]:
    with text_lines(path) as lines:
        for number, text in enumerate(lines, 1):
            text = text.rstrip("\r\n")
            if not text.strip():
                continue
            if len(text) < 11:
                raise ImportFormatError(
                    path, number, f"{len(text)} characters: too short for a HCPCS record"
                )
            text = text.ljust(TXT_RECORD_LENGTH)
            yield number, [text[start:end].strip() for start, end in _TXT_SLICES]


def _fixed_width(line: str) -> bool:
    """Whether a first line is a CMS text record: sequence number, record id, description."""
    return len(line) > 91 and line[5:10].isdigit() and line[10] in _RECORD_IDS


def _is_xlsx(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def _xlsx_records(path: Path) -> Iterator[Record]:
    import openpyxl  # type: ignore[import-untyped]  # imported here: it is slow to import

    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions of workbooks other tools made.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # zipfile, XML and openpyxl's own errors alike
        raise ImportFormatError(path, None, f"not a readable xlsx workbook ({error})") from error
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        index: list[int] | None = None
        for number, values in enumerate(rows, 1):
            cells = [_cell(value) for value in values]
            if index is None:
                index = _xlsx_header(path, number, cells)
                continue
            if not any(cells):
                continue
            cells += [""] * (max(index) + 1 - len(cells))
            yield number, [cells[i] if i >= 0 else "" for i in index]
        if index is None:
            raise ImportFormatError(path, None, "the workbook has no header row")
    finally:
        book.close()


def _xlsx_header(path: Path, number: int, cells: list[str]) -> list[int] | None:
    """The column positions, when this row is the header ("HCPC", "SEQNUM", …)."""
    if not cells or normalize(cells[0]) != "hcpc":
        if number >= 10:
            raise ImportFormatError(path, None, "no header row starting with HCPC in 10 rows")
        return None
    found = locate(cells, _FILE_COLUMNS)
    missing = [column for column in _FILE_COLUMNS if column not in found]
    if missing := [column for column in missing if column not in _OPTIONAL]:
        raise ImportFormatError(path, number, f"the header lacks {', '.join(missing)}", unit="row")
    return [found.get(column, -1) for column in _FILE_COLUMNS]


def _cell(value: Any) -> str:
    """A cell as the CSV would have it: text, stripped; numbers without ".0"; dates YYYYMMDD."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.strftime("%Y%m%d")
    return str(value).strip()
