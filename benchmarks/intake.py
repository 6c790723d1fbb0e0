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
import random
import smtplib
import socket
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from email import policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CODES = [
    "99213",
    "99214-25",
    "27447-LT",
    "20700",
    "J1100",
    "M86.161",
    "E11.9",
    "Z79.4",
    "modifier 59",
    "G0438",
    "0042T",
    "I10",
    "S72.001A",
    "XU",
]


def make_mails(count: int, seed: int = 7) -> list[bytes]:
    """Realistic questions: 1-10 codes, 2-50 KB (the rest is prose padding)."""
    rng = random.Random(seed)
    mails = []
    for number in range(count):
        msg = EmailMessage()
        msg["From"] = f"Coder {number} <coder{number % 97}@clinic{number % 13}.example.org>"
        msg["To"] = "consult@localhost"
        msg["Subject"] = f"Question {number}"
        msg["Message-ID"] = f"<bench-{number}-{uuid.uuid4().hex}@example.org>"
        codes = ", ".join(rng.sample(CODES, rng.randint(1, 10)))
        padding = "The note says the patient was seen for follow-up.\n" * rng.randint(30, 1000)
        msg.set_content(f"Can I bill {codes} together?\n\n{padding}\n")
        mails.append(msg.as_bytes(policy=policy.SMTP))  # CRLF, as on the wire
    return mails


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def blast(port: int, mails: list[bytes], clients: int) -> float:
    """Send every mail over `clients` connections; return mails per second."""
    chunks = [mails[i::clients] for i in range(clients)]

    def send(chunk: list[bytes]) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
            for raw in chunk:
                smtp.sendmail("bench@example.org", ["consult@localhost"], raw)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, chunks))
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
    from workers.tasks import enqueue_process

    settings = get_settings()
    upgrade(settings)
    controller = make_controller(settings, enqueue_process)
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
