"""NCCI edit files: procedure-to-procedure (PTP) pairs, medically unlikely
edits (MUE) and add-on code (AOC) edits, as rows for their tables.

PTP comes as the five-column CSV (column1, column2, deletion_date,
modifier_indicator, ptp_edit_rationale; plain or gzip) or as CMS's own
tab-delimited text (preamble lines, a "Column 1" header, then column 1,
column 2, the prior-1996 mark, effective date, deletion date or '*',
modifier indicator, rationale). A pair can appear twice (an edit deleted and
re-established); `seq` numbers the repeats. Repeats are counted per column 1
code, so a file must keep each column 1 code's rows together, as CMS's are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from consultant.codes.cms.source import Checks, Rows, csv_table, normalize, text_lines
from consultant.errors import ImportFormatError

PTP_COLUMNS = (
    "column1",
    "column2",
    "seq",
    "effective",
    "deleted",
    "modifier_indicator",
    "rationale",
)
MUE_COLUMNS = ("code", "value", "mai", "mai_description", "rationale")
ADDON_COLUMNS = (
    "edit_type",
    "addon_code",
    "addon_deleted",
    "primary_code",
    "primary_deleted",
    "effective",
    "deleted",
    "note",
)

MODIFIER_INDICATORS = ("0", "1", "9")
MAIS = ("1", "2", "3")
AOC_EDIT_TYPES = ("1", "2", "3")
CONTRACTOR_DEFINED = "CCCCC"  # an add-on's primary codes are left to the contractor

# (column1, column2, effective, deleted, modifier indicator, rationale), as read.
PtpFields = tuple[str, str, str, str, str, str]


def read_ptp(path: Path, details: dict[str, Any]) -> Rows:
    """PTP edits from the CSV layout or CMS's tab-delimited text."""
    yield from read_ptp_parts([path], details)


def read_ptp_parts(paths: list[Path], details: dict[str, Any]) -> Rows:
    """PTP edits CMS splits over several files (f1 to f4), read as one in order.

    A column 1 code's edits may run on from one part into the next; one that
    comes back after other codes is refused as in a single file.
    """
    formats: list[str] = []

    def records() -> Iterator[PtpFields]:
        for path in paths:
            with text_lines(path) as lines:
                first = next(lines)
            native = not normalize(first).startswith("column1_column2")
            formats.append("cms-txt" if native else "csv")
            checks.path, checks.line_of = path, None  # errors name the part they are in
            yield from _ptp_native(path, checks) if native else _ptp_csv(path, checks)
            details["format"] = formats[0] if len(set(formats)) == 1 else "mixed"

    checks = Checks(paths[0])
    yield from _ptp_rows(records(), checks, details)


def _ptp_csv(path: Path, checks: Checks) -> Iterator[PtpFields]:
    columns = {
        "column1": ("column_1",),
        "column2": ("column_2",),
        "effective_date": ("effective",),
        "deletion_date": ("deletion",),
        "modifier_indicator": ("modifier",),
        "ptp_edit_rationale": ("rationale",),
    }
    with csv_table(path, columns, optional=("effective_date",)) as table:
        wanted = ("column1", "column2", "deletion_date", "modifier_indicator", "ptp_edit_rationale")
        i1, i2, idel, imi, irat = (table.index[c] for c in wanted)
        ieff = table.index.get("effective_date")
        checks.line_of = lambda: table.line
        for row in table.records():
            effective = row[ieff] if ieff is not None else ""
            yield row[i1], row[i2], effective, row[idel], row[imi], row[irat]


def _ptp_native(path: Path, checks: Checks) -> Iterator[PtpFields]:
    """CMS's text layout: skip the preamble up to the "Column 1" header and its notes."""
    header_seen = data_seen = False
    with text_lines(path) as lines:
        for number, text in enumerate(lines, 1):
            checks.line = number
            fields = [f.strip() for f in text.rstrip("\r\n").split("\t")]
            if not any(fields):
                continue
            if not data_seen:
                if not header_seen:
                    header_seen = normalize(fields[0]) in ("column_1", "column1")
                    continue
                if not fields[0]:
                    continue  # the header's second and third lines: "0=not allowed" …
                data_seen = True
            if len(fields) < 6:  # a row may end at the modifier indicator; no shorter
                raise checks.error(
                    f"{len(fields)} fields where an edit has 7; the line is cut short"
                )
            deleted = "" if fields[4] == "*" else fields[4]
            rationale = fields[6] if len(fields) > 6 else ""
            yield fields[0], fields[1], fields[3], deleted, fields[5], rationale
    if not data_seen:
        raise ImportFormatError(
            path, None, "no PTP edits found: expected a 'Column 1' header line, then edits"
        )


def _ptp_rows(
    records: Iterator[PtpFields], checks: Checks, details: dict[str, Any]
) -> Iterator[tuple[Any, ...]]:
    # Why one function: one flat loop with cached checks, because it runs 2.5 million
    # times for a full file, and a helper called per row would add as many calls.
    # Repeats of a pair are counted within its column 1 group; `closed` holds the
    # column 1 codes already passed, so a group that comes back is refused.
    group: str | None = None
    seen: Counter[str] = Counter()
    closed: set[str] = set()
    indicators: Counter[str] = Counter()
    deleted_rows = repeats = 0
    code, ymd = checks.code, checks.ymd
    codes: set[str] = set()  # codes already checked
    for column1, column2, effective_text, deleted_text, indicator, rationale in records:
        if column1 != group:
            code(column1, "column1")
            if column1 in closed:
                raise checks.error(
                    f"column1 {column1} comes back after other codes; "
                    "the file must keep each column 1 code's edits together"
                )
            if group is not None:
                closed.add(group)
            group = column1
            seen.clear()
        if column2 not in codes:
            codes.add(code(column2, "column2"))
        seq = seen[column2]
        seen[column2] = seq + 1
        repeats += seq > 0
        effective: date | None = ymd(effective_text, "effective_date") if effective_text else None
        deleted = ymd(deleted_text, "deletion_date") if deleted_text else None
        deleted_rows += deleted is not None
        if indicator not in MODIFIER_INDICATORS:
            raise checks.error(f"modifier_indicator {indicator!r} is not 0, 1 or 9")
        indicators[indicator] += 1
        yield column1, column2, seq, effective, deleted, indicator, rationale
    total = indicators.total()
    details["active"] = total - deleted_rows
    details["deleted"] = deleted_rows
    details["repeated_pairs"] = repeats
    details["modifier_indicator"] = dict(sorted(indicators.items()))


def read_mue(path: Path, details: dict[str, Any]) -> Rows:
    """MUEs from the CSV layout (CMS's own CSV, with its preamble, is read too)."""
    columns = {
        "hcpcs_cpt_code": ("hcpcs_code", "code"),
        "practitioner_mue_value": (
            "practitioner_services_mue_values",
            "mue_value",
            "mue_values",
            "dme_supplier_services_mue_values",
            "outpatient_hospital_services_mue_values",
        ),
        "mai": ("mue_adjudication_indicator",),
        "mai_description": (),
        "mue_rationale": ("rationale",),
    }
    checks = Checks(path)
    mais: Counter[str] = Counter()
    codes: dict[str, int] = {}
    with csv_table(path, columns, optional=("mai_description",), search=20) as table:
        wanted = ("hcpcs_cpt_code", "practitioner_mue_value", "mai", "mue_rationale")
        icode, ivalue, imai, irat = (table.index[c] for c in wanted)
        idesc = table.index.get("mai_description")
        for row in table.records():
            checks.line = table.line
            code = checks.code(row[icode].strip(), table.name("hcpcs_cpt_code"))
            _once(checks, codes, code)
            value = checks.integer(row[ivalue].strip(), table.name("practitioner_mue_value"))
            # CMS writes "2 Date of Service Edit: Policy" in one cell; the CSV splits it.
            mai, _, text = row[imai].strip().partition(" ")
            checks.choice(mai, table.name("mai"), MAIS)
            description = row[idesc].strip() if idesc is not None else text.strip()
            mais[mai] += 1
            yield code, value, mai, description, row[irat].strip()
    details["mai"] = dict(sorted(mais.items()))


def read_addon(path: Path, details: dict[str, Any]) -> Rows:
    """Add-on code edits: type 1/2/3, Julian YYYYDDD dates, CCCCC for contractor-defined."""
    columns = {
        "aoc_edit_type": (),
        "add_on_code": (),
        "aoc_deldt": (),
        "primary_code": (),
        "primary_code_deldt": (),
        "aoc_edit_effdt": (),
        "aoc_edit_deldt": (),
        "special_instruction_notes": (),
    }
    checks = Checks(path)
    types: Counter[str] = Counter()
    with csv_table(path, columns, optional=("special_instruction_notes",), search=5) as table:
        index = [table.index.get(c) for c in columns]
        names = {c: table.name(c) for c in table.index}
        julian = checks.julian
        for row in table.records():
            checks.line = table.line
            edit_type, addon, addon_del, primary, primary_del, eff, dele, note = (
                row[i].strip() if i is not None else "" for i in index
            )
            checks.choice(edit_type, names["aoc_edit_type"], AOC_EDIT_TYPES)
            checks.code(addon, names["add_on_code"])
            if primary != CONTRACTOR_DEFINED:
                checks.code(primary, names["primary_code"])
            types[edit_type] += 1
            yield (
                edit_type,
                addon,
                julian(addon_del, names["aoc_deldt"]),
                primary,
                julian(primary_del, names["primary_code_deldt"]),
                julian(eff, names["aoc_edit_effdt"]),
                julian(dele, names["aoc_edit_deldt"]),
                note,
            )
    details["edit_type"] = dict(sorted(types.items()))


def _once(checks: Checks, seen: dict[str, int], key: str) -> None:
    """Refuse a second row for a key that must be unique in the file."""
    if (first := seen.get(key)) is not None:
        raise checks.error(f"{key} appears again (first on line {first})")
    seen[key] = checks.line
