"""The real SMTP intake, started for a fuzz run over a migrated SQLite database.

Input: a var directory. Output: `running_intake(var_dir)`, a context manager
yielding an `Intake`: its settings (a free port, the size limit LIMIT), the
running controller, the inbound ids it enqueued (enqueue only records) and
the exceptions it logged (class and place only; the text may quote mail).
The controller stops and the log handler is removed on exit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from consultant.db.migrate import upgrade
from consultant.pipeline.intake.smtp import IntakeController, make_controller
from consultant.settings import Settings
from tests.fuzz.support.pipeline_fuzz import where
from tests.fuzz.support.smtp_replies import LIMIT
from tests.ports import free_port


class _Errors(logging.Handler):
    """Exceptions the intake logged (class and place only; the text may quote mail)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        self.seen.append(where(error) if error else f"{record.name}: error logged")


@dataclass(slots=True)
class Intake:
    settings: Settings
    controller: IntakeController
    enqueued: list[int]
    errors: _Errors


def intake_settings(var_dir: Path, port: int) -> Settings:
    return Settings(var_dir=var_dir, smtp_port=port, max_message_size=LIMIT)


@contextmanager
def running_intake(var_dir: Path) -> Iterator[Intake]:
    """The real SMTP intake over a migrated SQLite database; enqueue only records."""
    settings = intake_settings(var_dir, free_port())
    upgrade(settings)
    enqueued: list[int] = []
    errors = _Errors()
    loggers = [logging.getLogger(name) for name in ("consultant", "mail.log", "asyncio")]
    for logger in loggers:
        logger.addHandler(errors)
    controller = make_controller(settings, enqueued.append)
    controller.start()
    try:
        yield Intake(settings, controller, enqueued, errors)
    finally:
        controller.stop()
        for logger in loggers:
            logger.removeHandler(errors)
