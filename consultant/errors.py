"""The three outcomes of a stage: done, Quarantine (the mail is the problem),
Transient (the world is the problem). Anything else is a bug.

Outside the pipeline: Refused, a person's request (a reviewer's, an admin's, an
operator's) that a rule refuses, with the reason; its kinds NotFound and
Conflict, and the refusals of the account, reviewer and retention rules
(AccountError, ReviewerError, RetentionError) and the header module
(HeaderError). Each shell maps them in one place: the console and the API to
an HTTP status in consultant/web/refusals.py, the CLI to a one-line message
and exit status 1 in consultant/cli/common.py. And, for the code file
importers, CodeImportError and its ImportFormatError
(file, line, why)."""

from pathlib import Path


class Quarantine(Exception):
    """The mail itself cannot be handled; keep it, record why, move on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Transient(Exception):
    """A temporary failure outside the mail (server down, 4xx); retry later."""


class Refused(Exception):
    """A request that cannot be carried out, with the reason: refused by a rule (the
    case's state, a placeholder left in the answer, an unwritable address, a plan
    the plans file does not define, a password too short)."""


class NotFound(Refused):
    """What the request names does not exist: a case reference, an outbound row."""


class Conflict(Refused):
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
