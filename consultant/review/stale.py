"""Redraft after new code data: open cases drafted without it are drafted again.

Input: the settings; run by the worker after `consultant codes import` or
`codes load`, and by every sweep. Output: for each open, unclaimed case whose
newest draft is the system's and was made with other code releases than those
that apply to its date of service now (or records none: drafted before drafts
said), a new system version through `redraft` (audited `case.redrafted`, actor
"system"). Left alone: a case with a reviewer's version (their words win), a
case a reviewer has claimed (theirs to redraft with the console's button), and
a draft without codes (it used no code data). Each case has its own
transaction, so one failure does not stop the rest; at most BATCH a run.

State: per process and database, the data stamp (count and newest id of the
releases) of the last complete run. While it is unchanged a run is one small
query, so the sweep can call this every tick; a run that left cases to do
(more than BATCH, or failures) is not complete, and the next one goes on.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import islice

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from consultant.codes.in_effect import data_stamp, still_in_effect
from consultant.codes.kinds import PRACTITIONER
from consultant.db.models import Case, Draft
from consultant.db.session import session_scope
from consultant.errors import Refused
from consultant.logs import case_context
from consultant.review.cases import REVIEWABLE, get_case, latest_draft
from consultant.review.redraft import SYSTEM, redraft
from consultant.settings import Settings

log = logging.getLogger(__name__)

BATCH = 200

_lock = threading.Lock()
_done: dict[str, tuple[int, int]] = {}  # database: the data stamp of its last complete run


@dataclass(frozen=True, slots=True)
class StaleRun:
    """What one run did: the cases redrafted, those left alone meanwhile, the failures."""

    redrafted: tuple[str, ...] = ()
    skipped: int = 0  # a reviewer claimed, edited or closed it since the scan
    failed: int = 0
    complete: bool = True  # nothing left to do for the data loaded now


def redraft_stale(settings: Settings, batch: int = BATCH) -> StaleRun:
    """Redraft up to `batch` open system drafts made with other code data than now."""
    with session_scope(settings) as session:
        stamp = data_stamp(session)
        database = str(session.connection().engine.url)  # str() masks a password
        with _lock:
            if _done.get(database) == stamp:
                return StaleRun()
        refs = list(islice(stale_cases(session), batch + 1))
    redrafted, skipped, failed = [], 0, 0
    for ref in refs[:batch]:
        outcome = _redraft_one(settings, ref)
        redrafted += [ref] if outcome == "redrafted" else []
        skipped += outcome == "skipped"
        failed += outcome == "failed"
    complete = len(refs) <= batch and not failed
    if complete:
        with _lock:
            _done[database] = stamp
    return StaleRun(tuple(redrafted), skipped, failed, complete)


def stale_cases(session: Session) -> Iterator[str]:
    """The refs of open, unclaimed cases whose newest draft is a stale system draft."""
    newer = aliased(Draft)
    query = (
        select(Case.ref, Draft.lookup)
        .join(Draft, Draft.case_id == Case.id)
        .where(
            Case.state.in_(REVIEWABLE),
            Case.assignee_id.is_(None),
            Draft.author == SYSTEM,
            Draft.lookup.is_not(None),
            ~exists().where(newer.case_id == Draft.case_id, newer.version > Draft.version),
        )
        .order_by(Case.id)
    )
    for ref, lookup in session.execute(query):
        if ref and is_stale(session, lookup):
            yield ref


def is_stale(session: Session, lookup: str | None) -> bool:
    """Whether a draft's lookup was made with other releases than apply now."""
    if lookup is None:
        return False  # no codes: no code data was used
    sheet = json.loads(lookup)
    if "codes" not in sheet:
        return False  # a mail without codes: only the policy rules its words call for
    recorded = sheet.get("data")
    if recorded is None:
        return True  # drafted before drafts recorded their data
    on, setting = date.fromisoformat(sheet["dos"]), sheet.get("setting", PRACTITIONER)
    return not still_in_effect(recorded, session, on, setting)


def _redraft_one(settings: Settings, ref: str) -> str:
    """Redraft one case in its own transaction if it is still stale; say what happened."""
    with case_context(ref):
        try:
            with session_scope(settings) as session:
                draft = latest_draft(session, get_case(session, ref).id)
                if draft is None or draft.author != SYSTEM or not is_stale(session, draft.lookup):
                    return "skipped"
                redraft(session, settings, ref, SYSTEM)
        except Refused:
            return "skipped"  # claimed, edited or closed since the scan: theirs now
        except Exception as error:  # one case must not stop the rest; never its text
            log.warning("%s could not be redrafted (%s)", ref, type(error).__name__)
            return "failed"
    log.info("%s redrafted with the code data loaded now", ref)
    return "redrafted"


def forget() -> None:
    """Forget the runs done (tests that load code data between runs)."""
    with _lock:
        _done.clear()
