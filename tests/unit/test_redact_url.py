"""Database and broker URLs are printed and logged without their passwords."""

from __future__ import annotations

import pytest

from consultant.logs import redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://u:s3cret@h/db", "postgresql+psycopg://u:***@h/db"),
        ("redis://:s3cret@h:6379/0", "redis://:***@h:6379/0"),
        ("rediss://u:p@ss:w0rd@h:6380/1", "rediss://u:***@h:6380/1"),
        ("postgresql://u:s3cret@[::1]:5432/db", "postgresql://u:***@[::1]:5432/db"),
    ],
)
def test_a_url_with_a_password_shows_stars_instead(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    "url", ["sqlite:////srv/var/consultant.sqlite3", "redis://h:6379/0", "postgresql://u@h/db"]
)
def test_a_url_without_a_password_is_shown_as_it_is(url: str) -> None:
    assert redact_url(url) == url
