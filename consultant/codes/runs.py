"""One import of CMS downloads, as the command line and the drop folder run it.

Input: the paths (zip archives, folders, files), who asks, and the operator's
overrides (kind, effective date, label). `run_import` unpacks and names the
files (consultant.codes.archives), then imports each release in a transaction
of its own, so a refused release leaves the others loaded; each outcome, and
each file refused before import, is written to `code_imports`. Output: an
`ImportRun` saying what happened to each release and file, for the caller to
print or to file away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultant.codes.archives import Release, Skipped, opened, plan
from consultant.codes.importers import Progress, import_parts
from consultant.codes.releases import LoadResult
from consultant.db.models.codes import CodeImport
from consultant.db.session import session_scope
from consultant.errors import CodeImportError, ImportFormatError
from consultant.settings import Settings

log = logging.getLogger(__name__)

# Per release kind, a progress callback for the rows written (or None), as a context.
ProgressFor = Callable[[str], AbstractContextManager[Progress | None]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one release: loaded (`result`) or refused (`error`)."""

    release: Release
    result: LoadResult | None = None
    error: str = ""  # the refusal, naming the file and line where it can
    seconds: float = 0.0


@dataclass(slots=True)
class ImportRun:
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    refused: list[Skipped] = field(default_factory=list)  # files no release could take

    @property
    def loaded_new(self) -> bool:
        """Whether any release was loaded (not only found loaded already)."""
        return any(o.result is not None and not o.result.already_loaded for o in self.outcomes)

    @property
    def failed(self) -> bool:
        return bool(self.refused) or any(o.result is None for o in self.outcomes)

    @property
    def empty(self) -> bool:
        """Nothing consultant reads was found."""
        return not self.outcomes and not self.refused


def run_import(
    settings: Settings,
    paths: list[Path],
    actor: str,
    *,
    kind: str | None = None,
    effective: date | None = None,
    label: str | None = None,
    progress_for: ProgressFor | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> ImportRun:
    """Import what `paths` hold, one transaction per release, and log every outcome
    (`on_outcome` hears of each release as it is done)."""
    run = ImportRun()
    with opened(paths, settings.var_dir / "tmp") as members:
        found = plan(members, kind, effective)
        if label and len(found.releases) > 1:
            raise CodeImportError("--label names one release; these files hold several")
        run.skipped, run.refused = found.skipped, found.refused
        for release in found.releases:
            progress = progress_for(release.kind) if progress_for else nullcontext(None)
            run.outcomes.append(outcome := _import_one(settings, release, actor, label, progress))
            if on_outcome is not None:
                on_outcome(outcome)
    if run.refused:
        with session_scope(settings) as session:
            for file in run.refused:
                session.add(_logged(actor, "refused", None, file.shown, file.reason))
    return run


def _import_one(
    settings: Settings,
    release: Release,
    actor: str,
    label: str | None,
    progress: AbstractContextManager[Progress | None],
) -> Outcome:
    started = time.perf_counter()
    parts = [member.path for member in release.parts]
    try:
        with progress as report, session_scope(settings) as session:
            result = import_parts(
                session,
                release.kind,
                parts,
                label=label,
                effective=release.effective,
                progress=report,
                source=release.source,
            )
            seconds = time.perf_counter() - started
            _log_result(session, actor, release, result, seconds)
    except CodeImportError as error:
        # An ImportFormatError names the file and the line; the others need the source.
        reason = (
            str(error) if isinstance(error, ImportFormatError) else f"{release.source}: {error}"
        )
        with session_scope(settings) as session:
            session.add(_logged(actor, "refused", release.kind, release.source, reason))
        log.info("code import refused: %s", reason)
        return Outcome(release, error=reason, seconds=time.perf_counter() - started)
    return Outcome(release, result, seconds=seconds)


def _log_result(
    session: Session, actor: str, release: Release, result: LoadResult, seconds: float
) -> None:
    if result.already_loaded:
        entry = _logged(actor, "already", release.kind, release.source, "")
    else:
        detail = f"{result.rows:,} rows in {seconds:.1f} s"
        if result.replaced:
            detail += f"; replaced release {', '.join(map(str, result.replaced))}"
        entry = _logged(actor, "imported", release.kind, release.source, detail)
    entry.label, entry.release_id = result.label, result.release_id
    session.add(entry)


def recent_imports(session: Session, limit: int = 50) -> list[CodeImport]:
    """The newest entries of the import log, newest first."""
    query = select(CodeImport).order_by(CodeImport.id.desc()).limit(limit)
    return list(session.scalars(query))


def _logged(actor: str, outcome: str, kind: str | None, source: str, detail: str) -> CodeImport:
    return CodeImport(actor=actor, outcome=outcome, kind=kind, source=source, detail=detail)
