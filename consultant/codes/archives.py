"""CMS downloads as they come: zip archives, and folders of them, read as releases.

An operator downloads CMS's quarterly archives and hands them over unopened.
`opened` unpacks them (zips inside zips too) into a private scratch folder;
`plan` names every file found: the kind of data it holds, from CMS's own file
names (ccipra/ccioph PTP parts, MCR_MUE_<setting> tables, AOC_V<year>Q<n>,
HCPC<year>_<month>_ANWEB, PPRRVU) or, for a name it does not know, from the
header; the date it takes effect from the archive's or the file's name. Files
of one kind and date make one release (CMS splits the PTP edits into f1 to f4);
of twins (the csv and xlsx of one table) the one consultant reads best is kept.
Everything else is listed as skipped, with the reason, so nothing is ignored
silently. Importing what `plan` found is the caller's: one transaction per
release, with `consultant.codes.importers.import_parts`.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath

from consultant.codes.cms.source import normalize, text_lines
from consultant.codes.kinds import (
    ADDON,
    HCPCS,
    MUE,
    MUE_DME,
    MUE_HOSPITAL,
    NCCI_PTP,
    NCCI_PTP_HOSPITAL,
    PFS,
    RBCS,
)
from consultant.codes.naming import infer_effective
from consultant.errors import CodeImportError, ImportFormatError

# The largest file consultant unpacks from an archive: the full PTP text is ~200 MB.
LARGEST_MEMBER = 2 << 30
DEEPEST = 3  # zips inside zips inside the archive, at most

# CMS's own names, matched on the file's name without its folders, lower case.
_NAMES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (r"ccipra-v\d{3}r\d", NCCI_PTP),
        (r"ccioph-v\d{3}r\d", NCCI_PTP_HOSPITAL),
        (r"mue.*practitioner", MUE),
        (r"mue.*(outpatient|facility)", MUE_HOSPITAL),
        (r"mue.*dme", MUE_DME),
        (r"^aoc_v?20\d\d", ADDON),
        (r"^hcpc20\d\d_[a-z]+_anweb(?!.*(trans|layout|note))", HCPCS),
        (r"^pprrvu", PFS),
        (r"rbcs", RBCS),
    )
)
# The MUE value column names the setting a table is for.
_MUE_HEADERS = {
    "practitioner_services_mue_values": MUE,
    "outpatient_hospital_services_mue_values": MUE_HOSPITAL,
    "facility_outpatient_hospital_services_mue_values": MUE_HOSPITAL,
    "dme_supplier_services_mue_values": MUE_DME,
}
# The layouts each kind is read from, best first; a twin in a later one is skipped.
_LAYOUTS = {
    HCPCS: (".xlsx", ".csv", ".txt"),
    NCCI_PTP: (".txt", ".csv", ".gz"),
    NCCI_PTP_HOSPITAL: (".txt", ".csv", ".gz"),
    MUE: (".csv",),
    MUE_HOSPITAL: (".csv",),
    MUE_DME: (".csv",),
    ADDON: (".csv", ".txt"),
    PFS: (".csv",),
    RBCS: (".csv",),
}
_TEXT = (".txt", ".csv", ".gz")


@dataclass(frozen=True, slots=True)
class Member:
    """A file from an archive (or a folder), unpacked on disk."""

    path: Path
    shown: str  # as the operator knows it: "RVU24C.zip/PPRRVU24_JUL.csv"
    within: tuple[str, ...] = ()  # the names of the archives it came from, outermost first
    damaged: str = ""  # why an archive could not be unpacked; refused, the rest go on

    @property
    def archived(self) -> bool:
        """Unpacked from a zip, rather than named by the operator."""
        return bool(self.within)

    def names(self) -> tuple[str, ...]:
        """The file's own name, then its archives' from the innermost: where its
        date is read, nearest first. Folder names are the operator's, never read."""
        return (self.name, *reversed(self.within))

    @property
    def name(self) -> str:
        return PurePosixPath(self.shown).name


@dataclass(frozen=True, slots=True)
class Skipped:
    shown: str
    reason: str


@dataclass(frozen=True, slots=True)
class Release:
    """One release to import: its kind, its first day, and its files in order."""

    kind: str
    effective: date
    parts: tuple[Member, ...]

    @property
    def source(self) -> str:
        """How the release's source is recorded: its file, or its first file and the count."""
        first = self.parts[0].shown
        return first if len(self.parts) == 1 else f"{first} (+{len(self.parts) - 1} parts)"


@dataclass(slots=True)
class Plan:
    releases: list[Release] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    refused: list[Skipped] = field(default_factory=list)  # files that cannot be imported as given


@contextmanager
def opened(paths: list[Path], scratch: Path | None = None) -> Iterator[list[Member]]:
    """Yield the files of `paths` (zip archives, folders, plain files), zips unpacked
    into a private folder under `scratch` that is removed afterwards."""
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = Path(tempfile.mkdtemp(prefix="code-import-", dir=scratch))
    try:
        members: list[Member] = []
        for path in paths:
            if not path.exists():
                raise CodeImportError(f"{path}: no such file or folder")
            for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
                if file.is_file() and not file.name.startswith("."):
                    shown = str(file.relative_to(path.parent))
                    members.extend(_unpacked(file, shown, (), folder))
        yield members
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _unpacked(path: Path, shown: str, within: tuple[str, ...], folder: Path) -> Iterator[Member]:
    if not _looks_zipped(path):
        yield Member(path, shown, within)
        return
    if len(within) == DEEPEST:
        raise CodeImportError(f"{shown}: zip archives nested deeper than {DEEPEST} levels")
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = PurePosixPath(info.filename).name
                if info.is_dir() or not name or name.startswith(".") or "__MACOSX" in info.filename:
                    continue
                if info.file_size > LARGEST_MEMBER:
                    raise CodeImportError(f"{shown}/{info.filename}: larger than 2 GiB unpacked")
                # A folder of our own per file, and the file's own name only if it is
                # a plain one: the archive's names never choose a path. Readers name
                # the file in their errors, so the operator's name is kept if it can be.
                target = folder / secrets.token_hex(8) / _safe_name(name)
                target.parent.mkdir(mode=0o700)
                with archive.open(info) as source, target.open("wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
                inner = (*within, PurePosixPath(shown).name)
                yield from _unpacked(target, f"{shown}/{info.filename}", inner, folder)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as error:
        yield Member(path, shown, within, damaged=f"the zip archive is damaged ({error})")


def _looks_zipped(path: Path) -> bool:
    """A zip archive by its name or its first bytes (a damaged one too, to be refused)."""
    with path.open("rb") as handle:
        return path.suffix.lower() == ".zip" or handle.read(4) == b"PK\x03\x04"


def _safe_name(name: str) -> str:
    """`name` if it is a plain file name, else one made of its safe characters."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._()-]{0,150}", name):
        return name
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[-150:].lstrip(".") or "file"


def plan(members: list[Member], kind: str | None = None, effective: date | None = None) -> Plan:
    """Name every file: which release it belongs to, or why it is skipped or refused."""
    result = Plan()
    found: dict[tuple[str, date], list[Member]] = {}
    for member in members:
        if member.damaged:
            result.refused.append(Skipped(member.shown, member.damaged))
            continue
        which = kind or recognise(member)
        if which is None:
            result.skipped.append(Skipped(member.shown, "not a CMS file consultant reads"))
            continue
        # A file the operator named with --kind is read as that kind, whatever its name.
        if which in _LAYOUTS and _suffix(member) not in _LAYOUTS[which] and member.archived:
            layouts = ", ".join(_LAYOUTS[which])
            result.skipped.append(Skipped(member.shown, f"{which} is read from {layouts} files"))
            continue
        on = effective or _dated(which, member)
        if on is None:
            result.refused.append(Skipped(member.shown, f"{_no_date(which)}"))
            continue
        found.setdefault((which, on), []).append(member)
    for (which, on), files in sorted(found.items(), key=lambda item: (item[0][0], item[0][1])):
        kept, twins = _without_twins(which, files)
        result.skipped.extend(twins)
        result.releases.append(Release(which, on, tuple(sorted(kept, key=lambda m: m.shown))))
    return result


def _dated(kind: str, member: Member) -> date | None:
    """The date the file's own name, or the nearest archive's, says it takes effect."""
    for name in member.names():
        if (on := infer_effective(kind, name)) is not None:
            return on
    return None


def recognise(member: Member) -> str | None:
    """The kind of data in a file: from CMS's name for it, else from its header."""
    name = member.name.lower()
    if any("medicaid" in named.lower() for named in member.names()) or name.startswith("mcd_"):
        return None  # Medicaid's NCCI edits are not Medicare's
    for pattern, kind in _NAMES:
        if pattern.search(name):
            return kind
    if _suffix(member) not in _TEXT:
        return None
    return _from_header(member)


def _from_header(member: Member) -> str | None:
    try:
        with text_lines(member.path) as lines:
            head = [normalize(line) for _, line in zip(range(25), lines, strict=False)]
    except (ImportFormatError, OSError):
        return None
    for line in head:
        for header, kind in _MUE_HEADERS.items():
            if header in line:
                return kind
        if line.startswith("column_1_column_2"):
            named = " ".join(member.names()).lower()
            return NCCI_PTP_HOSPITAL if re.search(r"hospital|oph", named) else NCCI_PTP
        if "aoc_edit_type" in line or "add_on_code" in line:
            return ADDON
        if "hcpc" in line and "recid" in line:
            return HCPCS
        if "pctc" in line and "glob" in line:
            return PFS
    return None


def _without_twins(kind: str, files: list[Member]) -> tuple[list[Member], list[Skipped]]:
    """Of files that are one table in several layouts, keep the best; several tables
    of a kind that is one file (all but PTP) keep the best layout's, if one."""
    order = _LAYOUTS.get(kind, ())
    best: dict[str, Member] = {}
    skipped: list[Skipped] = []
    for member in sorted(
        files, key=lambda m: order.index(_suffix(m)) if _suffix(m) in order else 9
    ):
        stem = _stem(member)
        if stem in best:
            skipped.append(Skipped(member.shown, f"the same table as {best[stem].shown}"))
        else:
            best[stem] = member
    return list(best.values()), skipped


def _stem(member: Member) -> str:
    name = member.name.lower()
    return re.sub(r"(\.[a-z0-9]{1,5})+$", "", name)


def _suffix(member: Member) -> str:
    return PurePosixPath(member.name.lower()).suffix


def _no_date(kind: str) -> str:
    return (
        f"a {kind} file whose name has no quarter, month or date; "
        "give --effective YYYY-MM-DD for it"
    )
