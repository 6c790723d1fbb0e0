"""The drop folder: CMS downloads placed in CONSULTANT_CODE_DROP_DIR (default
var/code-drop/) are imported by the worker on a beat tick.

Each entry at the top of the folder (an archive, a file, a folder of them) is
taken once it has stopped changing: its size and modification time are the
same as at the previous look (kept in `.seen.json`), so a file still being
copied is left alone until a later tick. Everything complete is imported
together, as `consultant codes import` would (the four PTP parts dropped as
four zips make one release), logged as the actor "drop folder", and then moved:
to `imported/`, or to `refused/` beside a `<name>.reason.txt` saying why when
any of its files or releases was refused or it held nothing consultant reads.
Names are prefixed with the time they were filed, so nothing is overwritten.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from consultant.codes.runs import ImportRun, run_import
from consultant.errors import CodeImportError
from consultant.settings import Settings

log = logging.getLogger(__name__)

ACTOR = "drop folder"
IMPORTED, REFUSED = "imported", "refused"
SEEN = ".seen.json"


@dataclass(slots=True)
class DropRun:
    """What one look at the drop folder did, by entry name."""

    imported: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # name -> reason
    waiting: list[str] = field(default_factory=list)  # still changing since the last look
    loaded_new: bool = False  # a release was loaded: open drafts may need redrafting


@dataclass(frozen=True, slots=True)
class DropView:
    """The drop folder as the admin page shows it."""

    folder: Path
    waiting: list[str]  # not imported yet: new, or still being copied
    refused: list[tuple[str, str]]  # (file name, reason), newest first


def drop_view(settings: Settings, limit: int = 20) -> DropView:
    """What waits in the drop folder, and the newest refusals with their reasons."""
    folder = settings.code_drop_path()
    if not folder.is_dir():
        return DropView(folder, [], [])
    waiting = [e.name for e in sorted(folder.iterdir()) if _candidate(e)]
    refused_dir = folder / REFUSED
    names = sorted(refused_dir.iterdir(), reverse=True) if refused_dir.is_dir() else []
    refused = []
    for path in [p for p in names if not p.name.endswith(".reason.txt")][:limit]:
        reason_file = path.with_name(f"{path.name}.reason.txt")
        reason = reason_file.read_text(encoding="utf-8").strip() if reason_file.exists() else ""
        refused.append((path.name, reason))
    return DropView(folder, waiting, refused)


def scan_drop(settings: Settings) -> DropRun:
    """Import the complete entries of the drop folder and file them away."""
    folder = settings.code_drop_path()
    for sub in (folder, folder / IMPORTED, folder / REFUSED):
        sub.mkdir(parents=True, exist_ok=True, mode=0o700)
    result = DropRun()
    entries = [e for e in sorted(folder.iterdir()) if _candidate(e)]
    before = _read_seen(folder)
    now = {entry.name: _stamp(entry) for entry in entries}
    _write_seen(folder, now)
    ready = [entry for entry in entries if before.get(entry.name) == now[entry.name]]
    result.waiting = [entry.name for entry in entries if entry not in ready]
    if ready:
        _import_ready(settings, folder, ready, result)
        _write_seen(folder, {n: s for n, s in now.items() if (folder / n).exists()})
    return result


def _import_ready(settings: Settings, folder: Path, ready: list[Path], result: DropRun) -> None:
    try:
        run = run_import(settings, ready, ACTOR)
    except CodeImportError as error:  # nothing could be read (a zip nested too deep)
        for entry in ready:
            _file(folder, entry, REFUSED, str(error), result)
        return
    reasons = _reasons(run)
    read = [member.shown for outcome in run.outcomes for member in outcome.release.parts]
    for entry in ready:
        mine = [why for shown, why in reasons if _within(shown, entry.name)]
        if not mine and not any(_within(shown, entry.name) for shown in read):
            mine = ["no CMS file consultant reads was found"]
        _file(folder, entry, REFUSED if mine else IMPORTED, "\n".join(mine), result)
    result.loaded_new = run.loaded_new


def _reasons(run: ImportRun) -> list[tuple[str, str]]:
    """(the file, why) for every file and release refused, naming the release's parts."""
    found = [(file.shown, f"{file.shown}: {file.reason}") for file in run.refused]
    for outcome in run.outcomes:
        if outcome.result is None:
            found += [(member.shown, outcome.error) for member in outcome.release.parts]
    return found


def _file(folder: Path, entry: Path, where: str, reason: str, result: DropRun) -> None:
    """Move `entry` to imported/ or refused/ (with the reason beside it)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = folder / where / f"{stamp}-{entry.name}"
    shutil.move(str(entry), str(target))
    if where == REFUSED:
        reason_file = target.with_name(f"{target.name}.reason.txt")
        reason_file.write_text(reason + "\n", encoding="utf-8")
        result.refused[entry.name] = reason
        log.warning("code drop: %s refused: %s", entry.name, reason.splitlines()[0])
    else:
        result.imported.append(entry.name)
        log.info("code drop: %s imported", entry.name)


def _within(shown: str, name: str) -> bool:
    """Whether a file shown as `shown` came from the entry `name` (itself or inside it)."""
    return shown == name or shown.startswith(f"{name}/")


def _candidate(entry: Path) -> bool:
    return not entry.name.startswith(".") and entry.name not in (IMPORTED, REFUSED)


def _stamp(entry: Path) -> list[int]:
    """Size and modification time of the entry (a folder: of every file in it)."""
    files = [entry] if entry.is_file() else sorted(p for p in entry.rglob("*") if p.is_file())
    stats = [f.stat() for f in files]
    return [
        len(stats),
        sum(s.st_size for s in stats),
        max((s.st_mtime_ns for s in stats), default=0),
    ]


def _read_seen(folder: Path) -> dict[str, list[int]]:
    try:
        seen = json.loads((folder / SEEN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return seen if isinstance(seen, dict) else {}


def _write_seen(folder: Path, seen: dict[str, list[int]]) -> None:
    partial = folder / f"{SEEN}.partial"
    partial.write_text(json.dumps(seen), encoding="utf-8")
    os.replace(partial, folder / SEEN)
