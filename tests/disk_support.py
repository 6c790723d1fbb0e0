"""A full disk for tests, portably: the SQLite database held at its present size.

`capped(settings)` makes every new connection of this process's engine set
`PRAGMA max_page_count` to the database's present size, so any write that needs a
new page fails with SQLITE_FULL ("database or disk is full"), as on a full disk;
leaving it lifts the cap. `padded_mail(n)` is a distinct question too large to
fit in the free room of the pages already there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url

from consultant.db.session import dispose_engines, get_engine
from consultant.settings import Settings
from tests.conftest import mail_bytes

PAD = 3 * 4096  # more than two SQLite pages: it cannot fit in a page's free room


def database_file(settings: Settings) -> Path:
    database = make_url(settings.database_url).database
    assert database
    return Path(database)


@contextmanager
def capped(settings: Settings) -> Iterator[None]:
    """While inside, the database of `settings` cannot grow (in this process)."""
    dispose_engines()
    # Free pages would take a write or two before the cap bites: give them back.
    with sqlite3.connect(database_file(settings), isolation_level=None) as connection:
        connection.execute("VACUUM")
    connection.close()
    engine = get_engine(settings)

    def cap(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA max_page_count=1")  # SQLite keeps its present size instead
        cursor.close()

    event.listen(engine, "connect", cap)
    try:
        yield
    finally:
        event.remove(engine, "connect", cap)
        dispose_engines()  # the connections that hold the cap go; new ones have none


def padded_mail(n: int) -> bytes:
    """Question number `n`: its own Message-ID and text, over two pages long."""
    raw = mail_bytes("simple_question.eml")
    raw = raw.replace(b"<q1-20261124", b"<q%d-20261124" % n).replace(b"27447", b"%d" % (27400 + n))
    return raw.rstrip() + b"\n\n" + (b"Dx M86.161 was on the chart. " * (PAD // 29)) + b"\n"
