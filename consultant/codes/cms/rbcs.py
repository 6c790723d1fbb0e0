"""The CMS Restructured BETOS Classification System (RBCS) file: per CPT or HCPCS
code its procedure class (Major, Other, Non-Procedure), category, subcategory
and family, one row per classification, each from its effective date.

Read from the CSV layout (hcpcs_code, rbcs_procedure, rbcs_category,
rbcs_subcategory, rbcs_family, hcpcs_date_added, hcpcs_date_ended,
rbcs_date_effective; ISO dates). A code's rows are numbered in file order (`seq`).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from consultant.codes.cms.source import Checks, Rows, csv_table

RBCS_COLUMNS = (
    "code",
    "seq",
    "procedure",
    "category",
    "subcategory",
    "family",
    "effective",
    "ended",
)
_COLUMNS = {
    "hcpcs_code": ("hcpcs_cd", "code"),
    "rbcs_procedure": ("rbcs_major_ind", "procedure"),
    "rbcs_category": ("rbcs_cat_desc", "category"),
    "rbcs_subcategory": ("rbcs_subcat_desc", "subcategory"),
    "rbcs_family": ("rbcs_family_desc", "family"),
    "hcpcs_date_ended": ("hcpcs_cd_end_dt",),
    "rbcs_date_effective": ("rbcs_assignment_eff_dt",),
}


def read_rbcs(path: Path, details: dict[str, Any]) -> Rows:
    """RBCS classifications, one row per code and classification."""
    checks = Checks(path)
    seen: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    with csv_table(path, _COLUMNS) as table:
        index = [table.index[column] for column in _COLUMNS]
        for row in table.records():
            checks.line = table.line
            code, procedure, category, subcategory, family, ended, effective = (
                row[i].strip() for i in index
            )
            checks.code(code, table.name("hcpcs_code"))
            seq, seen[code] = seen[code], seen[code] + 1
            classes[procedure or "none"] += 1
            yield (
                code,
                seq,
                checks.text(procedure, table.name("rbcs_procedure"), 20),
                category,
                subcategory,
                family,
                _iso(checks, effective, table.name("rbcs_date_effective")),
                _iso(checks, ended, table.name("hcpcs_date_ended")),
            )
    details["procedure"] = dict(sorted(classes.items()))


def _iso(checks: Checks, value: str, column: str) -> date | None:
    """A YYYY-MM-DD date (the CSV's), or YYYYMMDD; empty is None."""
    return checks.ymd(value.replace("-", ""), column) if value else None
