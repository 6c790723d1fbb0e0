"""Fuzz run: mutated real mail through parse -> classify -> extract, and raw SMTP sessions.

    .venv/bin/python benchmarks/fuzz.py                      # 100,000 inputs in all
    .venv/bin/python benchmarks/fuzz.py --inputs 20000 --smtp-sessions 2000 --seed 9

`--inputs` counts both kinds: `--smtp-sessions` of them are SMTP sessions
against the real intake (embedded SQLite, a recording enqueue), the rest are
mutated corpus mails (read in place from ../shared/corpus) through the pure
pipeline functions, classify against a migrated SQLite database. The
generator is tests/fuzz's, so CI runs a slice of this very run. Prints
inputs/s, the outcomes by documented refusal kind and SMTP reply kind, and
every finding with the seed and index that rebuild its input (never a mail's
content). Exits 1 if anything crashed or broke an invariant.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from consultant.db.session import session_scope  # noqa: E402
from tests.fuzz.support.pipeline_fuzz import (  # noqa: E402
    Tally,
    fuzz_pipeline,
    fuzz_settings,
    prepare_database,
)
from tests.fuzz.support.seeds import load_seeds  # noqa: E402
from tests.fuzz.support.smtp_fuzz import fuzz_smtp  # noqa: E402
from tests.fuzz.support.smtp_intake import running_intake  # noqa: E402
from tests.fuzz.support.smtp_store import check_store  # noqa: E402

SHARED = Path(os.environ.get("CONSULTANT_SHARED_DIR", REPO.parent / "shared"))
CHUNK = 2000  # pipeline inputs per database session


def run_pipeline(var: Path, seed: int, count: int) -> Tally:
    seeds = load_seeds(SHARED)
    settings = fuzz_settings(var)
    prepare_database(settings)
    total = Tally()
    for start in range(0, count, CHUNK):
        with session_scope(settings) as session:
            total.add(
                fuzz_pipeline(session, settings, seeds, seed, start, min(CHUNK, count - start))
            )
        print(
            f"  pipeline {total.inputs:>7} inputs, {len(total.findings)} findings", file=sys.stderr
        )
    return total


def table(counts: Counter[str]) -> str:
    return "\n".join(f"  {n:>8}  {what}" for what, n in counts.most_common())


def main() -> None:
    # Kept whole: after the two runs it is the report, printed in the order it reads;
    # split up, the format of one output would be scattered over several functions.
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="pipeline inputs + sessions")
    parser.add_argument("--smtp-sessions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=4, help="concurrent SMTP clients")
    args = parser.parse_args()
    mails = max(0, args.inputs - args.smtp_sessions)
    with tempfile.TemporaryDirectory() as var:
        pipeline = run_pipeline(Path(var) / "pipeline", args.seed, mails)
        seeds = load_seeds(SHARED)
        began = time.perf_counter()
        with running_intake(Path(var) / "smtp") as intake:
            smtp = fuzz_smtp(
                intake.settings.smtp_port, seeds, args.seed, 0, args.smtp_sessions, args.clients
            )
        smtp.findings += check_store(intake, smtp)
        smtp.seconds = time.perf_counter() - began
    refusals = Counter({k: n for k, n in pipeline.outcomes.items() if k.startswith("refused")})
    parsed = Counter({k: n for k, n in pipeline.outcomes.items() if not k.startswith("refused")})
    print(f"seed={args.seed} seeds={len(seeds.mails)} corpus mails")
    print(
        f"pipeline: {pipeline.inputs} mutated mails in {pipeline.seconds:.1f} s"
        f" = {pipeline.inputs / max(pipeline.seconds, 1e-9):.0f} inputs/s;"
        f" slowest {pipeline.slowest[0]:.2f} s (index {pipeline.slowest[1]})"
    )
    print(f" classified (parse + classify + extract ran):\n{table(parsed)}")
    print(f" refused with a documented Quarantine:\n{table(refusals)}")
    print(
        f"smtp: {smtp.sessions} sessions in {smtp.seconds:.1f} s"
        f" = {smtp.sessions / max(smtp.seconds, 1e-9):.0f} sessions/s;"
        f" {len(smtp.queued)} mails acknowledged with 250"
    )
    print(f" replies by kind:\n{table(smtp.replies)}")
    total = pipeline.inputs + smtp.sessions
    seconds = pipeline.seconds + smtp.seconds
    findings = [str(f) for f in pipeline.findings] + smtp.findings
    print(f"total: {total} inputs in {seconds:.1f} s = {total / max(seconds, 1e-9):.0f} inputs/s")
    print(f"crashes and broken invariants: {len(findings)}")
    for finding in findings[:100]:
        print(f"  {finding}")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
