from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from consultant.accounts import (
    DEFAULT_PLANS,
    AccountError,
    Plan,
    Standing,
    load_plans,
    month_start,
    normalize_address,
)
from consultant.settings import Settings
from tests.conftest import REPO


@pytest.fixture
def make_settings(env: dict[str, str]) -> Any:
    """Settings built from keyword arguments over a clean environment."""
    return lambda **values: Settings(**values)


def _plans_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plans.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _refusal(settings: Settings) -> str:
    with pytest.raises(AccountError) as raised:
        load_plans(settings)
    return str(raised.value)


def test_built_in_plans_equal_config_plans_yaml(make_settings: Any) -> None:
    assert load_plans(make_settings()) == DEFAULT_PLANS
    shipped = make_settings(plans_file=REPO / "config" / "plans.yaml")
    assert load_plans(shipped) == DEFAULT_PLANS


def test_a_custom_plans_file_replaces_the_built_in_plans(
    make_settings: Any, tmp_path: Path
) -> None:
    path = _plans_file(
        tmp_path,
        "plans:\n"
        "  guest: {monthly_quota: 0}\n"
        "  team-10:\n    monthly_quota: 10\n    description: Ten a month\n"
        "  enterprise:\n",
    )
    plans = load_plans(make_settings(plans_file=path, default_plan="team-10"))
    assert plans == {
        "guest": Plan("guest", 0),
        "team-10": Plan("team-10", 10, "Ten a month"),
        "enterprise": Plan("enterprise", None),
    }


def test_an_edited_plans_file_is_read_again(make_settings: Any, tmp_path: Path) -> None:
    path = _plans_file(
        tmp_path, "plans:\n  guest: {monthly_quota: 1}\n  free: {monthly_quota: 5}\n"
    )
    settings = make_settings(plans_file=path)
    assert load_plans(settings)["free"].monthly_quota == 5
    path.write_text("plans:\n  guest: {monthly_quota: 1}\n  free: {monthly_quota: 7}\n")
    later = path.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(later, later))
    assert load_plans(settings)["free"].monthly_quota == 7


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("plans:\n  free: [monthly_quota: 5\n", "is not valid YAML (line"),
        ("- free\n- paid\n", "must hold a mapping of plans under 'plans:'"),
        ("plans:\n", "must hold a mapping of plans under 'plans:'"),
        ("plans:\n  free: {monthly_quota: -1}\n", "monthly_quota must be a whole number >= 0"),
        ("plans:\n  free: {monthly_quota: 2.5}\n", "monthly_quota must be a whole number >= 0"),
        ("plans:\n  free: {monthly_quota: yes}\n", "monthly_quota must be a whole number >= 0"),
        ("plans:\n  free: {monthly_quota: five}\n", "monthly_quota must be a whole number >= 0"),
        ("plans:\n  Free: {monthly_quota: 5}\n", "plan name 'Free' is not 1-40 of a-z"),
        ("plans:\n  free: {quota: 5}\n", "plan free: unknown setting quota"),
        ("plans:\n  free: 5\n", "plan free: expected monthly_quota, sla_hours and description"),
    ],
)
def test_a_malformed_plans_file_is_refused_naming_file_and_problem(
    make_settings: Any, tmp_path: Path, text: str, reason: str
) -> None:
    path = _plans_file(tmp_path, text)
    message = _refusal(make_settings(plans_file=path))
    assert str(path) in message and reason in message
    assert "\n" not in message


def test_a_missing_plans_file_is_refused(make_settings: Any, tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    assert f"cannot read plans file {path}" in _refusal(make_settings(plans_file=path))


def test_the_default_plan_must_exist(make_settings: Any, tmp_path: Path) -> None:
    assert "CONSULTANT_DEFAULT_PLAN is 'gold', which the built-in plans does not define" in (
        _refusal(make_settings(default_plan="gold"))
    )
    path = _plans_file(tmp_path, "plans:\n  guest: {monthly_quota: 1}\n  paid:\n")
    message = _refusal(make_settings(plans_file=path))
    assert f"'free', which plans file {path} does not define (plans: guest, paid)" in message


def test_a_guest_plan_is_needed_only_when_unknown_senders_are_guests(
    make_settings: Any, tmp_path: Path
) -> None:
    path = _plans_file(tmp_path, "plans:\n  free: {monthly_quota: 5}\n")
    message = _refusal(make_settings(plans_file=path, unknown_sender="guest"))
    assert f"plans file {path} defines no 'guest' plan" in message
    assert "CONSULTANT_UNKNOWN_SENDER=guest" in message
    assert list(load_plans(make_settings(plans_file=path, unknown_sender="hold"))) == ["free"]


@pytest.mark.parametrize(
    ("now", "start"),
    [
        (datetime(2026, 11, 29, 13, 5, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),
        (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
        # 00:30 on 1 December in UTC+2 is still November in UTC.
        (
            datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))),
            datetime(2026, 11, 1, tzinfo=UTC),
        ),
    ],
)
def test_month_start_is_the_first_instant_of_the_utc_month(now: datetime, start: datetime) -> None:
    assert month_start(now) == start
    assert month_start(now).tzinfo is UTC


def test_month_start_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        month_start(datetime(2026, 11, 29))


@pytest.mark.parametrize(
    ("given", "stored"),
    [("Ann@Example.ORG", "ann@example.org"), ("  bob@example.org\n", "bob@example.org")],
)
def test_addresses_are_stored_lower_case(given: str, stored: str) -> None:
    assert normalize_address(given) == stored


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("ann.example.org", "one @ between two parts"),
        ("ann@@example.org", "one @ between two parts"),
        ("a@b@example.org", "one @ between two parts"),
        ("@example.org", "one @ between two parts"),
        ("ann@", "one @ between two parts"),
        ("", "one @ between two parts"),
        ("ann smith@example.org", "contains a space"),
        ("ann@exa\tmple.org", "contains a space"),
        ("a" * 310 + "@example.org", "longer than 320 characters"),
    ],
)
def test_malformed_addresses_are_refused_with_the_reason(given: str, reason: str) -> None:
    with pytest.raises(AccountError, match=reason):
        normalize_address(given)


def test_an_address_of_exactly_320_characters_is_accepted() -> None:
    address = "a" * 308 + "@example.org"
    assert len(address) == 320 and normalize_address(address) == address


def test_standing_is_exhausted_only_with_nothing_remaining() -> None:
    free, paid = DEFAULT_PLANS["free"], DEFAULT_PLANS["paid"]
    assert Standing(free, 5, 0).exhausted
    assert not Standing(free, 4, 1).exhausted
    assert not Standing(paid, 1000, None).exhausted
