"""The answer memory on the production profile (PostgreSQL: the tsvector column and
its GIN index): the tests of tests/unit/memory/test_memory.py, collected here with
a `migrated` of this module's, a scratch database per test (they load code
releases, which the session's shared test database would keep)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from consultant.settings import Settings
from tests.conftest import set_env
from tests.integration.conftest import scratch_pg
from tests.unit.memory.test_memory import (  # noqa: F401  (collected again, on PostgreSQL)
    test_a_paragraph_is_stale_once_a_rule_it_cited_was_edited,
    test_a_paragraph_is_stale_once_newer_data_changed_the_verdict,
    test_a_purged_case_leaves_memory_and_search,
    test_an_approved_paragraph_is_offered_for_the_same_pair_only,
    test_fts_syntax_in_the_words_never_errors,
    test_search_finds_by_word_and_code_and_filters_by_date,
)


@pytest.fixture
def migrated(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """PostgreSQL in place of the unit tests' SQLite, migrated to head."""
    with scratch_pg("memory") as scratch:
        settings = set_env(monkeypatch, env, database_url=scratch.database_url)
        assert settings.database_url.startswith("postgresql")
        yield settings
