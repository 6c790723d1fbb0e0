"""Logging setup and the context (case reference) carried into every line.

Message bodies are never logged: coding questions can carry patient data.
Addresses are shortened by `redact_address` wherever they appear in logs.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

import yaml

case_ref_var: ContextVar[str] = ContextVar("case_ref", default="-")

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(case_ref)s] %(message)s"


class ContextFilter(logging.Filter):
    """Put the current case reference on every record as ``case_ref``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "case_ref"):
            record.case_ref = case_ref_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, case (when in one).

    The message is the formatted log call, as in the plain format: what the
    code chose to log, never a mail body (that rule is the caller's).
    """

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        case_ref = getattr(record, "case_ref", None) or case_ref_var.get()
        if case_ref != "-":
            entry["case"] = case_ref
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


@contextmanager
def case_context(ref: str) -> Iterator[None]:
    """Tag log lines emitted inside the block with the case reference."""
    token = case_ref_var.set(ref)
    try:
        yield
    finally:
        case_ref_var.reset(token)


def redact_address(address: str) -> str:
    """Shorten an address for logs: ``jane.doe@clinic.org`` -> ``j***@clinic.org``."""
    local, at, domain = address.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def redact_url(url: str) -> str:
    """A URL fit to print: its password, if any, replaced by ***.

    ``postgresql+psycopg://u:s3cret@h/db`` -> ``postgresql+psycopg://u:***@h/db``.

    Passwords are often pasted unencoded, so ``/``, ``?``, ``#`` and ``@`` may
    sit inside one; a URL parser would end the user part early and print the
    rest. The password here runs from the first ``:`` of the user part to the
    last ``@``, which hides too much of an odd URL rather than too little.
    A ``password=`` (or other ``…pass…``) query parameter is hidden too.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    stop = re.search(r"[:/@]", rest)
    if stop is not None and stop.group() == ":" and "@" in rest[stop.end() :]:
        at = rest.rindex("@")
        rest = f"{rest[: stop.end()]}***{rest[at:]}"
    return f"{scheme}://{_SECRET_PARAM.sub(_HIDDEN, rest)}"


_SECRET_PARAM = re.compile(r"([?&;][^?&;=#]*(?:pass|secret|token)[^?&;=#]*=)[^&;#]*", re.I)
_HIDDEN = r"\1***"


def setup_logging(
    level: str = "INFO", config_file: Path | None = None, log_format: str = "plain"
) -> None:
    """Configure logging from a dictConfig YAML file, or stderr in `log_format` (plain, json)."""
    if config_file is not None:
        logging.config.dictConfig(yaml.safe_load(config_file.read_text(encoding="utf-8")))
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(FORMAT))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiosmtpd logs every connection at INFO, peers included; we log what matters.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    # imapclient logs whole protocol lines at DEBUG, mail content included.
    logging.getLogger("imapclient").setLevel(logging.WARNING)
