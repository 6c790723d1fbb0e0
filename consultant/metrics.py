"""Prometheus metrics, computed from the database at scrape time.

Input: a session and the settings. Output: the text exposition format. The
numbers are rows counted now, not counters kept in one process, so they are
right whichever process (intake, worker, poller) did the work and survive
restarts. Every value is a gauge: rows leave a state as well as enter it (a
failed mail retried, a purge).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consultant.codes.releases import release_in_effect
from consultant.codes.status import code_status
from consultant.db.base import utcnow
from consultant.db.models import (
    Case,
    InboundMessage,
    InboundState,
    OutboundMessage,
    OutboundState,
)
from consultant.db.models.codes import RELEASE_KINDS
from consultant.review.cases import REVIEWABLE
from consultant.review.queue import review_queue
from consultant.settings import Settings
from consultant.supervise import supervision_state

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
INBOUND_FAILURES = (InboundState.QUARANTINED, InboundState.FAILED)
OUTBOX_FAILURES = (OutboundState.FAILED, OutboundState.BOUNCED)


def render_metrics(session: Session, settings: Settings) -> bytes:
    """Every metric, read now, in Prometheus's text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(list(collect(session, settings))))
    return generate_latest(registry)


def collect(session: Session, settings: Settings) -> Iterator[Metric]:
    """The metric families, each from one query."""
    yield _by_label(
        "consultant_mails_received",
        "Mails stored by the intakes, by source (smtp, imap:<mailbox>).",
        "source",
        _count_by(session, InboundMessage.source),
    )
    yield _by_label(
        "consultant_processing_failures",
        "Inbound mails a stage refused (quarantined) or failed on (failed), by state.",
        "state",
        _states(session, InboundMessage.state, INBOUND_FAILURES),
    )
    yield _by_label(
        "consultant_outbox_failures",
        "Outbox rows that could not be delivered (failed) or came back (bounced), by state.",
        "state",
        _states(session, OutboundMessage.state, OUTBOX_FAILURES),
    )
    yield from _backlog(session)
    yield from _review(session, settings)
    yield _by_label(
        "consultant_code_set_age_days",
        "Days since the effective date of the newest loaded release, by code set.",
        "kind",
        _code_set_ages(session, utcnow().date()),
    )
    yield _by_label(
        "consultant_code_set_overdue",
        "1 when a newer release of the code set than the newest loaded one should be out "
        "(its release calendar says so), else 0; by code set.",
        "kind",
        {
            kind.kind: float(bool(kind.warning))
            for kind in code_status(session, utcnow().date())
            if kind.loaded
        },
    )
    yield from _supervision(settings)


def _supervision(settings: Settings) -> Iterator[Metric]:
    """The children of `consultant up` on this var/ (none without one): restarts since
    `up` started, and 1 while each runs."""
    children = supervision_state(settings.var_dir)
    yield _by_label(
        "consultant_child_restarts",
        "Times `consultant up` restarted a child (worker, web, poller) that died, since it "
        "started; by child.",
        "child",
        {child["name"]: float(child["restarts"]) for child in children},
    )
    yield _by_label(
        "consultant_child_up",
        "1 while a child of `consultant up` runs, 0 while it waits to be restarted; by child.",
        "child",
        {child["name"]: float(bool(child["running"])) for child in children},
    )


def _backlog(session: Session) -> Iterator[Metric]:
    count, oldest = session.execute(
        select(func.count(), func.min(InboundMessage.received_at)).where(
            InboundMessage.state == InboundState.STORED
        )
    ).one()
    yield _gauge("consultant_backlog_mails", "Stored mails not processed yet.", count)
    yield _gauge(
        "consultant_backlog_oldest_seconds",
        "How long the oldest stored, unprocessed mail has waited (0: none waits).",
        _age(oldest),
    )


def _review(session: Session, settings: Settings) -> Iterator[Metric]:
    waiting = session.scalar(
        select(func.count()).select_from(Case).where(Case.state.in_([s.value for s in REVIEWABLE]))
    )
    yield _gauge(
        "consultant_drafts_waiting_review",
        "Cases drafted or in review, waiting for a reviewer.",
        waiting or 0,
    )
    first = review_queue(session, settings, limit=1)  # the earliest due comes first
    oldest_due = first[0].due_at if first else None
    yield _gauge(
        "consultant_oldest_due_case_seconds",
        "Seconds since the earliest-due open case fell due; negative: due in that many "
        "seconds; 0 when no case waits.",
        _age(oldest_due),
    )


def _count_by(session: Session, column: object) -> dict[str, float]:
    rows = session.execute(select(column, func.count()).group_by(column))  # type: ignore[call-overload]
    return {str(key): float(n) for key, n in rows}


def _states(session: Session, column: object, states: Iterable[str]) -> dict[str, float]:
    counted = _count_by(session, column)
    return {str(state): counted.get(str(state), 0.0) for state in states}


def _code_set_ages(session: Session, today: date) -> dict[str, float]:
    ages = {}
    for kind in RELEASE_KINDS:
        release = release_in_effect(session, kind)
        if release is not None:
            ages[kind] = float((today - release.effective).days)
    return ages


def _age(moment: datetime | None) -> float:
    return (utcnow() - moment).total_seconds() if moment is not None else 0.0


def _gauge(name: str, documentation: str, value: float) -> Metric:
    return GaugeMetricFamily(name, documentation, value=float(value))


def _by_label(name: str, documentation: str, label: str, values: dict[str, float]) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


class _Snapshot(Collector):
    """Hands the registry the families read for this scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return iter(self.families)
