"""`consultant codes …`: load and import code sets, and show what is loaded."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click
from sqlalchemy import inspect

from consultant.cli.common import cli_settings, enqueue_redraft_stale, one_line
from consultant.codes.icd10cm import Progress, UnknownPackage, load_icd10cm
from consultant.codes.importers import IMPORT_KINDS, CodeImportError, import_file
from consultant.codes.kinds import ICD10CM
from consultant.codes.releases import LoadResult
from consultant.codes.status import KindStatus, code_status
from consultant.db.session import session_scope


@click.group()
def codes() -> None:
    """Code sets and correct-coding edits: load, import, status."""


# --- load: the code sets that come with consultant -------------------------------


@codes.command("load")
@click.argument("code_set", metavar="SET", type=click.Choice([ICD10CM]))
@click.option(
    "--effective",
    metavar="YYYY-MM-DD",
    help="First date of service the data applies to; needed only for a package "
    "version consultant does not know.",
)
def load(code_set: str, effective: str | None) -> None:
    """Load SET, a code set that comes with consultant; loading it again does nothing.

    icd10cm is the CDC ICD-10-CM tabular bundled in the simple-icd-10-cm package.
    """
    on = _effective_date(effective)
    settings = cli_settings()
    started = time.perf_counter()
    with (
        one_line(UnknownPackage),
        _load_progress(code_set) as progress,
        session_scope(settings) as session,
    ):
        result = load_icd10cm(session, effective=on, progress=progress)
    click.echo(_load_summary(result, time.perf_counter() - started))
    _redraft_open_drafts(result)


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
@click.argument("kind", type=click.Choice(IMPORT_KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--label", help='How to name the release (default: from the file name, "2024 Q3").')
@click.option(
    "--effective",
    metavar="YYYY-MM-DD",
    help="First date of service the file applies to (default: from the file name).",
)
def import_(kind: str, file: Path, label: str | None, effective: str | None) -> None:
    """Import FILE as a release of KIND; importing the same file again does nothing.

    KIND is hcpcs (the CMS Alpha-Numeric HCPCS file: csv, xlsx or txt), ncci-ptp
    (PTP edits: csv, csv.gz or the CMS tab-delimited txt), mue, addon, pfs, or
    cpt-descriptors (your AMA-licensed data file). A different file for the same
    effective date replaces the release loaded before.
    """
    on = _effective_date(effective)
    started = time.perf_counter()
    with one_line(CodeImportError), _import_progress(kind) as progress, _code_session() as session:
        result = import_file(session, kind, file, label=label, effective=on, progress=progress)
    click.echo(_import_summary(result, file.name, time.perf_counter() - started, on))
    _redraft_open_drafts(result)


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
    summary = f"{head}: {result.rows:,} rows from {name} in {seconds:.1f} s"
    if result.replaced:
        summary += f"; replaced release {', '.join(map(str, result.replaced))}"
    return summary


def _redraft_open_drafts(result: LoadResult) -> None:
    """Ask a worker to redraft open drafts made without the release just committed.

    Best effort, on stderr: stdout stays the summary. When the queue cannot take
    it, the sweep does the same on its next tick.
    """
    if result.already_loaded:
        return
    try:
        enqueue_redraft_stale()
    except Exception as error:  # the release is committed; the redraft only waits
        click.echo(
            f"the queue is unreachable ({type(error).__name__}): open drafts will be "
            "redrafted with this release on the next sweep",
            err=True,
        )
        return
    click.echo("open drafts made without this release are queued for redrafting", err=True)


# --- status -----------------------------------------------------------------------


@codes.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(as_json: bool) -> None:
    """Show every loaded release, the one in effect today, and what is out of date."""
    today = date.today()
    with _code_session() as session:
        kinds = code_status(session, today)
    if as_json:
        data = {"today": today.isoformat(), "kinds": [kind.as_json() for kind in kinds]}
        click.echo(json.dumps(data, indent=2))
        return
    _echo_status(kinds, today)


def _echo_status(kinds: list[KindStatus], today: date) -> None:
    width = max([7, *(len(r.label) for kind in kinds for r in kind.releases)])
    click.echo(
        f"{'KIND':<15} {'RELEASE':<{width}} {'EFFECTIVE':<10} {'ROWS':>10}  "
        f"{'LOADED (UTC)':<16}  FILE"
    )
    for kind in kinds:
        if not kind.loaded:
            click.echo(f"{kind.kind:<15} not loaded: {kind.load_command}")
        for number, release in enumerate(kind.releases):
            name = kind.kind if number == 0 else ""
            click.echo(
                f"{name:<14}{'*' if release.in_effect else ' '} {release.label:<{width}} "
                f"{release.effective.isoformat():<10} {release.rows:>10,}  "
                f"{release.loaded_at:%Y-%m-%d %H:%M}  {release.source_file}"
            )
    click.echo(f"* in effect today ({today.isoformat()})")
    for kind in kinds:
        if kind.warning:
            click.echo(f"warning: {kind.warning}")
