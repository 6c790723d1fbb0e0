"""The three outcomes of a stage: done, Quarantine (the mail is the problem),
Transient (the world is the problem). Anything else is a bug.

Outside the pipeline: ReviewError (a reviewer's or operator's request refused)
with its kinds NotFound and Conflict, which each shell maps in one place (the
console and the API in consultant/web/refusals.py, the CLI in cli/common.py);
and, for the code file importers, CodeImportError and its ImportFormatError
(file, line, why)."""

from pathlib import Path


class Quarantine(Exception):
    """The mail itself cannot be handled; keep it, record why, move on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Transient(Exception):
    """A temporary failure outside the mail (server down, 4xx); retry later."""


class ReviewError(Exception):
    """A reviewer's request that cannot be carried out, with the reason: refused by
    a rule (the case's state, a placeholder left in the answer, an unwritable address)."""


class NotFound(ReviewError):
    """What the request names does not exist: a case reference, an outbound row."""


class Conflict(ReviewError):
    """Someone else changed the case or draft since the reviewer loaded it."""


class CodeImportError(Exception):
    """A code file that cannot be imported as asked (unknown release, unreadable file)."""


class ImportFormatError(CodeImportError):
    """A code file that is not in the layout it claims: where it broke, and why."""

    def __init__(self, path: Path, line: int | None, reason: str, *, unit: str = "line") -> None:
        where = f"{path.name} {unit} {line}" if line is not None else path.name
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason
