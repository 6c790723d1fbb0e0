"""Which release of each kind applies on a date, from a per-process cache.

The lookup stage asks this for every mail, so the `code_releases` rows (a few
dozen at most) are read once and kept per database; the cache key is a cheap
query (count and newest id of the rows), so a release imported or replaced by
another process is seen at the next lookup. The choice per kind is the one
`consultant.codes.releases.release_in_effect` makes: the newest release in
effect on the date, else the oldest there is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consultant.codes.facts import Source
from consultant.codes.kinds import (
    DME,
    HOSPITAL,
    MUE,
    MUE_DME,
    MUE_HOSPITAL,
    NCCI_PTP,
    NCCI_PTP_HOSPITAL,
    PRACTITIONER,
    SETTINGS,
)
from consultant.codes.naming import next_release
from consultant.db.models.codes import CodeRelease

# The files a claim of each setting is checked against in place of the
# practitioner ones, when they are loaded: CMS publishes PTP edits for
# practitioners and for hospital outpatient claims, and MUE tables for
# practitioner, facility outpatient hospital and DME supplier services.
SETTING_KINDS = {
    HOSPITAL: {NCCI_PTP: NCCI_PTP_HOSPITAL, MUE: MUE_HOSPITAL},
    DME: {MUE: MUE_DME},
}


@dataclass(frozen=True, slots=True)
class ReleaseInfo:
    """A loaded release, detached from any session."""

    id: int
    kind: str
    label: str
    effective: date
    source_file: str

    def source(self, dos: date) -> Source:
        """The Source for facts from this release, saying when it does not cover `dos`:
        it starts after it, or its kind's next release was due on or before it."""
        note = ""
        if self.effective > dos:
            note = f"in effect from {self.effective.isoformat()}, after the date of service"
        elif (due := next_release(self.kind, self.effective)) <= dos:
            end = (due - timedelta(days=1)).isoformat()
            note = f"covers {self.effective.isoformat()} to {end}, before the date of service"
        return Source(self.kind, self.label, self.effective, self.source_file, note)

    def as_json(self) -> dict[str, object]:
        """The release as a draft records it: enough to tell whether it is still the one."""
        return {
            "kind": self.kind,
            "label": self.label,
            "effective": self.effective.isoformat(),
            "release_id": self.id,
        }


_lock = threading.Lock()
_cache: dict[str, tuple[tuple[int, int], tuple[ReleaseInfo, ...]]] = {}
_R = CodeRelease.__table__.c
_KEY = select(func.count(), func.max(_R.id))
_ALL = select(_R.id, _R.kind, _R.label, _R.effective, _R.source_file)
_KEPT = "consultant.code_releases"  # session.info key: (transaction, releases)


def all_releases(session: Session) -> tuple[ReleaseInfo, ...]:
    """Every loaded release, re-read only when `code_releases` changed.

    The answer is kept for the rest of the session's transaction too, so the
    extractor and the lookup of one mail check the cache key once.
    """
    transaction = session.get_transaction()
    kept = session.info.get(_KEPT)
    if kept is not None and transaction is not None and kept[0] is transaction:
        return cast(tuple[ReleaseInfo, ...], kept[1])
    releases = _all_releases(session)
    session.info[_KEPT] = (session.get_transaction(), releases)
    return releases


def data_stamp(session: Session) -> tuple[int, int]:
    """How many releases are loaded and the newest id: changes with every import.

    A replacement inserts its release before deleting the old one, so even a
    release replaced by one of the same kind and date changes the stamp.
    """
    count, newest = session.connection().execute(_KEY).one()
    return int(count or 0), int(newest or 0)


def _all_releases(session: Session) -> tuple[ReleaseInfo, ...]:
    connection = session.connection()
    key = data_stamp(session)
    database = str(connection.engine.url)  # str() masks a password
    with _lock:
        cached = _cache.get(database)
    if cached is not None and cached[0] == key:
        return cached[1]
    releases = tuple(ReleaseInfo(*row) for row in connection.execute(_ALL))
    with _lock:
        _cache[database] = (key, releases)
    return releases


def releases_in_effect(
    session: Session, on: date, setting: str = PRACTITIONER
) -> dict[str, ReleaseInfo]:
    """The release of each loaded kind that applies on `on` to a claim in `setting`."""
    return for_setting(choose(all_releases(session), on), setting)


def for_setting(chosen: dict[str, ReleaseInfo], setting: str) -> dict[str, ReleaseInfo]:
    """The releases a claim in `setting` is checked against, keyed by the
    practitioner kinds (NCCI_PTP, MUE) whichever setting's file they are: the
    setting's own edits where loaded, else the practitioner ones (the answer then
    says the setting's edits were not checked)."""
    releases = {
        kind: release
        for kind, release in chosen.items()
        if SETTINGS.get(kind, PRACTITIONER) == PRACTITIONER
    }
    for kind, own in SETTING_KINDS.get(setting, {}).items():
        if own in chosen:
            releases[kind] = chosen[own]
    return releases


def choose(releases: tuple[ReleaseInfo, ...], on: date) -> dict[str, ReleaseInfo]:
    """Per kind: the newest release effective on or before `on`, else the oldest one."""
    chosen: dict[str, ReleaseInfo] = {}
    for release in sorted(releases, key=lambda r: (r.effective, r.id)):
        current = chosen.get(release.kind)
        if current is None or release.effective <= on:
            chosen[release.kind] = release
    return chosen


def made_with(releases: dict[str, ReleaseInfo]) -> list[dict[str, object]]:
    """What a draft records of the releases it was made with, one entry per kind."""
    return [releases[kind].as_json() for kind in sorted(releases)]


def still_in_effect(
    recorded: list[dict[str, object]], session: Session, on: date, setting: str = PRACTITIONER
) -> bool:
    """Whether the releases a draft recorded are those that apply on `on` now."""
    now = releases_in_effect(session, on, setting)
    return {str(r["kind"]): r["release_id"] for r in recorded} == {
        release.kind: release.id for release in now.values()
    }


def forget_kept(session: Session) -> None:
    """Drop the releases kept for the session's transaction (a release is being added)."""
    session.info.pop(_KEPT, None)


def forget() -> None:
    """Drop the cached releases (tests that load and unload sets)."""
    with _lock:
        _cache.clear()
