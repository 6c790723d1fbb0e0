"""CMS download archives, built at test time from the shared files in ../shared/data.

Names and layouts are CMS's, as an operator downloads them each quarter:

- NCCI PTP edits, practitioner: four zips per quarter,
  medicare-ncci-<year>q<n>-practitioner-ptp-edits-ccipra-v<YY><Q>r0-f<1..4>.zip, each
  holding ccipra-v<YY><Q>r0-f<n>.txt: tab-delimited text, a copyright line, a
  three-line "Column 1" header, then column 1, column 2, the prior-1996 mark,
  effective date, deletion date ('*' for none), modifier indicator and rationale,
  with CRLF line ends in Windows-1252. The version names the quarter: v30.2 is
  2024's third. Hospital outpatient edits come the same way as ccioph files in
  medicare-ncci-<year>q<n>-hospital-ptp-edits-… zips. The shared folder has no
  hospital file, so the hospital archive here carries practitioner rows: the
  layout and the names are what is tested.
- MUEs: one zip per setting, holding MCR_MUE_<Setting>Services_Eff_MM-DD-YYYY.csv
  (a copyright line, then "HCPCS/CPT Code", "<Setting> Services MUE Values",
  "MUE Adjudication Indicator" as "2 Date of Service Edit: Policy", "MUE
  Rationale") beside its .xlsx twin. Settings: Practitioner, OutpatientHospital,
  DMESupplier (the DME table here is the shared practitioner rows of HCPCS
  Level II codes).
- Add-on code edits: AOC_V<year>Q<n>-MCR.zip with the table as CSV.
- HCPCS: the quarterly Alpha-Numeric HCPCS zip, holding HCPC<year>_<MON>_ANWEB
  beside a transaction report and notes, which are not read.
- PFS: RVU<yy><A-D>.zip holding PPRRVU<yy>_<MON>.csv beside the GPCI and other
  files of the relative value archive. The shared file holds the PPRRVU
  indicator columns (status, PC/TC, global days, surgery indicators).
- RBCS: the shared rbcs_2024.csv, zipped under its own name.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from itertools import islice
from pathlib import Path

from tests.conftest import shared_dir

DATA = shared_dir() / "data"
PTP_SUBSET = DATA / "ncci" / "ptp_practitioner_2024q3_col1_10000-29999.csv.gz"
MUE_CSV = DATA / "ncci" / "mue_practitioner_2024q3.csv"
AOC_CSV = DATA / "ncci" / "aoc_medicare_2026q2.csv"
HCPCS_CSV = DATA / "hcpcs" / "HCPC2025_OCT_ANWEB.csv"
PFS_CSV = DATA / "pfs" / "pfs_rvu_indicators_2024_jul.csv"
RBCS_CSV = DATA / "cpt" / "rbcs_2024.csv"

PTP_PREAMBLE = [
    "CPT codes and descriptions only are copyright 2023 American Medical Association.",
    "\t" * 6,
    "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\t"
    "Deletion Date\tModifier\tPTP Edit Rationale",
    "\t\t\t\t*=no data\t0=not allowed\t",
    "\t\t\t\t\t1=allowed\t",
    "\t\t\t\t\t9=not applicable\t",
]
# A rationale with an en dash, byte 0x96 in Windows-1252 (and not UTF-8).
DASH_EVERY = 50  # rows, in each part
DASHED = "Standards of medical / surgical practice \u2013 see the policy manual"
MUE_HEADERS = {
    "Practitioner": "Practitioner Services MUE Values",
    "OutpatientHospital": "Outpatient Hospital Services MUE Values",
    "DMESupplier": "DME Supplier Services MUE Values",
}


def zipped(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def ptp_rows(count: int) -> list[list[str]]:
    """The first `count` edits of the shared subset (column1 10000 to 29999)."""
    with gzip.open(PTP_SUBSET, "rt", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return list(islice(reader, count))


def ptp_text(rows: list[list[str]]) -> bytes:
    lines = [
        f"{c1}\t{c2}\t{'*' if n % 7 == 0 else ''}\t20200101\t{deleted or '*'}\t{mi}\t"
        + (DASHED if n % DASH_EVERY == 0 else why)
        for n, (c1, c2, deleted, mi, why) in enumerate(rows)
    ]
    return ("\r\n".join([*PTP_PREAMBLE, *lines]) + "\r\n").encode("cp1252")


def ptp_archives(
    folder: Path, rows: list[list[str]], setting: str = "practitioner", parts: int = 4
) -> list[Path]:
    """The quarter's PTP edits as CMS splits them: `parts` zips, cut by row count
    (so a column 1 code's edits can run on into the next part)."""
    prefix = {"practitioner": "ccipra", "hospital": "ccioph"}[setting]
    size = -(-len(rows) // parts)
    archives = []
    for number in range(1, parts + 1):
        name = f"{prefix}-v302r0-f{number}"
        text = ptp_text(rows[(number - 1) * size : number * size])
        zip_name = f"medicare-ncci-2024q3-{setting}-ptp-edits-{name}.zip"
        archives.append(zipped(folder / zip_name, {f"{name}.txt": text}))
    return archives


def mue_table(setting: str, rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    out.write(
        '"CPT codes and descriptions only are copyright 2023 American Medical Association."\n'
    )
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(
        ["HCPCS/CPT Code", MUE_HEADERS[setting], "MUE Adjudication Indicator", "MUE Rationale"]
    )
    for row in rows:
        mai = f"{row['mai']} {row['mai_description']}"
        writer.writerow(
            [row["hcpcs_cpt_code"], row["practitioner_mue_value"], mai, row["mue_rationale"]]
        )
    return out.getvalue().encode()


def mue_rows(level_two_only: bool = False) -> list[dict[str, str]]:
    with MUE_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r for r in rows if r["hcpcs_cpt_code"][0].isalpha()] if level_two_only else rows


def mue_archive(folder: Path, setting: str) -> Path:
    rows = mue_rows(level_two_only=setting == "DMESupplier")
    table = f"MCR_MUE_{setting}Services_Eff_07-01-2024"
    members = {f"{table}.csv": mue_table(setting, rows), f"{table}.xlsx": b"PK not read"}
    slug = {"Practitioner": "practitioner", "OutpatientHospital": "facility-outpatient"}
    name = f"medicare-ncci-2024-q3-{slug.get(setting, 'dme-supplier')}-services-mue-table.zip"
    return zipped(folder / name, members)


def every_archive(folder: Path, ptp_count: int = 4_000) -> list[Path]:
    """One quarter's downloads of every kind, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ptp_rows(ptp_count)
    archives = [*ptp_archives(folder, rows), *ptp_archives(folder, rows, "hospital")]
    archives += [mue_archive(folder, setting) for setting in MUE_HEADERS]
    aoc = {"AOC_V2026Q2-MCR.csv": AOC_CSV.read_bytes()}
    archives.append(zipped(folder / "AOC_V2026Q2-MCR.zip", aoc))
    hcpcs = {
        "HCPC2025_OCT_ANWEB.csv": HCPCS_CSV.read_bytes(),
        "HCPC2025_OCT_ANWEB_Transaction Report.csv": b"HCPC,ACTION\nA0021,N\n",
        "NOTES.pdf": b"%PDF-1.4 not read",
    }
    archives.append(zipped(folder / "2025-alpha-numeric-hcpcs-file-oct.zip", hcpcs))
    pfs = {"PPRRVU24_JUL.csv": PFS_CSV.read_bytes(), "GPCI2024.csv": b"LOCALITY,GPCI\n01,1\n"}
    archives.append(zipped(folder / "RVU24C.zip", pfs))
    archives.append(zipped(folder / "rbcs_2024.zip", {"rbcs_2024.csv": RBCS_CSV.read_bytes()}))
    return archives


# Hospital files that differ from the practitioner ones where the answers can show it.


def hospital_ptp(path: Path) -> Path:
    """Column 1 codes 27440 to 27599 of the practitioner subset, 27447 > 20610 at 0."""
    with gzip.open(PTP_SUBSET, "rt", newline="") as handle:
        rows = [row for row in csv.reader(handle) if "27440" <= row[0] <= "27599"]
    for row in rows:
        if row[:2] == ["27447", "20610"]:
            row[3] = "0"
    path.write_bytes(ptp_text(rows))
    return path


def hospital_mue(path: Path) -> Path:
    rows = [
        {**row, "practitioner_mue_value": "1"} if row["hcpcs_cpt_code"] == "20610" else row
        for row in mue_rows()
    ]
    path.write_bytes(mue_table("OutpatientHospital", rows))
    return path
