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
        # Unencoded characters a URL parser takes for the end of the user part.
        ("postgresql://u:pa#ss@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:pa?ss@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:pa/ss@h/db", "postgresql://u:***@h/db"),
        ("amqp://u:a/b?c#d@e@h:5672//", "amqp://u:***@h:5672//"),
        # Passwords given as query parameters.
        ("postgresql://u@h/db?password=s3cret", "postgresql://u@h/db?password=***"),
        (
            "postgresql://u@h/db?sslmode=require&PASSWORD=s3cret&connect_timeout=5",
            "postgresql://u@h/db?sslmode=require&PASSWORD=***&connect_timeout=5",
        ),
        ("postgresql://u@h/db?sslpassword=k3y", "postgresql://u@h/db?sslpassword=***"),
    ],
)
def test_a_url_with_a_password_shows_stars_instead(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////srv/var/consultant.sqlite3",
        "redis://h:6379/0",
        "postgresql://u@h/db",
        "postgresql://u@h/db?sslmode=require",
    ],
)
def test_a_url_without_a_password_is_shown_as_it_is(url: str) -> None:
    assert redact_url(url) == url


@pytest.mark.parametrize(
    "secret", ["s3cret", "pa#ss", "pa?ss", "pa/ss", "a/b?c#d@e", "p@ss:w0rd", "x;y&z"]
)
def test_no_part_of_a_password_survives(secret: str) -> None:
    for template in ("postgresql://user:{}@db.internal/app", "redis://:{}@cache:6379/0"):
        assert secret not in redact_url(template.format(secret))
