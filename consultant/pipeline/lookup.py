"""Look up: the code references of a mail in, what the loaded code sets say out.

Input: the extracted references (anything with `.code` and `.system`, like
consultant.pipeline.extract.CodeRef), the date of service and any stated
units. Output: a `Report`: per code its facts (description, validity on the
date of service, notes, indicators), then the findings across codes (NCCI PTP
edits, Excludes1 conflicts, add-ons without a primary, units above the MUE,
codes that are not billable, incomplete, invalid or deleted). Every fact and
finding names its source: the release in effect on the date of service, or
consultant's own tables. No state changes: the draft stage renders the report.

This module names no code system: each provider in consultant.codes.providers
answers for its systems, and consultant.codes.systems.REGISTRY says which
release kinds a system needs and how to word a code nothing loaded can check.

Pure of Celery; one SQLAlchemy session. The releases are cached per process
(consultant.codes.in_effect), and each table is read once per mail with an
IN-query over all its codes.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session

from consultant.codes.facts import (
    CONSULTANT,
    ERROR,
    INFO,
    KIND_NAMES,
    UNCHECKED,
    WARNING,
    CodeFacts,
    Fact,
    Finding,
    Report,
    Source,
)
from consultant.codes.in_effect import releases_in_effect
from consultant.codes.kinds import PRACTITIONER, SETTING_NAMES
from consultant.codes.providers import PROVIDERS, Asked
from consultant.codes.systems import NAMES, REGISTRY, CodeSystem
from consultant.pipeline.extract import CodeRef, find_codes

__all__ = [
    "CodeFacts",
    "Fact",
    "Finding",
    "Report",
    "Source",
    "date_of_service",
    "look_up",
    "parse_codes",
    "render_text",
]

STATED, MAIL_DATE, GIVEN = "stated in the mail", "date of the mail", "given"
_SEVERITY = {ERROR: 0, WARNING: 1, INFO: 2}


class Ref(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def system(self) -> str: ...


def look_up(
    session: Session,
    refs: Iterable[Ref],
    *,
    dos: date,
    units: Mapping[str, int] | None = None,
    dos_basis: str = GIVEN,
    setting: str = PRACTITIONER,
) -> Report:
    """Look up each code on the date of service, then the findings across them; the
    NCCI edits and MUEs are those of the claim's setting where they are loaded."""
    refs = list(refs)
    wanted = list(dict.fromkeys((ref.code, ref.system) for ref in refs))
    releases = releases_in_effect(session, dos, setting)
    stated = _stated_units(refs, units or {})
    facts: dict[tuple[str, str], CodeFacts] = {}
    findings: list[Finding] = []
    for provider in PROVIDERS:
        mine = [key for key in wanted if key[1] in provider.systems]
        if mine:
            found, said = provider.look_up(Asked(session, releases, dos, mine, stated))
            facts.update(found)
            findings.extend(said)
    codes = tuple(facts.get(key) or _unchecked(*key) for key in wanted)
    findings.sort(key=lambda f: _SEVERITY.get(f.severity, 3))
    not_loaded = sorted(
        {kind for _, system in wanted for kind in _needs(system) if kind not in releases}
    )
    return Report(dos, dos_basis, codes, tuple(findings), tuple(not_loaded), setting)


def _stated_units(refs: Iterable[Ref], given: Mapping[str, int]) -> dict[str, int]:
    """Units the extractor kept with a code ("J1100 x 4"), overridden by those given."""
    stated: dict[str, int] = {}
    for ref in refs:
        if count := getattr(ref, "units", None):
            stated[ref.code] = int(count)
    stated.update(given)
    return stated


def _needs(system: str) -> tuple[str, ...]:
    """The release kinds a system's facts come from, for Report.not_loaded."""
    entry = REGISTRY.get(system)
    return entry.release_kinds if entry is not None else ()


def _unchecked(code: str, system: str) -> CodeFacts:
    entry = REGISTRY.get(system)
    if entry is not None and entry.unchecked is not None:
        return CodeFacts(code, system, UNCHECKED, "", (entry.unchecked,))
    text = f"unchecked: no {system.upper()} release is loaded"
    source = Source(CONSULTANT, "code sets loaded")
    return CodeFacts(code, system, UNCHECKED, "", (Fact("status", text, source),))


# --- codes typed on a command line ---------------------------------------------------


def parse_codes(args: Iterable[str]) -> list[CodeRef]:
    """Classify codes typed one by one ("27447 20700 59 E119"): the extractor first,
    then by shape; a bare 2-character token is a modifier. Raise ValueError for a
    token that is no code."""
    refs: list[CodeRef] = []
    for token in (t for arg in args for t in re.split(r"[\s,]+", arg) if t):
        found = find_codes(token)
        if len(found) == 1 and found[0].as_written == token:
            refs.append(found[0])
            continue
        refs.append(CodeRef(*_by_shape(token.upper()), token, 0, len(token)))
    return refs


def _by_shape(token: str) -> tuple[str, CodeSystem]:
    """Ask each system in the registry's order whether the token has its shape."""
    for system in REGISTRY.values():
        if system.by_shape is not None and (code := system.by_shape(token)) is not None:
            return code, system.code_system
    raise ValueError(f"{token} is not a CPT, HCPCS, ICD-10-CM or ICD-10-PCS code or a modifier")


# --- date of service ---------------------------------------------------------------

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTH = r"(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_LABEL = (
    r"(?:\bd\.?o\.?s\b\.?|\bdates?\s+of\s+(?:service|svc)\b|\bservice\s+dates?\b"
    r"|\bsvc\s+dates?\b)"
)
_DOS = re.compile(
    _LABEL
    + r"[\s:=#-]*(?:(?:is|was|of|on|for|=)\s*[:]?\s*)?"
    + r"(?:(?P<y>\d{4})-(?P<ym>\d{1,2})-(?P<yd>\d{1,2})(?!\d)"
    + r"|(?P<m>\d{1,2})[/.-](?P<d>\d{1,2})(?:[/.-](?P<year>\d{4}|\d{2}))?(?![\d/.-]\d)"
    + rf"|{_MONTH}\s+(?P<md>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s*(?P<my>\d{{4}}))?(?!\d)"
    + r"|(?P<dm>\d{1,2})(?:st|nd|rd|th)?\s+(?P<month2>jan|feb|mar|apr|may|jun|jul|aug|sep"
    + r"|sept|oct|nov|dec)[a-z]*\.?,?\s*(?P<dmy>\d{4})?(?!\d))",
    re.IGNORECASE,
)


def date_of_service(text: str, fallback: date) -> tuple[date, str]:
    """The date of service the mail states ("DOS 3/14/2026"), else `fallback`.

    A date without a year takes the year that puts it on or before the
    fallback (the mail's date); two-digit years are 20yy.
    """
    for match in _DOS.finditer(text):
        found = _date(match, fallback)
        if found is not None:
            return found, STATED
    return fallback, MAIL_DATE


def _date(match: re.Match[str], fallback: date) -> date | None:
    if match["y"]:
        year, month, day = int(match["y"]), int(match["ym"]), int(match["yd"])
        return _valid(year, month, day)
    if match["m"]:
        month, day, year_text = int(match["m"]), int(match["d"]), match["year"]
    elif match["month"]:
        month, day, year_text = _MONTHS[match["month"][:3].lower()], int(match["md"]), match["my"]
    else:
        month, day = _MONTHS[match["month2"][:3].lower()], int(match["dm"])
        year_text = match["dmy"]
    if year_text:
        year = int(year_text)
        return _valid(year + 2000 if year < 100 else year, month, day)
    found = _valid(fallback.year, month, day)
    if found is not None and found > fallback:
        found = _valid(fallback.year - 1, month, day)
    return found


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


# --- text ----------------------------------------------------------------------------


def render_text(report: Report) -> str:
    """The report as plain text for a certified coder: each code's facts, then the
    findings, every line ending with its source in brackets, then the sources in full."""
    lines = [f"Date of service: {report.dos.isoformat()} ({report.dos_basis})", ""]
    if report.setting != PRACTITIONER:
        named = SETTING_NAMES.get(report.setting, report.setting)
        lines[1:1] = [f"Claim setting: {named} (its NCCI edits and MUEs where loaded)"]
    sources: dict[str, Source] = {}
    for code in report.codes:
        lines.append(f"{code.code} ({NAMES.get(code.system, code.system)}): {code.status}")
        for fact in code.facts:
            lines.append(f"  - {fact.text} [{fact.source.short()}]")
            sources.setdefault(fact.source.cite(), fact.source)
        lines.append("")
    lines.append("Findings:" if report.findings else "Findings: none")
    for finding in report.findings:
        lines.append(
            f"  - {finding.severity.upper()} ({finding.kind}, {' + '.join(finding.codes)}): "
            f"{finding.text} [{finding.source.short()}]"
        )
        sources.setdefault(finding.source.cite(), finding.source)
    if report.not_loaded:
        named = ", ".join(KIND_NAMES.get(kind, kind) for kind in report.not_loaded)
        lines += ["", f"Not loaded (facts from these are missing): {named}"]
    released = [cite for cite, source in sources.items() if source.kind != CONSULTANT]
    if released:
        lines += ["", "Sources:"] + [f"  - {cite}" for cite in released]
    return "\n".join(lines) + "\n"
