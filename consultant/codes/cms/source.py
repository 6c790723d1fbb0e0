"""Reading one input file: lines (plain or gzip), CSV tables found by their
header, and the field checks every reader applies to every row.

Errors name the file, the 1-based line and the reason (`ImportFormatError`);
a gzip stream that ends early is reported at the line where it broke. Text is
UTF-8; a line that is not falls back to Windows-1252, as older CMS and AMA
text files are.
"""

from __future__ import annotations

import csv
import gzip
import math
import re
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from consultant.errors import ImportFormatError

# Procedure codes: CPT (incl. Category II/III, PLA, vaccine A and M codes) and HCPCS Level II.
PROCEDURE_CODE = re.compile(r"[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4}")
CPT_CODE = re.compile(r"[0-9]{4}[0-9FTU]")
HCPCS_CODE = re.compile(r"[A-Z][0-9]{4}")
MODIFIER = re.compile(r"[0-9A-Z]{2}")

# What a reader yields: table rows, in its table's column order, without release_id.
Rows = Generator[tuple[Any, ...], None, None]

_NOT_NAME = re.compile(r"[^0-9a-z]+")


def normalize(name: str) -> str:
    """A column name as compared: "Add-On_Code" and "add on code" are both add_on_code."""
    return _NOT_NAME.sub("_", name.strip().lower()).strip("_")


def is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


@contextmanager
def text_lines(path: Path) -> Iterator[Iterator[str]]:
    """Yield the file's decoded lines (gzip or plain), closing the file afterwards."""
    with path.open("rb") as raw:
        handle: BinaryIO | gzip.GzipFile = gzip.GzipFile(fileobj=raw) if is_gzip(path) else raw
        try:
            yield _decoded(path, handle)
        finally:
            handle.close()


def _decoded(path: Path, handle: Iterable[bytes]) -> Iterator[str]:
    number = 0
    try:
        for number, raw in enumerate(handle, 1):  # noqa: B007  (read after the loop)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                yield raw.decode("cp1252", errors="replace")
    except (EOFError, OSError, zlib.error) as error:
        # gzip raises EOFError for a stream cut short, BadGzipFile (an OSError)
        # or zlib.error for damaged data: all mean the file broke at this line.
        raise ImportFormatError(
            path, number + 1, f"the file is damaged or truncated ({error})"
        ) from error
    if number == 0:
        raise ImportFormatError(path, None, "the file is empty")


class CsvRows:
    """csv.reader over a file's lines whose csv.Error carries the file and line."""

    def __init__(self, path: Path, lines: Iterator[str], delimiter: str) -> None:
        self.path = path
        self.reader = csv.reader(lines, delimiter=delimiter)

    @property
    def line(self) -> int:
        """The line the last row read ended on (1-based)."""
        return int(self.reader.line_num)

    def __iter__(self) -> Iterator[list[str]]:
        return self

    def __next__(self) -> list[str]:
        try:
            return next(self.reader)
        except csv.Error as error:
            raise ImportFormatError(self.path, self.line, str(error)) from error


@dataclass
class CsvTable:
    """A CSV file positioned after its header row, with its columns located."""

    path: Path
    rows: CsvRows = field(repr=False)
    header: list[str]
    index: dict[str, int]  # canonical column name -> position

    @property
    def line(self) -> int:
        return self.rows.line

    def records(self) -> Iterator[list[str]]:
        """The rows that are not blank, each checked to have every column of the header."""
        width = len(self.header)
        try:
            for row in self.rows.reader:  # the bare reader: this loop runs millions of times
                if len(row) < width:
                    if not any(field.strip() for field in row):
                        continue
                    raise self.short(row)
                yield row
        except csv.Error as error:
            raise ImportFormatError(self.path, self.line, str(error)) from error

    def short(self, row: list[str]) -> ImportFormatError:
        """The error for a row with fewer fields than the header."""
        return ImportFormatError(
            self.path,
            self.line,
            f"{len(row)} fields where the header has {len(self.header)}; the row is cut short",
        )

    def name(self, column: str) -> str:
        """The file's own name for a column, for messages."""
        return self.header[self.index[column]].strip()


@contextmanager
def csv_table(
    path: Path,
    columns: Mapping[str, Sequence[str]],
    *,
    optional: Sequence[str] = (),
    search: int = 1,
    delimiter: str = ",",
) -> Iterator[CsvTable]:
    """Open a CSV file whose header (within its first `search` lines) names `columns`.

    `columns` maps each canonical name to the other names files use for it
    (compared normalized); the names in `optional` may be missing.
    """
    with text_lines(path) as lines:
        rows = CsvRows(path, lines, delimiter)
        missing = [c for c in columns if c not in optional]
        for _ in range(search):
            header = next(rows, None)
            if header is None:
                break
            index = locate(header, columns)
            missing = [c for c in columns if c not in index and c not in optional]
            if not missing:
                yield CsvTable(path, rows, header, index)
                return
        if search == 1:
            raise ImportFormatError(path, 1, f"the header lacks {', '.join(missing)}")
        raise ImportFormatError(
            path, None, f"no header naming {', '.join(missing)} in the first {search} lines"
        )


def locate(header: list[str], columns: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Where each of `columns` (or one of its other names) is in the header."""
    names = {normalize(name): position for position, name in enumerate(header)}
    found: dict[str, int] = {}
    for column, aliases in columns.items():
        for alias in (column, *aliases):
            if (position := names.get(normalize(alias))) is not None:
                found[column] = position
                break
    return found


def choices(allowed: Sequence[str]) -> str:
    """The allowed values as a message says them: "0, 1 or 9"."""
    shown = [a or "empty" for a in allowed]
    return ", ".join(shown[:-1]) + " or " + shown[-1] if len(shown) > 1 else shown[0]


class Checks:
    """Field checks for one file, raising ImportFormatError at the current line.

    Codes and dates repeat on most lines of an edit file, so the values already
    accepted are remembered and not parsed again.
    """

    def __init__(self, path: Path, unit: str = "line") -> None:
        self.path = path
        self.unit = unit
        self.line = 0
        # Where the reader is, asked only when a check fails; else `line`, set per row.
        self.line_of: Callable[[], int] | None = None
        self._codes: dict[re.Pattern[str], set[str]] = {}
        self._dates: dict[str, date] = {}
        self._julian: dict[str, date] = {}

    def error(self, reason: str) -> ImportFormatError:
        line = self.line_of() if self.line_of is not None else self.line
        return ImportFormatError(self.path, line, reason, unit=self.unit)

    def code(
        self, value: str, column: str, pattern: re.Pattern[str] = PROCEDURE_CODE, what: str = ""
    ) -> str:
        known = self._codes.setdefault(pattern, set())
        if value in known:
            return value
        if not pattern.fullmatch(value):
            raise self.error(f"{column} {value!r} is not {what or 'a CPT or HCPCS code'}")
        known.add(value)
        return value

    def ymd(self, value: str, column: str) -> date | None:
        """A YYYYMMDD date; empty is None."""
        if not value:
            return None
        if (known := self._dates.get(value)) is not None:
            return known
        try:
            if len(value) != 8 or not value.isdigit():
                raise ValueError
            parsed = date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            raise self.error(f"{column} {value!r} is not a date (YYYYMMDD)") from None
        self._dates[value] = parsed
        return parsed

    def julian(self, value: str, column: str) -> date | None:
        """A YYYYDDD date (2020001 is 2020-01-01); empty is None."""
        if not value:
            return None
        if (known := self._julian.get(value)) is not None:
            return known
        try:
            if len(value) != 7 or not value.isdigit():
                raise ValueError
            year, day = int(value[:4]), int(value[4:])
            parsed = date(year, 1, 1) + timedelta(days=day - 1)
            if day < 1 or parsed.year != year:
                raise ValueError
        except (ValueError, OverflowError):
            raise self.error(f"{column} {value!r} is not a Julian date (YYYYDDD)") from None
        self._julian[value] = parsed
        return parsed

    def choice(self, value: str, column: str, allowed: Sequence[str]) -> str:
        if value not in allowed:
            raise self.error(f"{column} {value!r} is not {choices(allowed)}")
        return value

    def integer(self, value: str, column: str) -> int:
        if not (value.isascii() and value.isdigit()):
            raise self.error(f"{column} {value!r} is not a whole number")
        return int(value)

    def number(self, value: str, column: str) -> float | None:
        """A decimal number; empty is None."""
        if not value:
            return None
        try:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
        except ValueError:
            raise self.error(f"{column} {value!r} is not a number") from None
        return number

    def text(self, value: str, column: str, longest: int) -> str:
        if len(value) > longest:
            raise self.error(f"{column} {value[:40]!r}… is longer than {longest} characters")
        return value
