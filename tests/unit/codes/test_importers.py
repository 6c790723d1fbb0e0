"""The CMS file importers on SQLite, with the real files in ../shared/data.

The shared files are read in place; corrupted, truncated and re-laid-out
copies are written under tmp_path. CPT descriptor files are invented here:
real code numbers, made-up text.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consultant.codes.importers import import_file
from consultant.codes.releases import LoadResult, release_in_effect
from consultant.db.models.codes import (
    AddonEdit,
    CodeRelease,
    CptDescriptor,
    HcpcsCode,
    MueEdit,
    PfsIndicator,
    PtpEdit,
)
from consultant.db.session import session_scope
from consultant.errors import CodeImportError, ImportFormatError
from consultant.settings import Settings
from tests.cms_archives import (
    AOC_CSV,
    DATA,
    HCPCS_CSV,
    MUE_CSV,
    PFS_CSV,
    PTP_PREAMBLE,
    PTP_SUBSET,
)
from tests.conftest import module_database, need

JULY_2024 = date(2024, 7, 1)
OCTOBER_2024 = date(2024, 10, 1)
TABLES = (CodeRelease, HcpcsCode, PtpEdit, MueEdit, AddonEdit, PfsIndicator, CptDescriptor)


def need_shared_data() -> None:
    need(PTP_SUBSET.is_file(), f"the shared CMS files are not in {DATA}")


@dataclass(frozen=True)
class Loaded:
    settings: Settings
    results: dict[str, LoadResult]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """One SQLite database with every shared CMS file imported once, for the fact tests."""
    need_shared_data()
    with module_database(tmp_path_factory.mktemp("cms")) as settings:
        results = {}
        for kind, path in (
            ("hcpcs", HCPCS_CSV),
            ("mue", MUE_CSV),
            ("addon", AOC_CSV),
            ("pfs", PFS_CSV),
            ("ncci-ptp", PTP_SUBSET),
        ):
            with session_scope(settings) as session:
                results[kind] = import_file(session, kind, path)
        yield Loaded(settings, results)


def table_counts(settings: Settings) -> dict[str, int]:
    """Rows in every code table, printed, to compare before and after."""
    with session_scope(settings) as session:
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in TABLES
        }
    print(counts)
    return counts


def release_ids(settings: Settings) -> list[int]:
    with session_scope(settings) as session:
        return list(session.scalars(select(CodeRelease.id).order_by(CodeRelease.id)))


def run_import(settings: Settings, kind: str, path: Path, **options: Any) -> LoadResult:
    with session_scope(settings) as session:
        return import_file(session, kind, path, **options)


def rejected(settings: Settings, kind: str, path: Path, **options: Any) -> ImportFormatError:
    """Import a file that must be refused; check nothing changed; return the error."""
    before = table_counts(settings), release_ids(settings)
    with pytest.raises(ImportFormatError) as caught:
        run_import(settings, kind, path, **options)
    print(caught.value)
    assert (table_counts(settings), release_ids(settings)) == before
    return caught.value


def head_lines(path: Path, count: int) -> list[str]:
    """The first `count` lines (header included) of a shared CSV, plain or gzip."""
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return [line for _, line in zip(range(count), handle, strict=False)]


def write_gzip(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress("".join(lines).encode()))
    return path


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- the shared files, imported once ------------------------------------------


def test_row_counts_match_the_files(loaded: Loaded) -> None:
    rows = {kind: result.rows for kind, result in loaded.results.items()}
    print(rows)
    assert rows == {
        "hcpcs": 8_846,
        "mue": 14_677,
        "addon": 9_000,
        "pfs": 18_664,
        "ncci-ptp": 675_136,
    }
    counts = table_counts(loaded.settings)
    assert counts["hcpcs_codes"] == 8_846
    assert counts["ptp_edits"] == 675_136
    assert counts["code_releases"] == 5


def test_details_count_each_record_type(loaded: Loaded) -> None:
    hcpcs, addon, ptp = (loaded.results[k].details for k in ("hcpcs", "addon", "ncci-ptp"))
    assert (hcpcs["codes"], hcpcs["modifiers"]) == (8_463, 383)
    assert addon["edit_type"] == {"1": 8_293, "2": 47, "3": 660}
    assert loaded.results["mue"].details["mai"] == {"1": 41, "2": 5_157, "3": 9_479}
    assert (ptp["active"], ptp["deleted"]) == (478_917, 196_219)
    with session_scope(loaded.settings) as session:
        stored = session.get_one(CodeRelease, loaded.results["addon"].release_id)
        assert '"edit_type": {"1": 8293' in stored.details


def test_labels_and_dates_come_from_the_file_names(loaded: Loaded) -> None:
    named = {kind: (r.label, r.effective) for kind, r in loaded.results.items()}
    assert named == {
        "hcpcs": ("October 2025", date(2025, 10, 1)),
        "mue": ("2024 Q3", JULY_2024),
        "addon": ("2026 Q2", date(2026, 4, 1)),
        "pfs": ("July 2024", JULY_2024),
        "ncci-ptp": ("2024 Q3", JULY_2024),
    }


def test_hcpcs_keeps_codes_and_modifiers(loaded: Loaded) -> None:
    release_id = loaded.results["hcpcs"].release_id
    with session_scope(loaded.settings) as session:
        j1100 = session.get_one(HcpcsCode, (release_id, "J1100"))
        lt = session.get_one(HcpcsCode, (release_id, "LT"))
    assert (j1100.record_id, j1100.long_description) == (
        "3",
        "Injection, dexamethasone sodium phosphate, 1 mg",
    )
    assert (j1100.coverage, j1100.betos, j1100.action) == ("D", "O1E", "N")
    assert (j1100.added, j1100.action_effective, j1100.terminated) == (
        date(1982, 1, 1),
        date(2001, 1, 1),
        None,
    )
    assert (lt.record_id, lt.short_description) == ("7", "Left side")
    assert j1100.xref == ""


def test_hcpcs_keeps_the_cross_references_of_terminated_codes(loaded: Loaded) -> None:
    release_id = loaded.results["hcpcs"].release_id
    with session_scope(loaded.settings) as session:
        a4466 = session.get_one(HcpcsCode, (release_id, "A4466"))
        crossed = session.scalars(select(HcpcsCode.xref).where(HcpcsCode.xref != ""))
        expected = [row for row in csv_rows(HCPCS_CSV) if any(row[f"XREF{n}"] for n in range(1, 6))]
        assert len(list(crossed)) == len(expected)
    assert (a4466.terminated, a4466.xref) == (date(2016, 12, 31), "A4467")


def test_mue_values(loaded: Loaded) -> None:
    release_id = loaded.results["mue"].release_id
    with session_scope(loaded.settings) as session:
        edits = {c: session.get_one(MueEdit, (release_id, c)) for c in ("27447", "99213")}
    assert (edits["27447"].value, edits["27447"].mai) == (1, "2")
    assert edits["27447"].mai_description == "Date of Service Edit: Policy"
    assert (edits["99213"].value, edits["99213"].mai, edits["99213"].rationale) == (
        2,
        "3",
        "Clinical: Data",
    )


def test_addon_primary_codes_of_20700(loaded: Loaded) -> None:
    release_id = loaded.results["addon"].release_id
    with session_scope(loaded.settings) as session:
        edits = session.scalars(
            select(AddonEdit).where(
                AddonEdit.release_id == release_id, AddonEdit.addon_code == "20700"
            )
        ).all()
    primaries = {edit.primary_code for edit in edits}
    assert len(edits) == 76
    assert {"11010", "11012", "20240", "21501"} <= primaries
    assert {edit.edit_type for edit in edits} == {"1"}
    assert edits[0].effective == date(2020, 1, 1)  # Julian 2020001


def test_pfs_global_days_and_indicators(loaded: Loaded) -> None:
    release_id = loaded.results["pfs"].release_id
    with session_scope(loaded.settings) as session:
        knee = session.get_one(PfsIndicator, (release_id, "27447", ""))
        addon = session.get_one(PfsIndicator, (release_id, "20700", ""))
    assert (knee.status, knee.global_days, knee.mult_proc, knee.bilat_surg) == (
        "A",
        "090",
        "2",
        "1",
    )
    assert (knee.pre_op, knee.intra_op, knee.post_op) == (0.1, 0.69, 0.21)
    assert addon.global_days == "ZZZ"


def test_ptp_pairs_keep_their_modifier_indicator_and_repeats(loaded: Loaded) -> None:
    release_id = loaded.results["ncci-ptp"].release_id
    with session_scope(loaded.settings) as session:

        def pair(column1: str, column2: str) -> list[PtpEdit]:
            return list(
                session.scalars(
                    select(PtpEdit)
                    .where(
                        PtpEdit.release_id == release_id,
                        PtpEdit.column1 == column1,
                        PtpEdit.column2 == column2,
                    )
                    .order_by(PtpEdit.seq)
                )
            )

        (arthrocentesis,) = pair("27447", "20610")
        (anesthesia,) = pair("27447", "01995")
        active, deleted = pair("10030", "99211")  # lines 841 and 842 of the file
    assert (arthrocentesis.modifier_indicator, arthrocentesis.deleted) == ("1", None)
    assert arthrocentesis.rationale == "Misuse of Column Two code with Column One code"
    assert (anesthesia.modifier_indicator, anesthesia.deleted) == ("0", date(2006, 12, 31))
    assert (active.seq, active.deleted) == (0, None)
    assert (deleted.seq, deleted.deleted) == (1, date(2019, 12, 31))


def test_importing_the_same_bytes_again_changes_nothing(loaded: Loaded) -> None:
    before = table_counts(loaded.settings), release_ids(loaded.settings)
    for kind, path in (("ncci-ptp", PTP_SUBSET), ("hcpcs", HCPCS_CSV)):
        again = run_import(loaded.settings, kind, path)
        first = loaded.results[kind]
        assert again.already_loaded
        assert (again.release_id, again.rows, again.effective) == (
            first.release_id,
            first.rows,
            first.effective,
        )
    assert (table_counts(loaded.settings), release_ids(loaded.settings)) == before


# --- releases side by side, replaced, refused ---------------------------------


def test_a_different_file_for_the_same_quarter_replaces_the_release(
    migrated: Settings, tmp_path: Path
) -> None:
    need_shared_data()
    first = run_import(migrated, "mue", MUE_CSV)
    corrected = tmp_path / MUE_CSV.name  # the same name: the same quarter
    corrected.write_text(MUE_CSV.read_text().replace("\n27447,1,2,", "\n27447,2,2,"))
    second = run_import(migrated, "mue", corrected)
    assert second.replaced == (first.release_id,)
    assert second.release_id > first.release_id  # a new id, so caches see the change
    assert release_ids(migrated) == [second.release_id]
    with session_scope(migrated) as session:
        assert session.get_one(MueEdit, (second.release_id, "27447")).value == 2
        old_rows = select(func.count()).where(MueEdit.release_id == first.release_id)
        assert session.scalar(old_rows) == 0
    assert table_counts(migrated)["mue_edits"] == 14_677


def test_two_quarters_side_by_side_and_the_date_of_service_picks(
    migrated: Settings, tmp_path: Path
) -> None:
    need_shared_data()
    july = run_import(migrated, "mue", MUE_CSV)
    changed = tmp_path / "next.csv"
    changed.write_text(MUE_CSV.read_text().replace("\n27447,1,2,", "\n27447,3,2,"))
    october = run_import(migrated, "mue", changed, effective=OCTOBER_2024)
    assert (october.label, october.replaced) == ("2024 Q4", ())
    with session_scope(migrated) as session:
        summer = release_in_effect(session, "mue", date(2024, 8, 15))
        autumn = release_in_effect(session, "mue", date(2024, 11, 1))
        assert summer is not None and autumn is not None
        assert (summer.id, autumn.id) == (july.release_id, october.release_id)
        assert session.get_one(MueEdit, (autumn.id, "27447")).value == 3
    assert table_counts(migrated)["mue_edits"] == 2 * 14_677


def test_the_same_file_cannot_be_a_second_quarter(migrated: Settings) -> None:
    need_shared_data()
    first = run_import(migrated, "addon", AOC_CSV)
    again = run_import(migrated, "addon", AOC_CSV, effective=date(2026, 7, 1))
    assert again.already_loaded
    assert (again.release_id, again.effective) == (first.release_id, date(2026, 4, 1))


def test_a_bad_modifier_indicator_is_refused_with_its_line(
    migrated: Settings, tmp_path: Path
) -> None:
    need_shared_data()
    lines = head_lines(PTP_SUBSET, 3_000)
    good = run_import(migrated, "ncci-ptp", write_gzip(tmp_path / "good" / PTP_SUBSET.name, lines))
    assert lines[1831].startswith("10060,0597T,,1,")
    lines[1831] = lines[1831].replace(",,1,", ",,x,", 1)
    bad = write_gzip(tmp_path / "bad" / PTP_SUBSET.name, lines)  # would replace `good`
    error = rejected(migrated, "ncci-ptp", bad)
    assert str(error) == (
        "ptp_practitioner_2024q3_col1_10000-29999.csv.gz line 1832: "
        "modifier_indicator 'x' is not 0, 1 or 9"
    )
    assert (error.path, error.line) == (bad, 1832)
    assert release_ids(migrated) == [good.release_id]


def test_a_truncated_gzip_is_refused_where_it_breaks(migrated: Settings, tmp_path: Path) -> None:
    need_shared_data()
    whole = gzip.compress("".join(head_lines(PTP_SUBSET, 3_000)).encode())
    cut = whole[: len(whole) // 2]
    readable = zlib.decompressobj(wbits=31).decompress(cut)
    broken_line = readable.count(b"\n") + 1
    path = tmp_path / PTP_SUBSET.name
    path.write_bytes(cut)
    error = rejected(migrated, "ncci-ptp", path)
    assert error.line == broken_line
    assert "damaged or truncated" in error.reason


def test_a_row_cut_short_is_refused_with_its_line(migrated: Settings, tmp_path: Path) -> None:
    need_shared_data()
    lines = head_lines(PFS_CSV, 101)
    lines[-1] = ",".join(lines[-1].split(",")[:6])  # the file ends mid-row
    path = tmp_path / PFS_CSV.name
    path.write_text("".join(lines))
    error = rejected(migrated, "pfs", path)
    assert error.line == 101
    assert error.reason.startswith("6 fields where the header has 19")


@pytest.mark.parametrize(
    ("kind", "path", "line", "old", "new", "reason"),
    [
        ("mue", MUE_CSV, 2_420, "27447,1,", "27447,one,", "practitioner_mue_value 'one' is not"),
        ("mue", MUE_CSV, 2_420, "27447,1,2,", "27447,1,4,", "mai '4' is not 1, 2 or 3"),
        ("addon", AOC_CSV, 1_056, "2020001", "2020367", "AOC_Edit_EffDT '2020367' is not a"),
        ("addon", AOC_CSV, 1_056, "1,20700,", "4,20700,", "AOC_Edit_Type '4' is not 1, 2 or 3"),
        ("pfs", PFS_CSV, 8_528, ",090,", ",091,", "glob '091' is not 000, 010, 090"),
        ("pfs", PFS_CSV, 8_528, "27447,", "2744,", "hcpcs_code '2744' is not a CPT or HCPCS"),
        ("hcpcs", HCPCS_CSV, 4_884, "20010101,,N", "20011301,,N", "ACT EFF DT '20011301'"),
    ],
)
def test_a_malformed_field_is_refused_with_its_line(
    migrated: Settings,
    tmp_path: Path,
    kind: str,
    path: Path,
    line: int,
    old: str,
    new: str,
    reason: str,
) -> None:
    need_shared_data()
    run_import(migrated, kind, path)  # the good file, which the bad one would replace
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    copy = tmp_path / path.name
    copy.write_text("".join(lines), encoding="utf-8")
    error = rejected(migrated, kind, copy)
    assert error.line == line
    assert error.reason.startswith(reason)


def test_a_header_without_the_columns_is_refused(migrated: Settings, tmp_path: Path) -> None:
    path = tmp_path / "mue_2024q3.csv"
    path.write_text("code,units\n27447,1\n")
    error = rejected(migrated, "mue", path)
    assert "no header naming" in error.reason


def test_a_file_name_without_a_date_needs_effective(migrated: Settings, tmp_path: Path) -> None:
    need_shared_data()
    path = tmp_path / "edits.csv"
    path.write_bytes(MUE_CSV.read_bytes())
    with pytest.raises(CodeImportError, match="give --effective YYYY-MM-DD"):
        run_import(migrated, "mue", path)
    result = run_import(migrated, "mue", path, effective=OCTOBER_2024, label="Q4 corrected")
    assert (result.label, result.effective, result.rows) == ("Q4 corrected", OCTOBER_2024, 14_677)


def test_progress_counts_rows_as_they_are_written(migrated: Settings, tmp_path: Path) -> None:
    need_shared_data()
    seen: list[int] = []
    result = run_import(migrated, "mue", MUE_CSV, progress=seen.append)
    assert seen == sorted(seen)
    assert seen[0] == 5_000
    assert seen[-1] == result.rows == 14_677


# --- the other layouts -----------------------------------------------------------


def test_ptp_in_the_cms_tab_delimited_layout(migrated: Settings, tmp_path: Path) -> None:
    need_shared_data()
    rows = list(csv.reader(head_lines(PTP_SUBSET, 41)))[1:]
    preamble = PTP_PREAMBLE
    edits = [
        f"{c1}\t{c2}\t{'*' if n % 2 else ''}\t20200101\t{deleted or '*'}\t{mi}\t{why}"
        for n, (c1, c2, deleted, mi, why) in enumerate(rows)
    ]
    path = tmp_path / "ccipra-v303r0-f1.txt"
    path.write_text("\r\n".join([*preamble, *edits]) + "\r\n", encoding="cp1252")
    result = run_import(migrated, "ncci-ptp", path, effective=JULY_2024)
    assert (result.rows, result.details["format"]) == (40, "cms-txt")
    with session_scope(migrated) as session:
        stored = session.scalars(select(PtpEdit).order_by(PtpEdit.column1, PtpEdit.column2))
        got = [(e.column1, e.column2, e.effective, e.deleted, e.modifier_indicator) for e in stored]
    assert got[0] == (rows[0][0], rows[0][1], date(2020, 1, 1), None, rows[0][3])
    assert sum(e[3] is not None for e in got) == sum(bool(r[2]) for r in rows)

    cut = tmp_path / "cut" / path.name
    cut.parent.mkdir()
    cut.write_text("\r\n".join([*preamble, *edits[:5], "10060\t0597T\t\t20200101"]) + "\r\n")
    error = rejected(migrated, "ncci-ptp", cut, effective=JULY_2024)
    assert (error.line, error.reason) == (12, "4 fields where an edit has 7; the line is cut short")


def test_hcpcs_from_an_xlsx_with_padded_cells_and_continued_descriptions(
    migrated: Settings, tmp_path: Path
) -> None:
    need_shared_data()
    with HCPCS_CSV.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [row for _, row in zip(range(400), reader, strict=False)]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([f" {name} " for name in header])
    long_one = max(rows, key=lambda row: len(row[3]))
    cut = long_one[3].rfind(" ", 0, 60)
    for row in rows:
        cells: list[Any] = [f"{cell}  " if cell else None for cell in row]
        cells[0] = row[0].rjust(5)  # CMS pads the two-character modifiers: "   A1"
        if row is long_one:  # the description goes on in a second record
            cells[3] = row[3][:cut]
            continued = "4" if row[2] == "3" else "8"
            sheet.append(cells)
            sheet.append([row[0], "0020", continued, row[3][cut + 1 :]])
        else:
            sheet.append(cells)
    path = tmp_path / "HCPC2025_OCT_ANWEB.xlsx"
    book.save(path)
    result = run_import(migrated, "hcpcs", path)
    assert (result.rows, result.details["format"], result.details["continued"]) == (400, "xlsx", 1)
    assert result.effective == date(2025, 10, 1)
    expected = {row[0]: row for row in rows}
    with session_scope(migrated) as session:
        stored = {c.code: c for c in session.scalars(select(HcpcsCode))}
    assert stored.keys() == expected.keys()
    for code, row in expected.items():
        assert (stored[code].long_description, stored[code].short_description) == (row[3], row[4])


def fixed_width(row: dict[str, str]) -> list[str]:
    """CMS text records for one CSV row: 320 characters, the description 80 per record."""
    words, pieces, piece = row["LONG DESCRIPTION"].split(" "), [], ""
    for word in words:
        if piece and len(piece) + 1 + len(word) > 80:
            pieces.append(piece)
            piece = word
        else:
            piece = f"{piece} {word}" if piece else word
    pieces.append(piece)
    first, more = ("3", "4") if row["RECID"] == "3" else ("7", "8")
    records = []
    for number, text in enumerate(pieces, 1):
        record = [" "] * 320

        def put(start: int, value: str, record: list[str] = record) -> None:
            record[start : start + len(value)] = value

        put(0, row["HCPC"].rjust(5))
        put(5, f"{number * 100:05d}")
        put(10, first if number == 1 else more)
        put(11, text)
        if number == 1:
            put(91, row["SHORT DESCRIPTION"])
            put(119, row["PRICE1"])
            put(127, row["MULT_PI"])
            put(229, row["COV"])
            put(256, row["BETOS"])
            put(260, row["TOS1"])
            put(265, row["ANEST_BU"].rjust(3))
            put(268, row["ADD DT"])
            put(276, row["ACT EFF DT"])
            put(284, row["TERM DT"])
            put(292, row["ACTION CD"])
            for n in range(5):
                put(204 + 5 * n, row[f"XREF{n + 1}"])
        records.append("".join(record) if number == 1 else "".join(record[:91]))
    return records


def test_hcpcs_from_the_fixed_width_text_file(migrated: Settings, tmp_path: Path) -> None:
    need_shared_data()
    rows = [row for row in csv_rows(HCPCS_CSV) if len(row["LONG DESCRIPTION"]) < 1_000][::20]
    path = tmp_path / "HCPC2025_OCT_ANWEB.txt"
    path.write_text("".join(f"{r}\r\n" for row in rows for r in fixed_width(row)))
    result = run_import(migrated, "hcpcs", path)
    assert (result.rows, result.details["format"]) == (len(rows), "cms-txt")
    assert result.details["continued"] == sum(len(row["LONG DESCRIPTION"]) > 80 for row in rows)
    with session_scope(migrated) as session:
        stored = {c.code: c for c in session.scalars(select(HcpcsCode))}
    for row in rows:
        code = stored[row["HCPC"]]
        # Spaces at the end of a record are padding: a double space there is lost.
        assert code.long_description.split() == row["LONG DESCRIPTION"].split(), code.code
        assert (code.short_description, code.coverage, code.betos, code.action) == (
            row["SHORT DESCRIPTION"],
            row["COV"],
            row["BETOS"],
            row["ACTION CD"],
        )
        assert code.added == date.fromisoformat(
            f"{row['ADD DT'][:4]}-{row['ADD DT'][4:6]}-{row['ADD DT'][6:]}"
        )
        assert code.xref.split() == [row[f"XREF{n}"] for n in range(1, 6) if row[f"XREF{n}"]]
    assert any(code.xref for code in stored.values())  # the sample holds cross-references


def test_mue_in_the_cms_csv_layout_with_its_preamble(migrated: Settings, tmp_path: Path) -> None:
    path = tmp_path / "MCR_MUE_PractitionerServices_Eff_2024-07-01.csv"
    path.write_text(
        '"CPT codes and descriptions only are copyright 2023 American Medical Association."\n'
        "\n"
        '"HCPCS/CPT Code","Practitioner Services MUE Values",'
        '"MUE Adjudication Indicator","MUE Rationale"\n'
        '"27447","1","2 Date of Service Edit: Policy","CMS Policy"\n'
        '"99213","2","3 Date of Service Edit: Clinical","Clinical: Data"\n'
    )
    result = run_import(migrated, "mue", path)
    assert (result.rows, result.label, result.effective) == (2, "2024 Q3", JULY_2024)
    with session_scope(migrated) as session:
        edit = session.get_one(MueEdit, (result.release_id, "99213"))
    assert (edit.value, edit.mai, edit.mai_description) == (
        2,
        "3",
        "Date of Service Edit: Clinical",
    )


INVENTED = {
    "27447": "Invented descriptor for test 1",
    "20700": "Invented descriptor for test 2",
    "0591T": "Invented descriptor for test 3",
    "1036F": "Invented descriptor for test 4",
    "0001U": "Invented descriptor for test 5",
}


def test_cpt_descriptors_from_a_csv(migrated: Settings, tmp_path: Path) -> None:
    path = tmp_path / "cpt_2026_descriptors.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["CPT_Code", "Long_Descriptor", "Other"])
        writer.writerows([code, text, "x"] for code, text in INVENTED.items())
    result = run_import(migrated, "cpt-descriptors", path)
    assert (result.rows, result.label, result.effective) == (5, "CPT 2026", date(2026, 1, 1))
    assert stored_descriptors(migrated) == INVENTED


def test_cpt_descriptors_from_the_ama_text_layout(migrated: Settings, tmp_path: Path) -> None:
    path = tmp_path / "LONGULT.txt"
    separators = [" ", "\t", " ", "\t", " "]
    pairs = zip(separators, INVENTED.items(), strict=True)
    lines = [f"{code}{sep}{text}" for sep, (code, text) in pairs]
    path.write_text("\n".join(lines) + "\n\n")
    result = run_import(migrated, "cpt-descriptors", path, effective=date(2026, 1, 1))
    assert (result.rows, result.details["format"]) == (5, "ama-txt")
    assert stored_descriptors(migrated) == INVENTED


def test_cpt_descriptors_refuse_a_code_that_is_not_cpt(migrated: Settings, tmp_path: Path) -> None:
    path = tmp_path / "LONGULT.txt"
    path.write_text("27447 Invented descriptor for test 1\nJ1100 Invented descriptor for test 2\n")
    error = rejected(migrated, "cpt-descriptors", path, effective=date(2026, 1, 1))
    assert error.line == 2
    assert error.reason.startswith("expected a CPT code")


def stored_descriptors(settings: Settings) -> dict[str, str]:
    with session_scope(settings) as session:
        return {d.code: d.descriptor for d in session.scalars(select(CptDescriptor))}


def test_an_unknown_kind_or_missing_file_is_refused(migrated: Settings, tmp_path: Path) -> None:
    with pytest.raises(CodeImportError, match="the kinds are hcpcs"):
        run_import(migrated, "icd10cm", tmp_path / "x.csv")
    with pytest.raises(CodeImportError, match="no such file"):
        run_import(migrated, "mue", tmp_path / "mue_2024q3.csv")


def test_an_empty_file_is_refused(migrated: Settings, tmp_path: Path) -> None:
    path = tmp_path / "mue_2024q3.csv"
    path.write_bytes(b"")
    assert "the file is empty" in str(rejected(migrated, "mue", path))


def releases_in(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(CodeRelease)) or 0


def test_the_caller_owns_the_transaction(migrated: Settings) -> None:
    need_shared_data()
    with pytest.raises(RuntimeError), session_scope(migrated) as session:
        import_file(session, "mue", MUE_CSV)
        assert releases_in(session) == 1
        raise RuntimeError("the caller changes its mind")
    assert table_counts(migrated)["mue_edits"] == 0
