"""Parse + classify throughput against the stdlib parser alone, on the same bytes.

    .venv/bin/python benchmarks/parse.py [--rounds 3]

Corpora (read in place from ../shared/corpus): the 1,442 mail-robustness files
and the questions-dev coding questions. For each it prints mails/s and MB/s
of (a) `email.message_from_bytes(raw, policy=policy.default)` with the body
read through `get_body()`, the least a consumer of the stdlib does, and (b)
our `parse()` + `classify()` (classify against an empty SQLite database, so
its lookups run), and the ratio b/a. Best of `--rounds` runs each.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from email import message_from_bytes, policy
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from consultant.db.migrate import upgrade  # noqa: E402
from consultant.db.session import session_scope  # noqa: E402
from consultant.errors import Quarantine  # noqa: E402
from consultant.pipeline.classify import classify  # noqa: E402
from consultant.pipeline.parse import parse  # noqa: E402
from consultant.settings import Settings  # noqa: E402

SHARED = Path(os.environ.get("CONSULTANT_SHARED_DIR", REPO.parent / "shared"))


def load(folder: Path) -> list[bytes]:
    return [
        p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in ("README.md", ".gitattributes", "labels.jsonl")
    ]


def stdlib(mails: list[bytes]) -> None:
    for raw in mails:
        msg = message_from_bytes(raw, policy=policy.default)
        try:
            body = msg.get_body(("plain", "html"))  # type: ignore[attr-defined]
            if body is not None:
                body.get_content()
        except Exception:  # the stdlib alone fails on some mails; keep timing
            continue


def ours(mails: list[bytes], settings: Settings) -> None:
    with session_scope(settings) as session:
        for raw in mails:
            try:
                classify(session, settings, parse(raw))
            except Quarantine:
                continue


def best(run: object, rounds: int, *args: object) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run(*args)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var:
        settings = Settings(var_dir=Path(var), trusted_authserv_id="mx.example.org")
        upgrade(settings)
        print(
            f"{'corpus':<18}{'mails':>7}{'MB':>7}{'stdlib/s':>10}{'ours/s':>9}"
            f"{'stdlib MB/s':>13}{'ours MB/s':>11}{'ours/stdlib':>13}"
        )
        for name, folder in (
            ("mail-robustness", SHARED / "corpus" / "mail-robustness"),
            ("questions-dev", SHARED / "corpus" / "questions-dev"),
        ):
            mails = load(folder)
            size = sum(map(len, mails)) / 1e6
            ours(mails[:50], settings)  # warm caches and imports
            base = best(stdlib, args.rounds, mails)
            mine = best(ours, args.rounds, mails, settings)
            print(
                f"{name:<18}{len(mails):>7}{size:>7.1f}{len(mails) / base:>10.0f}"
                f"{len(mails) / mine:>9.0f}{size / base:>13.2f}{size / mine:>11.2f}"
                f"{base / mine:>13.2f}"
            )


if __name__ == "__main__":
    main()
