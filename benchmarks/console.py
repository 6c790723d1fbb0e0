"""Console benchmark: the reviewer's pages over 1,000,000 cases on PostgreSQL. Nothing is asserted.

Builds a scratch PostgreSQL database (migrated to head) with the practitioner
code data a draft reads (a part of the NCCI PTP edits, MUEs, add-on edits and
the fee schedule indicators from ../shared/data), one real question naming 30
codes drafted through the pipeline, and then, in bulk SQL, N cases of 10 codes
each: two years of answered cases (sent, closed, a few rejected) and the
newest few thousand open (drafted, in review, awaiting the sender, approved
with a delivery failure), some claimed, with due times, verdict summaries and
severities; 10 distinct codes per case, drawn with Zipf-like weights from
common and rare procedure, E/M, HCPCS and diagnosis codes, a few with modifier
59 or units; an answer in the outbox per answered case (some failed); and the
audit log in time order (each case opened and, if answered, approved; the
reviewers' logins). Then ANALYZE, as autovacuum would.

It serves the console with uvicorn on a free local port (configured as
`consultant web` configures it) and logs in through the form as an admin. Each
page is fetched over HTTP on 127.0.0.1 after warm-up runs; the figures are the
server's time, measured inside the app around the whole ASGI call (middleware,
route, queries, template, body sent), and, beside them, the client's round trip
on localhost. Pages: the queue (default filters, a common code, a rare code,
the sent cases), the JSON queue, the 30-code case page, the outbox (all and
failed) and the audit log (all, by actor, by action); and, as the baseline,
/healthz. It prints the median and p95 of each, the ratio of each median to
the baseline's, and whether p95 is under 100 ms.

    python benchmarks/console.py                 # 1,000,000 cases, 20 runs per page
    python benchmarks/console.py --cases 20000 --runs 5
    python benchmarks/console.py --keep          # leave the database consultant_bench_console
    python benchmarks/console.py --quiet         # no fill progress, no log output
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

from scratch import DATA, PG_ADMIN, child_env, listed, scratch_database, settings_of  # noqa: E402

GOAL_MS = 100.0
KEPT = "consultant_bench_console"
CODE_SETS = 4096
ADMIN = ("bench-admin@desk.example", "a long benchmark password")
REVIEWERS = ("rita@desk.example", "otto@desk.example", "lena@desk.example")
CODE_FILES = {
    "ncci-ptp": DATA / "ncci" / "ptp_practitioner_2024q3_col1_10000-29999.csv.gz",
    "mue": DATA / "ncci" / "mue_practitioner_2024q3.csv",
    "addon": DATA / "ncci" / "aoc_medicare_2026q2.csv",
    "pfs": DATA / "pfs" / "pfs_rvu_indicators_2024_jul.csv",
}


# Most asked first: a code's share falls with its rank (Zipf); the last are rare.
CODES = listed(
    "99214 99213 20610 M17.11 99215 27447 96372 J3301 29881 E11.9 I10 20611 36415 "
    "99204 64483 M25.561 11042 17110 62323 93000 97110 Z23 45378 43239 29880 71046 "
    "97140 20552 J1100 66984 S83.241A 22551 63047 G0439 19083 47562 49505 69210 "
    "95910 10060 12001 52000 76942 99406 L03.115 0232T 15271 27130 28296 10700"
)
THIRTY = listed(
    "27447 20610 20611 29881 29880 11042 17110 64483 62323 20552 97110 97140 "
    "10060 12001 19083 22551 63047 66984 69210 76942 15271 27130 28296 43239 "
    "45378 47562 49505 52000 93000 96372"
)
MAIL = (
    "From: Dana Biller <dana@example-clinic.org>\nTo: consult@localhost\n"
    "Subject: A long claim: which of these go together?\n"
    "Date: Tue, 24 Nov 2026 09:15:00 -0500\nMessage-ID: <bench-30@example-clinic.org>\n"
    "Content-Type: text/plain; charset=utf-8\n\n"
    "Hello, one patient, one day (DOS 9/3/2024). Can all of these be billed together, "
    "and which need modifier 59 or XS?\n\n{codes}\n\nThanks, Dana\n"
)


def prepare(settings: Any) -> str:
    """Code data, the reviewers, and the 30-code question drafted; its case reference."""
    from consultant.codes.importers import import_file
    from consultant.db.models import Case
    from consultant.db.session import session_scope
    from consultant.pipeline.intake.store import store_raw
    from consultant.pipeline.process import process_message
    from consultant.reviewers import add_reviewer

    with session_scope(settings) as session:
        for kind, path in CODE_FILES.items():
            import_file(session, kind, path)
        add_reviewer(session, ADMIN[0], role="admin", password=ADMIN[1], name="Bench")
        for address in REVIEWERS:
            add_reviewer(session, address, password=ADMIN[1])
    raw = MAIL.format(codes=", ".join(THIRTY)).encode()
    with session_scope(settings) as session:
        inbound_id = store_raw(session, raw, source="smtp").inbound_id
    with session_scope(settings) as session:
        case_id = process_message(session, settings, inbound_id).case_id
        return session.get_one(Case, case_id).ref or ""


FILLED = ("accounts", "cases", "code sets", "case codes", "outbox", "audit log")


def fill(settings: Any, cases: int, quiet: bool) -> float:
    """The bulk rows, in server-side SQL; seconds taken (ANALYZE included). Unless
    `quiet`, the rows and seconds of each statement as it ends."""
    from sqlalchemy import text

    from consultant.db.session import get_engine

    started = time.perf_counter()
    with get_engine(settings).begin() as connection:
        for table, statement in zip(FILLED, fill_sql(cases), strict=True):
            step = time.perf_counter()
            rows = connection.execute(text(statement)).rowcount
            if not quiet:
                print(f"  {table}: {rows:,} rows in {time.perf_counter() - step:.1f} s", flush=True)
    with get_engine(settings).connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return time.perf_counter() - started


def fill_sql(cases: int) -> list[str]:
    """Cases numbered after the drafted one, oldest first over two years; the newest
    0.5 % open; their codes (codes_sql); outbox and audit rows."""
    open_from = int(cases * 0.995)
    state = (
        f"CASE WHEN n > {open_from} THEN (ARRAY['drafted','drafted','drafted','in_review',"
        f"'awaiting_sender','approved'])[1 + n % 6] WHEN n % 97 = 0 THEN 'rejected' "
        f"WHEN n % 9 = 0 THEN 'closed' ELSE 'sent' END"
    )
    opened = f"now() - interval '730 days' * (1 - n::float / {cases})"
    return [
        "INSERT INTO accounts (name, plan, created_at) SELECT 'Clinic ' || a, "
        "(ARRAY['free','paid'])[1 + a % 2], now() FROM generate_series(1, 200) AS a",
        f"INSERT INTO cases (ref, sender, sender_name, subject, state, attention, account_id,"
        f" assignee_id, created_at, updated_at, due_at, verdicts, severity, stale_data)"
        f" SELECT 'CB-' || n, 'asker' || (n % 5000) || '@example-clinic.org', 'Asker',"
        f" 'Question ' || n, st, CASE WHEN st = 'approved' THEN 'answer not delivered' END,"
        f" (SELECT min(id) FROM accounts) + n % 200,"
        f" CASE WHEN n > {open_from} AND n % 4 = 0"
        f" THEN (SELECT min(id) FROM reviewers) + n % 3 END,"
        f" at, at, at + interval '1 hour' * (ARRAY[24, 48, 72])[1 + n % 3],"
        f" (ARRAY[NULL, 'PTP edit', 'units over MUE', 'add-on without primary',"
        f" 'PTP edit, units over MUE'])[1 + n % 5],"
        f" (ARRAY[NULL, 'warning', 'error', 'error', 'error'])[1 + n % 5], n % 23 = 0"
        f" FROM generate_series(1, {cases}) AS n,"
        f" LATERAL (SELECT {state} AS st, {opened} AS at) AS c",
        *codes_sql(),
        "INSERT INTO outbound_messages (case_id, kind, auto, rcpt, rfc_message_id, mail_from,"
        " recipients, raw, state, attempts, created_at, sent_at, last_error)"
        " SELECT id, 'answer', false, sender, '<answer-' || id || '@desk.example>',"
        " 'consult@desk.example', json_build_array(sender), convert_to('Subject: x', 'UTF8'),"
        " CASE WHEN id % 211 = 0 THEN 'failed' ELSE 'sent' END, 1, updated_at, updated_at,"
        " CASE WHEN id % 211 = 0 THEN '550 5.1.1 no such user' END"
        " FROM cases WHERE state IN ('sent', 'closed') AND ref LIKE 'CB-%'",
        # In time order, as a desk writes it (the log pages by id): each case opened
        # and, if answered, approved; each reviewer's logins, about three a day, one in
        # seven with a mistyped password.
        f"INSERT INTO audit_log (at, actor, action, case_id, detail) SELECT * FROM ("
        f" SELECT created_at AS at, 'system' AS actor, 'case.opened' AS action, id AS case_id,"
        f" json_build_object('ref', ref) AS detail FROM cases WHERE ref LIKE 'CB-%'"
        f" UNION ALL SELECT updated_at + interval '1 hour', (ARRAY{list(REVIEWERS)})[1 + id % 3],"
        f" 'case.approved', id, '{{}}'::json"
        f" FROM cases WHERE state IN ('sent', 'closed') AND ref LIKE 'CB-%'"
        f" UNION ALL SELECT at, who, CASE WHEN extract(epoch FROM at)::bigint % 7 = 0"
        f" THEN 'login.failed' ELSE 'login' END, NULL, json_build_object('ip', '127.0.0.1')"
        f" FROM unnest(ARRAY{list(REVIEWERS)}) AS who, generate_series(now() - interval"
        f" '730 days', now(), interval '8 hours') AS at) AS entries ORDER BY at",
    ]


def codes_sql() -> list[str]:
    """10 distinct codes per case: one of 4,096 code sets, each drawn from CODES
    without replacement with weights 1/rank^1.5 (Zipf-like: 99214 in one case in
    ten, 10700 in one in thirty), some written with modifier 59 or with units."""
    codes = "ARRAY[" + ", ".join(f"'{code}'" for code in CODES) + "]"
    return [
        # Efraimidis-Spirakis: the 10 smallest keys Exp(1) / weight, per set.
        f"CREATE TEMP TABLE code_sets ON COMMIT DROP AS SELECT s AS set_no, code,"
        f" (row_number() OVER (PARTITION BY s ORDER BY key))::int - 1 AS k"
        f" FROM generate_series(0, {CODE_SETS - 1}) AS s, LATERAL (SELECT code,"
        f" -ln(1 - random()) * power(rank, 1.5) + 0 * s AS key"
        f" FROM unnest({codes}::text[]) WITH ORDINALITY AS t(code, rank)"
        f" ORDER BY key LIMIT 10) AS pick",
        f'INSERT INTO case_codes (case_id, code, system, as_written, start, "end", quoted,'
        f" position, part, units) SELECT c.id, s.code, CASE WHEN s.code ~ '^[0-9]' THEN 'cpt'"
        f" WHEN s.code ~ '^[A-Z][0-9]{{4}}$' THEN 'hcpcs' ELSE 'icd10cm' END,"
        f" s.code || CASE WHEN (c.id + s.k) % 17 = 0 AND s.code ~ '^[0-9]' THEN '-59' ELSE '' END,"
        f" s.k * 8, s.k * 8 + 5, false, s.k, 'body',"
        f" CASE WHEN (c.id + s.k) % 29 = 0 AND s.code ~ '^[0-9]' THEN 2 END"
        f" FROM cases AS c JOIN code_sets AS s ON s.set_no = c.id % {CODE_SETS}"
        f" WHERE c.ref LIKE 'CB-%'",
    ]


def pages(ref: str) -> dict[str, str]:
    """The pages timed, the baseline first."""
    return {
        "baseline: /healthz": "/healthz",
        "queue (default)": "/",
        "queue, code 99214": "/?code=99214",
        "queue, rare code 10700": "/?code=10700",
        "queue, state sent": "/?state=sent",
        "queue (JSON API)": "/api/v1/cases",
        "case with 30 codes": f"/cases/{ref}",
        "outbox": "/outbox",
        "outbox, failed": "/outbox?state=failed",
        "audit log": "/audit",
        "audit log, by actor": f"/audit?actor={REVIEWERS[0]}",
        "audit log, action login": "/audit?action=login",
    }


class Stopwatch:
    """ASGI wrapper: the milliseconds of each request, from its arrival in the app
    until the app returns (its whole body handed to the server), by arrival."""

    def __init__(self, app: Any) -> None:
        self.app, self.arrived, self.times = app, 0, dict[int, float]()
        self.finished = threading.Condition()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started, request = time.perf_counter(), self.arrived
        self.arrived += 1
        await self.app(scope, receive, send)
        with self.finished:
            self.times[request] = (time.perf_counter() - started) * 1e3
            self.finished.notify_all()

    def time_of(self, request: int) -> float:
        """The time of the `request`-th request (from 0), once the app has returned from
        it (the client can read the whole body a moment before, with the final empty part)."""
        with self.finished:
            if not self.finished.wait_for(lambda: request in self.times, timeout=60):
                sys.exit("the app never returned from a request")
            return self.times[request]


class Timing(NamedTuple):
    server: list[float]
    trip: list[float]


@contextmanager
def serving(settings: Any) -> Iterator[tuple[str, Stopwatch]]:
    """The console under uvicorn on a free port, in a thread; its URL and stopwatch."""
    import uvicorn

    from consultant.web.app import create_app
    from consultant.web.server import server_limits
    from tests.ports import free_port

    stopwatch = Stopwatch(create_app(settings, enqueue_send=lambda _: None))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            stopwatch,
            host="127.0.0.1",
            port=port,
            proxy_headers=False,
            server_header=False,
            log_config=None,
            access_log=False,
            **server_limits(settings),
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            sys.exit("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", stopwatch
    finally:
        server.should_exit = True
        thread.join()


def log_in(client: Any) -> None:
    """Log `client` in to the console as the admin, through the form."""
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None, "no CSRF token on the login page"
    fields = {"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token[1], "next": "/"}
    answer = client.post("/login", data=fields)
    if answer.status_code != 303:
        sys.exit(f"login answered {answer.status_code}")


def timed(client: Any, stopwatch: Stopwatch, path: str, runs: int) -> Timing:
    """Server and round-trip milliseconds per GET of `path` after 3 warm-up runs;
    refuses a page that fails."""
    server, trip = [], []
    for run in range(runs + 3):
        request = stopwatch.arrived
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1e3
        if response.status_code != 200:
            sys.exit(f"GET {path} answered {response.status_code}")
        if run >= 3:
            server.append(stopwatch.time_of(request))
            trip.append(elapsed)
    return Timing(server, trip)


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20, method="inclusive")[-1]


def report(results: dict[str, Timing]) -> None:
    """The table: server median and p95, ratio to the baseline, round-trip median."""
    baseline = statistics.median(next(iter(results.values())).server)
    print(
        f"{'page':<26} {'median ms':>10} {'p95 ms':>9} {'x baseline':>11}"
        f" {'trip ms':>9}  under 100 ms"
    )
    for name, (server, trip) in results.items():
        median = statistics.median(server)
        under = "yes" if p95(server) < GOAL_MS else "no"
        print(
            f"{name:<26} {median:>10.2f} {p95(server):>9.2f} {median / baseline:>11.1f}"
            f" {statistics.median(trip):>9.2f}  {under}"
        )
    slow = [name for name, timing in results.items() if p95(timing.server) >= GOAL_MS]
    print("every p95 under 100 ms" if not slow else f"p95 at or over 100 ms: {', '.join(slow)}")


@contextmanager
def database(keep: bool) -> Iterator[dict[str, str]]:
    """A fresh migrated PostgreSQL database: a scratch one dropped after, or with
    `keep`, KEPT (replaced if there) with its var dir, left for a later look."""
    if not keep:
        with scratch_database(sqlite=False) as env:
            yield env
        return
    import psycopg

    from consultant.db.migrate import upgrade
    from consultant.db.session import dispose_engines

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{KEPT}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{KEPT}"')
    var_dir = Path(tempfile.gettempdir()) / KEPT
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(mode=0o700)
    env = child_env(var_dir, f"postgresql+psycopg://postgres@127.0.0.1:5432/{KEPT}")
    upgrade(settings_of(env))
    dispose_engines()
    yield env
    print(f"kept: database {KEPT}, var dir {var_dir}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per page")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {KEPT}")
    parser.add_argument("--quiet", action="store_true", help="no fill progress, no log output")
    args = parser.parse_args()
    if args.quiet:
        logging.disable(logging.WARNING)
    from consultant.db.session import dispose_engines

    with database(args.keep) as env:
        settings = settings_of(env)
        ref = prepare(settings)
        seconds = fill(settings, args.cases, args.quiet)
        print(f"PostgreSQL: {args.cases:,} cases of 10 codes filled in {seconds:.0f} s")
        print(
            "times: median and p95 are server time (inside the app, uvicorn on 127.0.0.1);"
            f" trip ms is the client's round trip on localhost; {args.runs} runs per page"
        )
        import httpx2

        with (
            serving(settings) as (url, stopwatch),
            httpx2.Client(base_url=url, timeout=60) as client,
        ):
            log_in(client)
            results = {
                name: timed(client, stopwatch, path, args.runs) for name, path in pages(ref).items()
            }
        report(results)
        dispose_engines()


if __name__ == "__main__":
    main()
