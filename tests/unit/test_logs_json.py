"""CONSULTANT_LOG_FORMAT=json: one JSON object per line, with the case when there is one."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest

from consultant.logs import JsonFormatter, case_context, setup_logging


@pytest.fixture
def root_restored() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield
    root.handlers[:], level = saved
    root.setLevel(level)


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            info = sys.exc_info()
    return logging.LogRecord("consultant.test", logging.WARNING, __file__, 1, message, args, info)


def test_a_line_is_one_json_object_with_time_level_logger_and_message() -> None:
    line = JsonFormatter().format(record("inbound %s quarantined: %s", 42, "loop"))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "consultant.test"
    assert entry["message"] == "inbound 42 quarantined: loop"
    assert entry["time"].endswith("+00:00") and "T" in entry["time"]
    assert "case" not in entry  # outside a case


def test_the_case_reference_of_the_context_is_included() -> None:
    with case_context("CC-2026-000042"):
        entry = json.loads(JsonFormatter().format(record("drafted")))
    assert entry["case"] == "CC-2026-000042"


def test_an_exception_stays_inside_the_one_line() -> None:
    line = JsonFormatter().format(record("failed", exc=True))
    assert len(line.splitlines()) == 1
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_setup_logging_with_json_writes_json_to_stderr(
    root_restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("INFO", None, "json")
    with case_context("CC-2026-000007"):
        logging.getLogger("consultant.deploy").info("sent %d answers", 3)
    (line,) = capsys.readouterr().err.strip().splitlines()
    entry = json.loads(line)
    assert entry["message"] == "sent 3 answers" and entry["case"] == "CC-2026-000007"
