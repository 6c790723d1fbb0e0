"""Code data benchmarks: each section prints its figures against its goals and
against a baseline measured in the same run. Nothing is asserted.

Sections:
  lookup  lookups + findings for a ten-code mail with the full PTP file and
          every other set loaded: median and p90 of 1,000 runs against one
          SELECT 1 round trip in the same session.
  extract extraction throughput (MB/s) over ../shared/corpus/questions-dev,
          parsing excluded, against a bare regex scan for code shapes.
  answer  what the answer engine adds to a worker's lookup: median time per dev
          question (everything loaded) against the lookup's on the same mails;
          the goal is at most 5 ms.
  import  the full NCCI PTP file (2.5 M rows) through `consultant codes import`
          in a child process, into a fresh scratch database; its time, rows/s
          and peak RSS against the goals (60 s, 500 MB), and the ratio to just
          stream-parsing the same gzip CSV with the csv module. Then the same
          edits laid out as CMS's hospital archive (four zips of Windows-1252
          text) through `consultant codes import DIR`, beside the first.

    python benchmarks/codes.py                 # every section, PostgreSQL here
    python benchmarks/codes.py --sqlite        # the embedded profile's SQLite
    python benchmarks/codes.py --only import

The PostgreSQL run creates (and drops) its own database, consultant_codes_bench_<pid>.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from functools import partial
from itertools import islice
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

from scratch import PTP_FULL, SHARED, load_code_sets, scratch_database, settings_of  # noqa: E402

GOAL_SECONDS = 60.0
GOAL_RSS_MB = 500.0


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


def import_in_child(env: dict[str, str], *args: str) -> tuple[int, float, float]:
    """Rows, seconds and peak RSS (MB) of `consultant codes import ARGS` in a child."""
    command = [sys.executable, "-m", "consultant", "codes", "import", *args]
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the largest
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        out.seek(0)
        said = out.read()
    if child.returncode != 0:
        sys.exit(f"import failed ({child.returncode}):\n{said}")
    print(f"  consultant: {said.strip()}")
    rows = int(re.search(r": ([\d,]+) rows", said)[1].replace(",", ""))  # type: ignore[index]
    return rows, seconds, usage.ru_maxrss / 1024  # Linux reports ru_maxrss in KiB


def hospital_archive(path: Path, folder: Path, total: int, parts: int = 4) -> float:
    """The PTP file laid out as CMS's hospital archive: `parts` zips of tab-delimited
    text in Windows-1252 (ccioph-v302r0-f1.txt …), streamed row by row. ../shared
    has no hospital file, so its rows are the practitioner ones: the layout and the
    size are what count. Returns the seconds it took."""
    start = time.perf_counter()
    size = -(-total // parts)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for number in range(1, parts + 1):
            name = f"ccioph-v302r0-f{number}"
            archive = folder / f"medicare-ncci-2024q3-hospital-ptp-edits-{name}.zip"
            with (
                zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out,
                out.open(f"{name}.txt", "w", force_zip64=True) as raw,
                io.TextIOWrapper(raw, encoding="cp1252", newline="") as text,
            ):
                text.write(HOSPITAL_HEADER + "\r\n")
                for c1, c2, deleted, mi, why in islice(reader, size):
                    text.write(f"{c1}\t{c2}\t\t20200101\t{deleted or '*'}\t{mi}\t{why}\r\n")
    return time.perf_counter() - start


HOSPITAL_HEADER = (
    "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date\t"
    "Modifier\tPTP Edit Rationale\r\n\t\t\t\t*=no data\t0=not allowed\t"
)


def section_import(args: argparse.Namespace) -> None:
    path: Path = args.ptp
    database = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"import: {path.name} ({path.stat().st_size / 1e6:.1f} MB gzip) into {database}")
    parsed_rows, parse = parse_seconds(path)
    with scratch_database(args.sqlite) as env:
        rows, seconds, peak_mb = import_in_child(env, "ncci-ptp", str(path))
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
    section_hospital(args, parsed_rows, seconds, peak_mb)


def section_hospital(
    args: argparse.Namespace, total: int, practitioner: float, practitioner_mb: float
) -> None:
    """The same edits as CMS's hospital archive (four zips) through `codes import DIR`."""
    with tempfile.TemporaryDirectory(prefix="hospital-ptp-") as folder:
        build = hospital_archive(args.ptp, Path(folder), total)
        size = sum(p.stat().st_size for p in Path(folder).iterdir()) / 1e6
        print(f"hospital archive: 4 zips, {size:.1f} MB, {total:,} edits (built in {build:.1f} s)")
        with scratch_database(args.sqlite) as env:
            rows, seconds, peak_mb = import_in_child(env, folder)
    print(f"  import, whole command: {seconds:>10.1f} s   goal <= {GOAL_SECONDS:.0f} s")
    print(f"  import rate          : {rows / seconds:>12,.0f} rows/s")
    print(f"  import peak RSS      : {peak_mb:>10.1f} MB  goal <= {GOAL_RSS_MB:.0f} MB")
    print(
        f"  against practitioner : {seconds / practitioner:>10.2f} time, "
        f"{peak_mb / practitioner_mb:.2f} memory (the gzip CSV of the same edits)"
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


# A ten-code question: procedures with a PTP edit and an add-on, diagnoses with an
# Excludes1 conflict, a drug with units, modifiers.
TEN_CODES = (
    "Can I bill 27447-59 with 20610 and 20700? J1100 x 40, modifier LT. "
    "Dx M17.11, E11.9 and E10.9, M86.161."
)


def section_lookup(args: argparse.Namespace) -> None:
    """Median time of lookups + findings for a ten-code mail, everything loaded."""
    import statistics
    from datetime import date

    from sqlalchemy import text

    from consultant.db.session import dispose_engines, session_scope
    from consultant.pipeline.extract import find_codes
    from consultant.pipeline.lookup import look_up

    with scratch_database(args.sqlite) as env:
        load_code_sets(env, args.ptp)
        settings = settings_of(env)
        if not args.sqlite:
            with session_scope(settings) as session:
                session.execute(text("ANALYZE"))
        refs = find_codes(TEN_CODES)
        dos = date(2024, 9, 1)
        with session_scope(settings) as session:
            for _ in range(50):
                report = look_up(session, refs, dos=dos)
            ours, floor = [], []
            for _ in range(1000):
                started = time.perf_counter()
                report = look_up(session, refs, dos=dos)
                ours.append(time.perf_counter() - started)
                started = time.perf_counter()
                session.execute(text("SELECT 1")).scalar()
                floor.append(time.perf_counter() - started)
        dispose_engines()
    median, one = statistics.median(ours) * 1e3, statistics.median(floor) * 1e3
    print(f"lookup: {len(refs)} codes, {len(report.findings)} findings, 1,000 runs")
    print(f"  look_up median       : {median:>10.2f} ms   goal <= 5 ms")
    print(f"  look_up p90          : {statistics.quantiles(ours, n=10)[-1] * 1e3:>10.2f} ms")
    print(f"  one SELECT 1 (floor) : {one:>10.3f} ms")
    print(f"  ratio lookup/SELECT 1: {median / one:>10.1f}  (round trips' worth)")


def section_answer(args: argparse.Namespace) -> None:
    """What answering adds to a worker's lookup: per dev question, the median time of
    the answer engine against the median time of the lookup it runs beside."""
    import statistics
    from datetime import date

    from consultant.answer.engine import answer_question
    from consultant.codes.vocabulary import current_vocabulary
    from consultant.db.session import dispose_engines, session_scope
    from consultant.pipeline.extract import extract_message
    from consultant.pipeline.lookup import date_of_service, look_up
    from consultant.pipeline.parse import parse

    mails = [parse(path.read_bytes()) for path in sorted(QUESTIONS.glob("*.eml"))]
    with scratch_database(args.sqlite) as env:
        load_code_sets(env, args.ptp)
        with session_scope(settings_of(env)) as session:
            vocabulary = current_vocabulary(session)
            extra, lookups = [], []
            for parsed in mails:
                refs = extract_message(parsed, vocabulary)
                if not refs:
                    continue
                sent = parsed.date.date() if parsed.date else date.today()
                dos, _ = date_of_service(f"{parsed.subject}\n{parsed.new_text}", sent)
                lookup = partial(look_up, session, refs, dos=dos)
                answer = partial(
                    answer_question, session, parsed.subject, parsed.new_text, refs, dos
                )
                lookups.append(statistics.median(_timed(lookup) for _ in range(21)))
                extra.append(statistics.median(_timed(answer) for _ in range(21)))
        dispose_engines()
    median, base = statistics.median(extra) * 1e3, statistics.median(lookups) * 1e3
    print(f"answer: {len(extra)} dev questions with codes, everything loaded, 21 runs each")
    print(f"  answer median        : {median:>10.2f} ms   goal <= 5 ms beyond the lookup")
    print(f"  answer worst question: {max(extra) * 1e3:>10.2f} ms")
    print(f"  look_up median       : {base:>10.2f} ms   (the baseline, same mails)")
    print(f"  ratio answer/look_up : {median / base:>10.2f}")


def _timed(job: Callable[[], object]) -> float:
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


# Import first: a child forked from a parent that has grown (the lookup section
# loads ICD-10-CM) starts with the parent's pages, and ru_maxrss would count them.
SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {
    "import": section_import,
    "lookup": section_lookup,
    "answer": section_answer,
    "extract": section_extract,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append", help="run a section")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--ptp", type=Path, default=PTP_FULL, help="the PTP file to import")
    parser.add_argument("--rounds", type=int, default=20, help="extraction passes per timing")
    args = parser.parse_args()
    if not args.ptp.is_file():
        sys.exit(f"{args.ptp} is missing: the shared data lives in {SHARED}")
    for name in [name for name in SECTIONS if not args.only or name in args.only]:
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
