"""`consultant audit`: the audit log, as the console's Audit page and the API's
/audit show it (consultant/review/listings.py), with the same filters.

An operator's command: entries are printed newest first, one a line, their
detail as compact JSON (the audit log holds no mail text: edits and reasons
are kept as size and SHA-256).
"""

from __future__ import annotations

import json
from typing import Any

import click

from consultant.cli.common import cli_session, cli_settings
from consultant.review.listings import AuditRecord, audit_records


@click.command("audit")
@click.option("--case", "ref", help="Only entries of this case (e.g. CC-2026-000123).")
@click.option("--actor", help='Only entries by this reviewer\'s address, or "system".')
@click.option("--action", help='Only this action, or every action it begins ("draft.").')
@click.option("--before", type=int, help="Only entries older than this id (to page back).")
@click.option("--limit", default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
def audit(
    ref: str | None,
    actor: str | None,
    action: str | None,
    before: int | None,
    limit: int,
    as_json: bool,
) -> None:
    """The audit log, newest first: who did what to which case, and when."""
    with cli_session(cli_settings()) as session:
        records = audit_records(
            session, case=ref, actor=actor, action=action, before=before, limit=limit
        )
    rows = [_record_data(record) for record in records]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no audit entries")
        return
    click.echo(f"{'ID':>7}  {'AT':<19}  {'ACTOR':<28} {'ACTION':<28} {'CASE':<16} DETAIL")
    for row in rows:
        detail = json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
        click.echo(
            f"{row['id']:>7}  {row['at'][:19].replace('T', ' '):<19}  {row['actor']:<28} "
            f"{row['action']:<28} {row['case'] or '-':<16} {detail}"
        )


def _record_data(record: AuditRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "at": record.at.isoformat(),
        "actor": record.actor,
        "action": record.action,
        "case": record.ref,
        "detail": record.detail,
    }
