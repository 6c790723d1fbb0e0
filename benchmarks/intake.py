"""Intake throughput against its ceiling, measured in the same run.

Sends N consult mails through the SMTP intake (store_raw committed before
250, then the real enqueue to the configured broker) from several concurrent
clients, then the same mails to a bare aiosmtpd sink that stores nothing, and
prints both rates and their ratio. No timing is asserted anywhere: the ratio
is the figure to watch.

    python benchmarks/intake.py                       # embedded: SQLite + SQLite broker
    python benchmarks/intake.py --profile production  # PostgreSQL + Redis on this machine

The production profile creates (and drops) its own PostgreSQL database and
uses Redis db 12, which it flushes.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from mailgen import make_mails

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ports import free_port  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
__all__ = ["PG_ADMIN", "BareSink", "blast", "configure", "free_port", "make_mails", "sink_rate"]


def blast(port: int, mails: list[bytes], clients: int, rate: float | None = None) -> float:
    """Send every mail over `clients` connections; return mails per second.

    With `rate`, mail k leaves no earlier than k/rate seconds after the start
    (a paced load), else as fast as the server answers.
    """
    start = time.perf_counter()

    def send(client: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
            for k in range(client, len(mails), clients):
                if rate and (wait := start + k / rate - time.perf_counter()) > 0:
                    time.sleep(wait)
                smtp.sendmail("bench@example.org", ["consult@localhost"], mails[k])

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, range(clients)))
    return len(mails) / (time.perf_counter() - start)


class BareSink:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


def sink_rate(mails: list[bytes], clients: int) -> float:
    port = free_port()
    controller = Controller(
        BareSink(),
        hostname="127.0.0.1",
        port=port,
        server_kwargs={"data_size_limit": 0, "decode_data": False},
    )
    controller.start()
    try:
        return blast(port, mails, clients)
    finally:
        controller.stop()


def configure(profile: str, var_dir: Path) -> str | None:
    os.environ["CONSULTANT_VAR_DIR"] = str(var_dir)
    os.environ["CONSULTANT_SMTP_PORT"] = str(free_port())
    if profile == "embedded":
        return None
    import psycopg
    import redis

    name = f"consultant_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["CONSULTANT_DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1/{name}"
    os.environ["CONSULTANT_BROKER_URL"] = "redis://127.0.0.1:6379/12"
    redis.Redis(db=12).flushdb()
    return name


def intake_rate(mails: list[bytes], clients: int) -> float:
    from consultant.db.migrate import upgrade
    from consultant.pipeline.intake.smtp import make_controller
    from consultant.settings import get_settings
    from workers.tasks import enqueue_process, enqueue_process_many

    settings = get_settings()
    upgrade(settings)
    controller = make_controller(settings, enqueue_process, enqueue_process_many)
    controller.start()
    try:
        return blast(settings.smtp_port, mails, clients)
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=["embedded", "production"], default="embedded")
    parser.add_argument("-n", "--mails", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    mails = make_mails(args.mails)
    size = sum(map(len, mails)) / len(mails) / 1024
    with tempfile.TemporaryDirectory() as var_dir:
        database = configure(args.profile, Path(var_dir))
        try:
            sink = sink_rate(mails, args.clients)
            intake = intake_rate(mails, args.clients)
        finally:
            if database:
                import psycopg

                from consultant.db.session import dispose_engines

                dispose_engines()
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print(
        f"profile={args.profile} mails={args.mails} clients={args.clients} mean size={size:.1f} KB"
    )
    print(f"bare aiosmtpd sink : {sink:8.1f} mails/s")
    print(f"consultant intake  : {intake:8.1f} mails/s")
    print(f"ratio intake/sink  : {intake / sink:8.2f}")


if __name__ == "__main__":
    main()
