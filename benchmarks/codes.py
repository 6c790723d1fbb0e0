"""Code data benchmarks: each section prints its figures against its goals and
against a baseline measured in the same run. Nothing is asserted.

Sections:
  extract extraction throughput (MB/s) over ../shared/corpus/questions-dev,
          parsing excluded, against a bare regex scan for code shapes.
  import  the full NCCI PTP file (2.5 M rows) through `consultant codes import`
          in a child process, into a fresh scratch database; its time, rows/s
          and peak RSS against the goals (60 s, 500 MB), and the ratio to just
          stream-parsing the same gzip CSV with the csv module.

    python benchmarks/codes.py                 # every section, PostgreSQL here
    python benchmarks/codes.py --sqlite        # the embedded profile's SQLite
    python benchmarks/codes.py --only import

The PostgreSQL run creates (and drops) its own database, consultant_codes_bench_<pid>.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CONSULTANT_SHARED_DIR", REPO.parent / "shared"))
PTP_FULL = SHARED / "data" / "ncci" / "ptp_practitioner_2024q3_full.csv.gz"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
GOAL_SECONDS = 60.0
GOAL_RSS_MB = 500.0


@contextmanager
def scratch_database(sqlite: bool) -> Iterator[dict[str, str]]:
    """Environment for a child `consultant` on a fresh, migrated database."""
    from consultant.db.migrate import upgrade
    from consultant.db.session import dispose_engines
    from consultant.settings import Settings

    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULTANT_")}
    with tempfile.TemporaryDirectory() as var_dir:
        env["CONSULTANT_VAR_DIR"] = var_dir
        if sqlite:
            upgrade(Settings(var_dir=Path(var_dir)))
            dispose_engines()
            yield env
            return
        import psycopg

        name = f"consultant_codes_bench_{os.getpid()}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["CONSULTANT_DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        try:
            upgrade(Settings(database_url=env["CONSULTANT_DATABASE_URL"]))
            dispose_engines()
            yield env
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def parse_seconds(path: Path) -> tuple[int, float]:
    """Rows and seconds to stream the gzip CSV through csv.reader, keeping nothing."""
    start = time.perf_counter()
    rows = 0
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for rows, _ in enumerate(reader, 1):  # noqa: B007  (rows is read after the loop)
            pass
    return rows, time.perf_counter() - start


def import_in_child(env: dict[str, str], path: Path) -> tuple[int, float, float]:
    """Rows, seconds and peak RSS (MB) of `consultant codes import ncci-ptp` in a child."""
    command = [sys.executable, "-m", "consultant", "codes", "import", "ncci-ptp", str(path)]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"import failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    print(f"  consultant: {done.stdout.strip()}")
    rows = int(re.search(r": ([\d,]+) rows", done.stdout)[1].replace(",", ""))  # type: ignore[index]
    # Linux reports ru_maxrss in KiB: the largest child waited for, here the only one.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return rows, seconds, peak_mb


def section_import(args: argparse.Namespace) -> None:
    path: Path = args.ptp
    database = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"import: {path.name} ({path.stat().st_size / 1e6:.1f} MB gzip) into {database}")
    parsed_rows, parse = parse_seconds(path)
    with scratch_database(args.sqlite) as env:
        rows, seconds, peak_mb = import_in_child(env, path)
    print(f"  rows                 : {rows:>12,}  (csv.reader saw {parsed_rows:,})")
    print(f"  import, whole command: {seconds:>10.1f} s   goal <= {GOAL_SECONDS:.0f} s")
    print(f"  import rate          : {rows / seconds:>12,.0f} rows/s")
    print(f"  import peak RSS      : {peak_mb:>10.1f} MB  goal <= {GOAL_RSS_MB:.0f} MB")
    print(f"  bare csv parse       : {parse:>10.1f} s   {parsed_rows / parse:,.0f} rows/s")
    print(f"  ratio import/parse   : {seconds / parse:>10.2f}")
    print(
        f"  share of goal        : {seconds / GOAL_SECONDS:>10.2f} time, "
        f"{peak_mb / GOAL_RSS_MB:.2f} memory"
    )


QUESTIONS = SHARED / "corpus" / "questions-dev"
# A bare scanner for code-shaped tokens: the least any extractor must do.
BARE_SCAN = re.compile(r"\b(?:\d{4}[0-9FTU]|[A-Z]\d[0-9A-Z](?:\.?[0-9A-Z]{1,4})?)\b")


def section_extract(args: argparse.Namespace) -> None:
    """Extraction throughput over the questions corpus (parsing excluded)."""
    from consultant.pipeline.extract import extract_message
    from consultant.pipeline.parse import parse

    parsed = [parse(path.read_bytes()) for path in sorted(QUESTIONS.glob("*.eml"))]
    texts = [p.subject + "\n" + p.text for p in parsed]
    size = sum(len(text.encode()) for text in texts)
    rounds = max(1, args.rounds)

    def timed(job: Callable[[], object]) -> float:
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(rounds):
                job()
            best = min(best, time.perf_counter() - started)
        return best

    ours = timed(lambda: [extract_message(p) for p in parsed])
    bare = timed(lambda: [BARE_SCAN.findall(text) for text in texts])
    megabytes = size * rounds / 1e6
    print(f"extract: {len(parsed)} questions, {size / 1e3:.1f} KB of text, x{rounds}")
    print(
        f"  extract_message      : {megabytes / ours:>10.2f} MB/s  "
        f"{ours / rounds / len(parsed) * 1e3:.3f} ms per mail"
    )
    print(f"  bare regex scan      : {megabytes / bare:>10.2f} MB/s")
    print(f"  ratio extract/bare   : {bare / ours:>10.3f}  (share of the bare scanner's speed)")


SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {
    "import": section_import,
    "extract": section_extract,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append", help="run a section")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--ptp", type=Path, default=PTP_FULL, help="the PTP file to import")
    parser.add_argument("--rounds", type=int, default=20, help="extraction passes per timing")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if not args.ptp.is_file():
        sys.exit(f"{args.ptp} is missing: the shared data lives in {SHARED}")
    for name in args.only or list(SECTIONS):
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
