"""Redraft after import: a draft records the code releases it was made with, and
open system drafts made with other data are drafted again when new data come."""

from __future__ import annotations

import json

from sqlalchemy import select

from consultant.db.models import Draft
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.unit.web.conftest import ask


def _made_with(settings: Settings) -> list[object]:
    """The "data" of every draft that has a lookup, oldest first."""
    with session_scope(settings) as session:
        sheets = session.scalars(select(Draft.lookup).order_by(Draft.id))
        return [json.loads(sheet)["data"] for sheet in sheets if sheet is not None]


def test_a_draft_names_the_code_data_it_was_made_with(
    console_db: Settings, drafted_without_data: str
) -> None:
    ask(console_db, 2)  # drafted after the fee schedule was imported
    before, after = _made_with(console_db)
    print(before, after)
    assert before == []
    assert after == [
        {"kind": "pfs", "label": "July 2024", "effective": "2024-07-01", "release_id": 1}
    ]
