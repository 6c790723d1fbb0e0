"""The whole pipeline against its ceilings, measured in the same run.

Starts the real processes (`consultant intake`, `consultant worker -c N`) on a
scratch database with the code sets loaded (ICD-10-CM, HCPCS, NCCI PTP, MUE,
add-on edits, PFS indicators from ../shared/data) and accounts for most
senders, sends N realistic consult mails (benchmarks/mailgen.py: 1-10 codes,
2-50 KB, some HTML-only, some with attachments) from several SMTP clients,
and waits until every mail has become a case with a draft. It prints:

- the intake rate (mails/s answered 250) and the end-to-end rate (drafts/s,
  from the first mail sent to the last draft written);
- intake->draft latency (the inbound row's received_at to the draft's
  created_at) at full speed, and again in a paced run at half the measured
  end-to-end rate;
- peak RSS (VmHWM) of the intake, the worker's main process and its pool;
- the ceilings, in the same run: a no-op Celery task on the same broker with
  the same configuration and worker count, and a bare aiosmtpd sink (a child
  process, like the intake) receiving the same mails; then the ratios.

    python benchmarks/pipeline.py                       # production: PostgreSQL + Redis here
    python benchmarks/pipeline.py --profile embedded    # SQLite + the SQLite broker
    python benchmarks/pipeline.py --py-spy /tmp/prof    # also sample intake and workers

The production profile creates (and drops) its own PostgreSQL database and
uses Redis db 12, which it flushes. Nothing is asserted; the ratios are the
figures to watch.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]
SHARED = Path(os.environ.get("CONSULTANT_SHARED_DIR", REPO.parent / "shared"))

from children import Child, child_pids, consultant, peak_rss_mb, running  # noqa: E402
from intake import PG_ADMIN, BareSink, blast, configure, free_port  # noqa: E402
from mailgen import ACCOUNT_CLINICS, make_mails, senders_with_accounts  # noqa: E402
from scratch import LOOKUP_FILES, PTP_FULL  # noqa: E402

PTP = {
    "subset": SHARED / "data" / "ncci" / "ptp_practitioner_2024q3_col1_10000-29999.csv.gz",
    "full": PTP_FULL,
}
NOOP_QUEUE = "bench_noop"
STALL_SECONDS = 120.0  # no new draft for this long: something is broken, stop


def this_script(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


# --- setup -----------------------------------------------------------------------


def prepare(ptp: Path) -> None:
    """Migrate, load the code sets, create accounts for most clinics."""
    from sqlalchemy import text

    from consultant.accounts import create_account
    from consultant.codes.icd10cm import load_icd10cm
    from consultant.codes.importers import import_file
    from consultant.db.migrate import upgrade
    from consultant.db.session import dispose_engines, session_scope
    from consultant.settings import get_settings

    settings = get_settings()
    upgrade(settings)
    with session_scope(settings) as session:
        for kind, path in [*LOOKUP_FILES.items(), ("ncci-ptp", ptp)]:
            import_file(session, kind, path)
        load_icd10cm(session)
        for clinic, addresses in senders_with_accounts().items():
            create_account(session, settings, clinic, addresses, ACCOUNT_CLINICS[clinic])
    with session_scope(settings) as session:
        session.execute(text("ANALYZE"))
    dispose_engines()


class Progress:
    """Reads counts and timestamps from the database without taking its write lock."""

    def __init__(self) -> None:
        from sqlalchemy import create_engine

        from consultant.settings import get_settings

        self.engine = create_engine(get_settings().database_url)

    def drafts(self) -> int:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM drafts")).scalar_one())

    def failed(self) -> int:
        from sqlalchemy import text

        query = "SELECT count(*) FROM inbound_messages WHERE state NOT IN ('stored', 'processed')"
        with self.engine.connect() as conn:
            return int(conn.execute(text(query)).scalar_one())

    def wait_for(self, total: int) -> None:
        last, changed = -1, time.monotonic()
        while (done := self.drafts()) + self.failed() < total:
            if done != last:
                last, changed = done, time.monotonic()
            elif time.monotonic() - changed > STALL_SECONDS:
                sys.exit(f"stalled at {done} of {total} drafts")
            time.sleep(0.2)
        if failed := self.failed():
            print(f"WARNING: {failed} mails became no case (quarantined, failed or ignored)")

    def timings(self, after_id: int) -> tuple[list[float], datetime]:
        """Seconds from received to first draft per inbound row after `after_id`; the last draft."""
        from sqlalchemy import select

        from consultant.db.models import Draft, InboundMessage

        query = (
            select(InboundMessage.received_at, Draft.created_at)
            .join(Draft, (Draft.case_id == InboundMessage.case_id) & (Draft.version == 1))
            .where(InboundMessage.id > after_id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [(made - got).total_seconds() for got, made in rows], max(r[1] for r in rows)

    def last_inbound_id(self) -> int:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return int(
                conn.execute(text("SELECT coalesce(max(id), 0) FROM inbound_messages")).scalar_one()
            )


# --- ceilings --------------------------------------------------------------------


def noop_app() -> Any:
    """A Celery app on the same broker and configuration as ours, with one no-op task."""
    from celery import Celery

    from consultant.settings import get_settings
    from workers.app import PollSoon, celery_config

    app = Celery("bench_noop")
    app.steps["consumer"].add(PollSoon)  # as our worker does
    config = celery_config(get_settings())
    config.update(imports=[], task_default_queue=NOOP_QUEUE, beat_schedule={})
    app.config_from_object(config)
    done: dict[str, int] = {}

    @app.task(name="bench.noop")  # type: ignore[untyped-decorator]
    def noop() -> None:
        # One byte per task in a shared file: how the benchmark counts completions.
        if "fd" not in done:
            done["fd"] = os.open(os.environ["BENCH_NOOP_FILE"], os.O_WRONLY | os.O_APPEND)
        os.write(done["fd"], b".")

    return app


def noop_rate(count: int, workers: int, log_dir: Path) -> float:
    """Tasks/s of a no-op task through the broker and `workers` worker processes."""
    marks = log_dir / "noop.done"
    marks.write_bytes(b"")
    os.environ["BENCH_NOOP_FILE"] = str(marks)
    worker = Child("noop-worker", this_script("--noop-worker", str(workers)), log_dir)
    with running(worker):
        worker.wait_ready()
        app = noop_app()
        start = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:  # as many publishers as the intake's enqueuer
            list(pool.map(lambda _: app.send_task("bench.noop", retry=False), range(count)))
        while marks.stat().st_size < count:
            time.sleep(0.01)
        return count / (time.perf_counter() - start)


def sink_rate(mails: list[bytes], clients: int, log_dir: Path) -> float:
    """Mails/s a bare aiosmtpd sink (a child process, as the intake is) accepts."""
    port = free_port()
    sink = Child("sink", this_script("--serve-sink", str(port)), log_dir)
    with running(sink):
        sink.wait_port(port)
        return blast(port, mails, clients)


def serve_sink(port: int) -> None:
    from aiosmtpd.controller import Controller

    server_kwargs = {"data_size_limit": 0, "decode_data": False}
    controller = Controller(
        BareSink(), hostname="127.0.0.1", port=port, server_kwargs=server_kwargs
    )
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()


# --- the pipeline ----------------------------------------------------------------


def percentiles(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {cuts[49]:6.2f} s   p95 {cuts[94]:6.2f} s   p99 {cuts[98]:6.2f} s"


def py_spy(directory: Path | None, name: str, pid: int, log_dir: Path) -> list[Child]:
    if directory is None:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{name}.txt"
    binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    argv = [binary, "record", "--pid", str(pid), "--format", "raw", "-o", str(out)]
    argv += ["--subprocesses", "--nonblocking", "--rate", "200"]
    return [Child(f"py-spy-{name}", argv, log_dir)]


def run_pipeline(args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    """The real intake and workers: a full-speed run, then a paced one."""
    from consultant.settings import get_settings

    port = get_settings().smtp_port
    progress = Progress()
    worker = Child("worker", consultant("worker", "--concurrency", str(args.workers)), log_dir)
    intake = Child("intake", consultant("intake"), log_dir)
    with running(worker, intake):
        worker.wait_ready()
        intake.wait_port(port)
        spies = py_spy(args.py_spy, "intake", intake.pid, log_dir)
        spies += py_spy(args.py_spy, "worker", worker.pid, log_dir)
        mails = make_mails(args.mails, seed=11)
        started = datetime.now(UTC)
        intake_rate = blast(port, mails, args.clients)
        progress.wait_for(args.mails)
        for spy in spies:
            spy.stop(signal.SIGINT)
        latencies, last = progress.timings(0)
        end_to_end = args.mails / (last - started).total_seconds()
        paced_rate = end_to_end / 2
        after = progress.last_inbound_id()
        paced = make_mails(args.paced_mails, seed=13, first=args.mails)
        blast(port, paced, args.clients, rate=paced_rate)
        progress.wait_for(args.mails + args.paced_mails)
        paced_latencies, _ = progress.timings(after)
        pool = child_pids(worker.pid)
        rss = {
            "intake": peak_rss_mb(intake.pid),
            "worker main": peak_rss_mb(worker.pid),
            "worker pool": [peak_rss_mb(pid) for pid in pool],
        }
    return {
        "intake": intake_rate,
        "end_to_end": end_to_end,
        "latency": latencies,
        "paced_rate": paced_rate,
        "paced_latency": paced_latencies,
        "rss": rss,
    }


def report(
    args: argparse.Namespace, mails: list[bytes], noop: float, sink: float, run: dict[str, Any]
) -> None:
    sizes = [len(m) / 1024 for m in mails]
    html = sum(b"Content-Type: text/html" in m.split(b"\r\n\r\n", 1)[0] for m in mails)
    attached = sum(b"Content-Disposition: attachment" in m for m in mails)
    rss = run["rss"]
    pool = ", ".join(f"{mb:.0f}" for mb in rss["worker pool"])
    print(
        f"profile={args.profile} workers={args.workers} clients={args.clients} mails={args.mails} "
        f"(mean {statistics.mean(sizes):.1f} KB, {min(sizes):.0f}-{max(sizes):.0f} KB, "
        f"{html / len(mails):.0%} HTML-only, {attached / len(mails):.0%} with attachment)"
    )
    print("ceilings, same run:")
    print(f"  no-op Celery task ({args.workers} processes)  : {noop:8.1f} tasks/s")
    print(f"  bare aiosmtpd sink                : {sink:8.1f} mails/s")
    print("pipeline at full speed:")
    print(f"  intake (250 answered)             : {run['intake']:8.1f} mails/s")
    print(f"  end-to-end (drafts written)       : {run['end_to_end']:8.1f} drafts/s")
    print(f"  intake->draft latency             : {percentiles(run['latency'])}")
    print(
        f"paced at half the end-to-end rate ({run['paced_rate']:.1f} mails/s, "
        f"{args.paced_mails} mails):"
    )
    print(f"  intake->draft latency             : {percentiles(run['paced_latency'])}")
    print(
        f"peak RSS: intake {rss['intake']:.0f} MB, worker main {rss['worker main']:.0f} MB, "
        f"worker pool [{pool}] MB"
    )
    p99 = statistics.quantiles(run["paced_latency"], n=100, method="inclusive")[98]
    print("ratios against the goals:")
    print(f"  pipeline/no-op : {run['end_to_end'] / noop:5.2f}   goal >= 0.5")
    print(f"  intake/sink    : {run['intake'] / sink:5.2f}   goal >= 0.7")
    print(f"  paced p99      : {p99:5.2f} s goal < 2 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=["embedded", "production"], default="production")
    parser.add_argument("-n", "--mails", type=int, default=5000)
    parser.add_argument("--paced-mails", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--clients", type=int, default=4, help="concurrent SMTP clients")
    parser.add_argument("--ptp", choices=sorted(PTP), default="subset", help="NCCI PTP file")
    parser.add_argument("--py-spy", type=Path, help="record py-spy samples (raw) into DIR")
    parser.add_argument("--noop-worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.noop_worker:
        concurrency = str(args.noop_worker)
        noop_app().worker_main(["worker", "--loglevel", "INFO", "--concurrency", concurrency])
        return
    if args.serve_sink:
        serve_sink(args.serve_sink)
        return
    with tempfile.TemporaryDirectory() as var_dir:
        log_dir = Path(var_dir)
        database = configure(args.profile, log_dir)
        try:
            prepare(PTP[args.ptp])
            noop = noop_rate(args.mails, args.workers, log_dir)
            mails = make_mails(args.mails, seed=11)
            sink = sink_rate(mails, args.clients, log_dir)
            run = run_pipeline(args, log_dir)
        finally:
            if database:
                import psycopg

                from consultant.db.session import dispose_engines

                dispose_engines()
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    report(args, mails, noop, sink, run)


if __name__ == "__main__":
    main()
