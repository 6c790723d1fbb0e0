"""The resource-limit settings: defaults, and what they refuse."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from consultant.settings import Settings
from workers.app import celery_config


def test_a_hard_time_limit_not_longer_than_the_soft_one_is_refused(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="TASK_TIME_LIMIT must be longer"):
        Settings(task_soft_time_limit=60, task_time_limit=60)


def test_celery_gets_both_time_limits(settings: Settings) -> None:
    config = celery_config(Settings(task_soft_time_limit=30, task_time_limit=45))
    assert (config["task_soft_time_limit"], config["task_time_limit"]) == (30, 45)
