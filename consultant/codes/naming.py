"""How code releases are named, and when the next one of a kind is due.

CMS names its files after the quarter or month they take effect
(HCPC2025_OCT_ANWEB, AOC_V2026Q2, RVU24C); `name_release` reads the label and
effective date from such a name, or from what the operator passed. The release
calendar (`CYCLE_MONTHS`) says when a kind is replaced: CMS HCPCS, NCCI and PFS
files quarterly, ICD-10-CM on April 1 and October 1, CPT yearly.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from pathlib import Path

from consultant.db.models.codes import (
    ADDON,
    CPT_DESCRIPTORS,
    HCPCS,
    ICD10CM,
    ICD10PCS,
    MUE,
    MUE_DME,
    MUE_HOSPITAL,
    NCCI_PTP,
    NCCI_PTP_HOSPITAL,
    PFS,
    RBCS,
)
from consultant.errors import CodeImportError

QUARTERS = (1, 4, 7, 10)
# The months in which a new release of each kind takes effect (on the 1st).
CYCLE_MONTHS: dict[str, tuple[int, ...]] = {
    HCPCS: QUARTERS,
    NCCI_PTP: QUARTERS,
    NCCI_PTP_HOSPITAL: QUARTERS,
    MUE: QUARTERS,
    MUE_HOSPITAL: QUARTERS,
    MUE_DME: QUARTERS,
    ADDON: QUARTERS,
    PFS: QUARTERS,
    ICD10CM: (4, 10),
    ICD10PCS: (4, 10),
    CPT_DESCRIPTORS: (1,),
    RBCS: (1,),  # CMS updates the RBCS file once a year
}
# Kinds people name by quarter ("2024 Q3"); the others by month ("October 2025").
_QUARTER_NAMED = (NCCI_PTP, NCCI_PTP_HOSPITAL, MUE, MUE_HOSPITAL, MUE_DME, ADDON)

_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_YEAR_QUARTER = re.compile(r"(?<!\d)(20\d\d)[ _-]?q([1-4])(?!\d)", re.IGNORECASE)
_QUARTER_YEAR = re.compile(r"(?<![a-z])q([1-4])[ _-]?(20\d\d)(?!\d)", re.IGNORECASE)
_RVU = re.compile(r"rvu(\d\d)([a-d])(?![a-z])", re.IGNORECASE)  # A Jan, B Apr, C Jul, D Oct
_RVU_MONTH = re.compile(rf"rvu(\d\d)[ _-]?{_MONTH}(?![a-z])", re.IGNORECASE)  # PPRRVU24_JUL
_YEAR_MONTH = re.compile(rf"(?<!\d)(20\d\d)[ _-]?{_MONTH}(?![a-z])", re.IGNORECASE)
_MONTH_YEAR = re.compile(rf"(?<![a-z]){_MONTH}[ _-]?(20\d\d)(?!\d)", re.IGNORECASE)
_DATE = re.compile(r"(?<!\d)(20\d\d)-?(\d\d)-?(\d\d)(?!\d)")
_US_DATE = re.compile(r"(?<!\d)(\d\d)[-_](\d\d)[-_](20\d\d)(?!\d)")  # Eff_07-01-2024
# NCCI edit files are versioned vYYQrN: v303r0 is version 30.3, the fourth
# quarter of 2024 (version 30 is 2024; .0 to .3 are its quarters).
_NCCI_VERSION = re.compile(r"cci(?:pra|oph)-v(\d\d)([0-3])r\d", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


def name_release(
    kind: str, path: Path, label: str | None, effective: date | None
) -> tuple[str, date]:
    """Return the release's label and effective date: as given, else read from the names."""
    if effective is None and label:
        effective = infer_effective(kind, label)
    if effective is None:
        effective = infer_effective(kind, path.name)
    if effective is None:
        raise CodeImportError(
            f"cannot tell which {kind} release {path.name} is: its name has no quarter, "
            "month or date; give --effective YYYY-MM-DD (and --label)"
        )
    return label or label_for(kind, effective), effective


def infer_effective(kind: str, text: str) -> date | None:
    """The date a release named `text` takes effect, if the name says."""
    if match := _YEAR_QUARTER.search(text):
        return _quarter_start(int(match[1]), int(match[2]))
    if match := _QUARTER_YEAR.search(text):
        return _quarter_start(int(match[2]), int(match[1]))
    if match := _RVU.search(text):
        return _quarter_start(2000 + int(match[1]), "abcd".index(match[2].lower()) + 1)
    if match := _RVU_MONTH.search(text):
        return date(2000 + int(match[1]), _month_number(match[2]), 1)
    if match := _YEAR_MONTH.search(text):
        return date(int(match[1]), _month_number(match[2]), 1)
    if match := _MONTH_YEAR.search(text):
        return date(int(match[2]), _month_number(match[1]), 1)
    for match in _DATE.finditer(text):
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
    for match in _US_DATE.finditer(text):
        try:
            return date(int(match[3]), int(match[1]), int(match[2]))
        except ValueError:
            continue
    if match := _NCCI_VERSION.search(text):
        return _quarter_start(1994 + int(match[1]), int(match[2]) + 1)
    if kind in (CPT_DESCRIPTORS, RBCS) and (match := _YEAR.search(text)):
        return date(int(match[1]), 1, 1)  # the AMA's CPT and CMS's RBCS are yearly
    return None


def label_for(kind: str, effective: date) -> str:
    """How people name the release of `kind` effective on that day: "2024 Q3", "July 2024"."""
    if effective.day != 1:
        return effective.isoformat()
    if kind in _QUARTER_NAMED and effective.month in QUARTERS:
        return f"{effective.year} Q{(effective.month - 1) // 3 + 1}"
    if kind == CPT_DESCRIPTORS and effective.month == 1:
        return f"CPT {effective.year}"
    if kind == RBCS and effective.month == 1:
        return f"RBCS {effective.year}"
    return f"{calendar.month_name[effective.month]} {effective.year}"


def next_release(kind: str, after: date) -> date:
    """The first day after `after` on which a new release of `kind` takes effect."""
    months = CYCLE_MONTHS[kind]
    year = after.year
    while True:
        for month in months:
            if (start := date(year, month, 1)) > after:
                return start
        year += 1


def _quarter_start(year: int, quarter: int) -> date:
    return date(year, QUARTERS[quarter - 1], 1)


def _month_number(name: str) -> int:
    return [m.lower() for m in calendar.month_abbr].index(name[:3].lower())
