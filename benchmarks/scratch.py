"""Scratch databases for the benchmarks: migrated, then loaded with the code sets
of ../shared/data the way a user loads them.

`scratch_database(sqlite)` yields the environment of a child `consultant` on a
fresh database: a temporary CONSULTANT_VAR_DIR for the embedded profile (or a
kept one, `keep=DIR`), else a PostgreSQL database of its own, dropped after.
`load_code_sets(env)` loads ICD-10-CM and every CMS file into it, one
transaction per set as `consultant codes load` / `codes import` would; a set
already loaded is skipped (same file, same release).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from consultant.codes.releases import LoadResult
    from consultant.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CONSULTANT_SHARED_DIR", REPO.parent / "shared"))
DATA = SHARED / "data"
PTP_FULL = DATA / "ncci" / "ptp_practitioner_2024q3_full.csv.gz"
LOOKUP_FILES = {
    "hcpcs": DATA / "hcpcs" / "HCPC2025_OCT_ANWEB.csv",
    "mue": DATA / "ncci" / "mue_practitioner_2024q3.csv",
    "addon": DATA / "ncci" / "aoc_medicare_2026q2.csv",
    "pfs": DATA / "pfs" / "pfs_rvu_indicators_2024_jul.csv",
}
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def listed(text: str) -> list[str]:
    """The words of `text` (a long literal list reads better as one string)."""
    return text.split()


def child_env(var_dir: Path, database_url: str = "") -> dict[str, str]:
    """This process's environment with no CONSULTANT_* setting but the scratch
    database's (CONSULTANT_SHARED_DIR, which only the benchmarks read, stays)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CONSULTANT_") or k == "CONSULTANT_SHARED_DIR"
    }
    env["CONSULTANT_VAR_DIR"] = str(var_dir)
    if database_url:
        env["CONSULTANT_DATABASE_URL"] = database_url
    return env


def settings_of(env: dict[str, str]) -> Settings:
    """Settings for this process on the database `env` names (never one from the
    caller's own environment or .env: both are given explicitly)."""
    from consultant.settings import Settings

    return Settings(
        var_dir=Path(env["CONSULTANT_VAR_DIR"]),
        database_url=env.get("CONSULTANT_DATABASE_URL", ""),
        broker_url="",
    )


@contextmanager
def scratch_database(sqlite: bool, keep: Path | None = None) -> Iterator[dict[str, str]]:
    """Environment for a child `consultant` on a fresh, migrated database; with
    `keep` (SQLite only), on that var dir, created or reused and left in place."""
    from consultant.db.migrate import upgrade
    from consultant.db.session import dispose_engines

    if sqlite and keep is not None:
        keep.mkdir(mode=0o700, parents=True, exist_ok=True)
        env = child_env(keep.resolve())
        upgrade(settings_of(env))
        dispose_engines()
        yield env
        return
    with tempfile.TemporaryDirectory(prefix="consultant-bench-") as var_dir:
        if sqlite:
            env = child_env(Path(var_dir))
            upgrade(settings_of(env))
            dispose_engines()
            yield env
            return
        import psycopg

        name = f"consultant_codes_bench_{os.getpid()}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        env = child_env(Path(var_dir), url)
        try:
            upgrade(settings_of(env))
            dispose_engines()
            yield env
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_code_sets(env: dict[str, str], ptp: Path = PTP_FULL) -> list[tuple[LoadResult, float]]:
    """Load ICD-10-CM and the CMS files (PTP from `ptp`) into the database of `env`,
    one transaction per set; what each load did and its seconds."""
    from consultant.codes.icd10cm import load_icd10cm
    from consultant.codes.importers import import_file
    from consultant.db.session import dispose_engines, session_scope

    settings = settings_of(env)
    done: list[tuple[LoadResult, float]] = []
    for kind, path in [("ncci-ptp", ptp), *LOOKUP_FILES.items(), ("icd10cm", None)]:
        started = time.perf_counter()
        with session_scope(settings) as session:
            result = load_icd10cm(session) if path is None else import_file(session, kind, path)
        done.append((result, time.perf_counter() - started))
    dispose_engines()
    return done
