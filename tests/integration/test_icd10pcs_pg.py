"""ICD-10-PCS loaded on PostgreSQL, and looked up: the production profile's copy of
tests/unit/codes/test_icd10pcs.py."""

from __future__ import annotations

from datetime import date

import pytest

from consultant.codes.icd10pcs import load_icd10pcs
from consultant.db.session import session_scope
from consultant.pipeline.extract import find_codes
from consultant.pipeline.lookup import look_up
from tests.integration.conftest import scratch_pg

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def test_icd10pcs_loads_once_and_states_each_characters_meaning() -> None:
    with scratch_pg("consultant_pcs") as settings:
        with session_scope(settings) as session:
            first = load_icd10pcs(session)
        with session_scope(settings) as session:
            again = load_icd10pcs(session)
        assert (first.rows, first.label, again.already_loaded) == (68_367, "FY2025", True)
        with session_scope(settings) as session:
            report = look_up(session, find_codes("PCS 0FT44ZZ, BW03ZZZ"), dos=date(2025, 1, 2))
        found = {code.code: code for code in report.codes}
        assert found["0FT44ZZ"].status == "valid"
        assert "character 4 (body part) 4: Gallbladder" in [f.text for f in found["0FT44ZZ"].facts]
        assert found["BW03ZZZ"].status == "unchecked"
        assert report.not_loaded == ()
