"""Physician fee schedule payment indicators (the CMS RVU file's indicator
columns, without descriptors) as `pfs_indicators` rows.

One row per code and modifier (blank, 26, TC or 53): status, PC/TC indicator,
global days, the pre/intra/post-operative shares and the multiple, bilateral,
assistant, co- and team surgery indicators, and the endoscopic base code.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from consultant.codes.cms.source import MODIFIER, Checks, Rows, csv_table

PFS_COLUMNS = (
    "code",
    "modifier",
    "status",
    "pctc",
    "global_days",
    "pre_op",
    "intra_op",
    "post_op",
    "mult_proc",
    "bilat_surg",
    "asst_surg",
    "co_surg",
    "team_surg",
    "endo_base",
)
GLOBAL_DAYS = ("000", "010", "090", "MMM", "XXX", "YYY", "ZZZ", "")
_STATUS = re.compile(r"[A-Z]")
_INDICATOR = re.compile(r"[0-9]?")
_INDICATORS = ("pctc", "mult_proc", "bilat_surg", "asst_surg", "co_surg", "team_surg")

_FILE_COLUMNS = {
    "hcpcs_code": ("hcpcs", "code"),
    "mod": ("modifier",),
    "status": ("status_code",),
    "pctc": ("pctc_ind",),
    "glob": ("glob_days", "global_days"),
    "pre_op": (),
    "intra_op": (),
    "post_op": (),
    "mult_proc": (),
    "bilat_surg": (),
    "asst_surg": (),
    "co_surg": (),
    "team_surg": (),
    "endo_base": (),
}


def read_pfs(path: Path, details: dict[str, Any]) -> Rows:
    """PFS indicators from the CSV layout (hcpcs_code, mod, status, pctc, glob, …)."""
    checks = Checks(path)
    modifiers: Counter[str] = Counter()
    first_line: dict[tuple[str, str], int] = {}
    with csv_table(path, _FILE_COLUMNS) as table:
        index = {column: table.index[column] for column in _FILE_COLUMNS}
        for row in table.records():
            checks.line = table.line
            value = {column: row[i].strip() for column, i in index.items()}
            code, modifier = value["hcpcs_code"], value["mod"]
            if (first := first_line.setdefault((code, modifier), checks.line)) != checks.line:
                shown = f"{code}-{modifier}" if modifier else code
                raise checks.error(f"{shown} appears again (first on line {first})")
            modifiers[modifier or "none"] += 1
            yield _row(value, checks, table.name)
    details["modifier"] = dict(sorted(modifiers.items()))


def _row(value: dict[str, str], checks: Checks, name: Callable[[str], str]) -> tuple[Any, ...]:
    """The checked table row; `name` gives the file's name of a column for messages."""
    checks.code(value["hcpcs_code"], name("hcpcs_code"))
    if value["mod"]:
        checks.code(value["mod"], name("mod"), MODIFIER, "a modifier")
    if not _STATUS.fullmatch(value["status"]):
        raise checks.error(f"{name('status')} {value['status']!r} is not a status letter")
    for column in _INDICATORS:
        if not _INDICATOR.fullmatch(value[column]):
            raise checks.error(f"{name(column)} {value[column]!r} is not a digit")
    checks.choice(value["glob"], name("glob"), GLOBAL_DAYS)
    if value["endo_base"]:
        checks.code(value["endo_base"], name("endo_base"))
    return (
        value["hcpcs_code"],
        value["mod"],
        value["status"],
        value["pctc"],
        value["glob"],
        checks.number(value["pre_op"], name("pre_op")),
        checks.number(value["intra_op"], name("intra_op")),
        checks.number(value["post_op"], name("post_op")),
        *(value[column] for column in _INDICATORS[1:]),
        value["endo_base"],
    )
