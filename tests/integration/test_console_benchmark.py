"""benchmarks/console.py runs end to end on a small PostgreSQL database and prints a
row for every page it times (figures are printed, never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need, shared_dir

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
PAGES = (
    "baseline: /healthz",
    "queue (default)",
    "queue, code 99214",
    "queue, rare code 10700",
    "queue, state sent",
    "queue (JSON API)",
    "case with 30 codes",
    "outbox",
    "outbox, failed",
    "audit log",
    "audit log, by actor",
    "audit log, action login",
)


def test_the_console_benchmark_times_every_page() -> None:
    need((shared_dir() / "data" / "ncci").is_dir(), "shared data not found")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULTANT_")}
    done = subprocess.run(
        [sys.executable, "benchmarks/console.py", "--cases", "2000", "--runs", "2"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("PostgreSQL: 2,000 cases of 10 codes filled in") for line in lines)
    assert any("server time" in line and "round trip" in line for line in lines)
    for page in PAGES:
        (row,) = [line for line in lines if line.startswith(page + " ")]
        median, p95, ratio, trip = (float(x) for x in row[len(page) :].split()[:4])
        assert 0 < median <= p95 and ratio > 0 and trip > 0, row
    assert lines[-1].startswith(("every p95 under 100 ms", "p95 at or over 100 ms: "))
