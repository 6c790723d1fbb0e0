"""Retention: erase mail data (PHI) after the retention period, or for one case on request.

Input: a retention period in days (`purge`), or a case reference (`erase`).
Output: counts of what was (or, in a dry run, would be) erased, and one audit
entry per case (`case.purged`, `case.erased`).

What a purge erases, for cases in a final state (sent, rejected, closed) whose
last change is older than the period and that have no mail waiting in the
outbox: the raw mail of the case (attachments are inside it) with classify's
note and any error, every draft's subject, text, HTML and lookup report, the
outbox copies (`outbound_messages.raw`, the relay's error and bounce text, and
the .eml files in the outbox folder), and the case's subject, sender name,
state reason and attention line, and what the answer memory kept of the case
(its approved answers, remembered paragraphs and their codes, which leave the
search index with them; consultant.memory). The case keeps its reference, state, codes,
sender address and account (quotas count cases), dates and audit entries (which
hold no mail text: see audit() in consultant/cases.py); `purged_at` says when.
Mail that never became a case (quarantined, ignored, failed) older than the
period is deleted, and automatic mail that answered it loses its raw copy.

`erase` does the same for one case in any state, refuses while an answer is
queued or being sent (unless forced, which fails the queued rows first), and
closes the case as far as the state table allows: there is nothing left to
review or answer.

On SQLite the connections run with secure_delete, and `compact` checkpoints
the WAL afterwards so no copy of the old pages stays in the -wal file. On
PostgreSQL `compact` runs VACUUM on the tables a purge rewrites, so the old
row versions are reclaimed now, not at autovacuum's next visit; PostgreSQL
does not zero reclaimed space, and its WAL and backups keep what they kept
(the README says what an operator does about that).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, Select, delete, exists, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from consultant.cases import advance, audit
from consultant.db.base import utcnow
from consultant.db.models import (
    Case,
    CaseState,
    Draft,
    InboundMessage,
    InboundState,
    OutboundMessage,
    OutboundState,
)
from consultant.db.session import get_engine, session_scope
from consultant.errors import Refused
from consultant.memory import count_case, forget_case, optimize_index
from consultant.settings import Settings

log = logging.getLogger(__name__)

FINAL = (CaseState.SENT, CaseState.REJECTED, CaseState.CLOSED)
NO_CASE = (InboundState.QUARANTINED, InboundState.IGNORED, InboundState.FAILED)
PENDING = (OutboundState.QUEUED, OutboundState.SENDING)
DONE = (OutboundState.SENT, OutboundState.FAILED, OutboundState.BOUNCED)
BATCH = 200  # cases per transaction
ERASED = "mail data erased on request"


class RetentionError(Refused):
    """The request cannot be carried out; nothing was changed."""


@dataclass
class Erased:
    """How many of each were erased (or, in a dry run, would be)."""

    cases: int = 0
    inbound: int = 0  # mails of those cases, emptied
    drafts: int = 0
    outbound: int = 0  # outbox rows emptied (of cases and automatic mail)
    outbox_files: int = 0
    caseless_inbound: int = 0  # mail that opened no case, deleted
    remembered: int = 0  # approved answers deleted from the answer memory

    def add(self, other: Erased) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def line(self) -> str:
        return " ".join(f"{name}={value}" for name, value in asdict(self).items())


def purge(settings: Settings, days: int, *, actor: str, dry_run: bool = False) -> Erased:
    """Erase the mail data of final cases and caseless mail last changed over `days` ago."""
    if days < 1:
        raise RetentionError("the retention period must be at least one day")
    cutoff = utcnow() - timedelta(days=days)
    total = Erased()
    with session_scope(settings) as session:
        case_ids = list(session.scalars(_expired_cases(cutoff)))
        total.add(_caseless(session, settings, cutoff, dry_run))
    for start in range(0, len(case_ids), BATCH):
        with session_scope(settings) as session:
            for case_id in case_ids[start : start + BATCH]:
                if dry_run:
                    total.add(_erase_case(session, settings, case_id, dry_run=True))
                elif _claim(session, case_id, cutoff):  # still expired: no follow-up since
                    total.add(_erase_case(session, settings, case_id, dry_run=False))
                    audit(session, actor, "case.purged", case_id, older_than_days=days)
    if not dry_run:
        compact(settings, rewrite_index=bool(total.remembered))
    log.info("purge older than %d days%s: %s", days, " (dry run)" * dry_run, total.line())
    return total


def purge_due(settings: Settings) -> Erased | None:
    """Purge by the configured retention period (beat, daily); None when it is 0 (keep)."""
    if settings.retention_days == 0:
        return None
    return purge(settings, settings.retention_days, actor="system")


def erase(settings: Settings, ref: str, *, actor: str, force: bool = False) -> Erased:
    """Erase the mail data of case `ref` now, in any state, and close it."""
    with session_scope(settings) as session:
        wanted = select(Case).where(Case.ref == ref.strip().upper()).with_for_update()
        case = session.scalar(wanted)
        if case is None:
            raise RetentionError(f"no case {ref.strip().upper()}")
        _cancel_pending(session, case, force)
        counts = _erase_case(session, settings, case.id, dry_run=False)
        for to in (CaseState.REJECTED, CaseState.CLOSED):
            advance(session, case.id, to, actor=actor, reason=ERASED)
        audit(session, actor, "case.erased", case.id, **asdict(counts))
    compact(settings, rewrite_index=bool(counts.remembered))
    log.info("case %s erased by request: %s", case.id, counts.line())
    return counts


def compact(settings: Settings, *, rewrite_index: bool = False) -> None:
    """Leave no old copy of erased rows where the database can reclaim it now.

    `rewrite_index`: answers left the memory, so the SQLite full-text index is
    merged first (its old segments would keep their words until a later merge).
    """
    if settings.embedded:
        if rewrite_index:
            with session_scope(settings) as session:
                optimize_index(session)
        _checkpoint(settings)
    else:
        _vacuum(settings)


def _checkpoint(settings: Settings) -> None:
    """SQLite: move the WAL into the (secure-deleted) file and truncate it."""
    # On the DB-API connection: a checkpoint cannot run inside the transaction
    # SQLAlchemy would begin (BEGIN IMMEDIATE, see db/session.py).
    connection = get_engine(settings).raw_connection()
    try:
        cursor = connection.cursor()
        busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        connection.close()
    if busy:
        log.warning("WAL checkpoint blocked by a reader; old pages leave the -wal file later")


# The tables whose rows a purge or an erase rewrites or deletes.
ERASED_TABLES = (
    "inbound_messages",
    "drafts",
    "outbound_messages",
    "cases",
    "approved_answers",
    "remembered_paragraphs",
    "answer_codes",
)


def _vacuum(settings: Settings) -> None:
    """PostgreSQL: VACUUM the erased tables (outside a transaction, as it must run).

    The purge has committed; a VACUUM that fails (say, the role does not own
    the tables) leaves the old row versions to autovacuum and says so.
    """
    try:
        with get_engine(settings).connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in ERASED_TABLES:
                connection.exec_driver_sql(f"VACUUM {table}")
    except SQLAlchemyError as error:
        log.warning("VACUUM after the purge failed; autovacuum will reclaim later: %s", error)


def _expiry(cutoff: datetime) -> tuple[ColumnElement[bool], ...]:
    """A case past retention: final, unchanged since `cutoff`, not purged since its
    last change (a follow-up reopens a purged case), and nothing left to send."""
    pending = exists().where(OutboundMessage.case_id == Case.id, OutboundMessage.state.in_(PENDING))
    return (
        Case.state.in_(FINAL),
        Case.updated_at < cutoff,
        or_(Case.purged_at.is_(None), Case.purged_at < Case.updated_at),
        ~pending,
    )


def _expired_cases(cutoff: datetime) -> Select[int]:
    return select(Case.id).where(*_expiry(cutoff)).order_by(Case.id)


def _claim(session: Session, case_id: int, cutoff: datetime) -> bool:
    """Mark the case purged if it is still past retention (a conditional update:
    a follow-up that reopened it since the selection wins)."""
    result = session.execute(
        update(Case).where(Case.id == case_id, *_expiry(cutoff)).values(purged_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _cancel_pending(session: Session, case: Case, force: bool) -> None:
    pending = list(
        session.scalars(
            select(OutboundMessage).where(
                OutboundMessage.case_id == case.id, OutboundMessage.state.in_(PENDING)
            )
        )
    )
    if pending and not force:
        what = ", ".join(f"outbound {row.id} ({row.kind}, {row.state})" for row in pending)
        raise RetentionError(
            f"case {case.ref} has mail waiting in the outbox: {what}; "
            "erase --force cancels it first"
        )
    for row in pending:
        row.state = OutboundState.FAILED.value
        row.last_error = "cancelled: the case's mail data was erased"


def _erase_case(session: Session, settings: Settings, case_id: int, dry_run: bool) -> Erased:
    outbound_ids = list(
        session.scalars(select(OutboundMessage.id).where(OutboundMessage.case_id == case_id))
    )
    counts = Erased(
        cases=1,
        inbound=_count(session, InboundMessage, InboundMessage.case_id == case_id),
        drafts=_count(session, Draft, Draft.case_id == case_id),
        outbound=len(outbound_ids),
        outbox_files=_outbox_files(settings, outbound_ids, remove=not dry_run),
        remembered=count_case(session, case_id),
    )
    if dry_run:
        return counts
    forget_case(session, case_id)
    session.execute(
        update(InboundMessage)
        .where(InboundMessage.case_id == case_id)
        .values(raw=b"", note=None, error=None)
    )
    session.execute(
        update(Draft)
        .where(Draft.case_id == case_id)
        .values(subject="", body_text="", body_html="", lookup=None)
    )
    _empty_outbound(session, outbound_ids)
    session.execute(
        update(Case)
        .where(Case.id == case_id)
        .values(subject="", sender_name="", state_reason=None, attention=None, purged_at=utcnow())
    )
    return counts


def _caseless(session: Session, settings: Settings, cutoff: datetime, dry_run: bool) -> Erased:
    """Mail that opened no case, and automatic mail that answered it."""
    inbound = (
        InboundMessage.case_id.is_(None),
        InboundMessage.state.in_(NO_CASE),
        InboundMessage.received_at < cutoff,
    )
    outbound_ids = list(
        session.scalars(
            select(OutboundMessage.id).where(
                OutboundMessage.case_id.is_(None),
                OutboundMessage.state.in_(DONE),
                OutboundMessage.created_at < cutoff,
                func.length(OutboundMessage.raw) > 0,
            )
        )
    )
    counts = Erased(
        caseless_inbound=_count(session, InboundMessage, *inbound),
        outbound=len(outbound_ids),
        outbox_files=_outbox_files(settings, outbound_ids, remove=not dry_run),
    )
    if not dry_run:
        session.execute(delete(InboundMessage).where(*inbound))
        _empty_outbound(session, outbound_ids)
    return counts


def _empty_outbound(session: Session, outbound_ids: Sequence[int]) -> None:
    if outbound_ids:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(outbound_ids))
            .values(raw=b"", last_error=None, bounce_diagnostic=None)
        )


def _count(session: Session, model: type, *where: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _outbox_files(settings: Settings, outbound_ids: Sequence[int], *, remove: bool) -> int:
    """The outbox folder's copies of these rows (`send` names them <id:06d>-…)."""
    folder: Path = settings.outbox_path()
    if not outbound_ids or not folder.is_dir():
        return 0
    found = 0
    for outbound_id in outbound_ids:
        for pattern in (f"{outbound_id:06d}-*.eml", f".{outbound_id:06d}-*.eml.tmp"):
            for path in folder.glob(pattern):
                found += 1
                if remove:
                    path.unlink(missing_ok=True)
    return found
