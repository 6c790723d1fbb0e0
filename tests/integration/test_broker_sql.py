"""The embedded profile's SQLite broker, shared by processes that start
together: `consultant up` starts the worker while its intake publishes the
first task, and both create the queue.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from kombu import Connection

from workers import broker

pytestmark = pytest.mark.integration

PROCESSES = 6
QUEUES = 25

# Each process opens the broker, then, at the same instants as the others,
# creates queue after queue; it prints the failures it met.
RACE = """
import sys, time
from kombu import Connection
url, transport, start, queues = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
channel = Connection(url, transport=transport).default_channel
failures = 0
for n in range(queues):
    while time.time() < start + n * 0.05:
        pass
    try:
        channel.queue_declare(queue=f"race-{n}")
    except Exception as error:
        failures += 1
        print(type(error).__name__, file=sys.stderr)
print(failures)
"""


def race(url: str, transport: str) -> tuple[int, str]:
    """(failures, their error names) of PROCESSES processes creating QUEUES queues at once."""
    with Connection(url, transport=transport) as connection:
        connection.default_channel.queue_declare(queue="tables")  # the tables exist first
    start = time.time() + 3  # once every process has started and opened the broker
    args = [url, transport, str(start), str(QUEUES)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    results = [child.communicate(timeout=120) for child in children]
    return sum(int(out) for out, _ in results), "".join(err for _, err in results)


def queues(url: str) -> list[str]:
    with Connection(url, transport=f"{broker.__name__}:SQLTransport") as connection:
        channel = connection.default_channel
        return sorted(row.name for row in channel.session.query(channel.queue_cls))


def test_processes_creating_a_queue_at_once_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'broker.sqlite3'}"
    failures, errors = race(url, f"{broker.__name__}:SQLTransport")
    assert failures == 0, errors
    assert queues(url) == sorted(["tables", *(f"race-{n}" for n in range(QUEUES))])


def test_kombu_own_transport_still_fails_so_the_fix_is_needed(tmp_path: Path) -> None:
    """Once this fails, kombu has fixed the race: SQLChannel can go."""
    failures, errors = race(f"sqlite:///{tmp_path / 'broker.sqlite3'}", "sqlalchemy")
    assert failures > 0 and "IntegrityError" in errors
