"""IMAP intake throughput against a bare fetch loop, measured in the same run.

Fills a real Dovecot mailbox (started here, as in the tests) with N consult
mails of realistic sizes, then measures in the same run:

- a bare imapclient loop that FETCHes the same mails in the same batches
  (sizes, then bodies) and discards them: the ceiling, measured before and
  after the poller and averaged;
- the poller (`MailboxPoller`, in a child process of its own) taking the same
  mailbox: fetch, store_raw, commit with the checkpoint, enqueue to the broker;

and prints both rates, their ratio, and the poller's peak RSS for N and for a
tenth of N (bounded memory: the two should be close). No timing is asserted
anywhere; the ratio is the figure to watch.

    python benchmarks/imap_intake.py                       # embedded: SQLite + SQLite broker
    python benchmarks/imap_intake.py --profile production  # PostgreSQL + Redis on this machine

Needs Dovecot (Debian package dovecot-imapd). The production profile creates
(and drops) its own PostgreSQL database and uses Redis db 12, which it flushes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

from intake import PG_ADMIN, configure, make_mails  # noqa: E402

from tests.integration.imapd import Dovecot  # noqa: E402


def mails(count: int) -> Iterator[bytes]:
    """Realistic mails, made 500 at a time so the filler stays small too."""
    for start in range(0, count, 500):
        yield from make_mails(min(500, count - start), seed=start)


def bare_fetch(server: Dovecot, user: str, password: str, batch: int) -> float:
    """FETCH every mail the way the poller does, keep nothing; mails per second."""
    from consultant.pipeline.intake.imap_fetch import chunks, fetch_groups

    client = server.client(user, password)
    start = time.perf_counter()
    client.select_folder("INBOX", readonly=True)
    uids = sorted(client.search(["UID", "1:*"]))
    for window in chunks(uids, batch):
        sizes = client.fetch(window, ["RFC822.SIZE"])
        for _, group in fetch_groups(window, sizes, 25 * 1024 * 1024, 32 * 1024 * 1024):
            client.fetch(group, ["BODY.PEEK[]"])
    elapsed = time.perf_counter() - start
    client.logout()
    return len(uids) / elapsed


def mailbox_env(server: Dovecot, name: str, user: str, password: str, batch: int) -> str:
    entry = {
        "name": name,
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": user,
        "password": password,
        "batch_size": batch,
    }
    return json.dumps([entry])


def run_poller(mailboxes: str) -> dict[str, float]:
    """Run the poller in a child process; return its rate and peak RSS."""
    env = {**os.environ, "CONSULTANT_MAILBOXES": mailboxes}
    done = subprocess.run(
        [sys.executable, __file__, "--child"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"poller child failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def child() -> None:
    """In the child: take the whole mailbox once, then report."""
    from consultant.pipeline.intake.imap import MailboxPoller
    from consultant.settings import get_settings
    from workers.tasks import enqueue_process_many

    settings = get_settings()
    poller = MailboxPoller(settings, settings.mailboxes[0], enqueue_process_many, threading.Event())
    rss_before = _status_kb("VmRSS")
    # Reset the high-water mark (Linux), so the peak is the sync's own.
    Path("/proc/self/clear_refs").write_text("5")
    start = time.perf_counter()
    taken = poller.sync_once()
    poller.close()  # the enqueues are part of the work
    elapsed = time.perf_counter() - start
    peak = _status_kb("VmHWM")
    print(json.dumps({"mails": taken, "rate": taken / elapsed, "rss0": rss_before, "rss": peak}))


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def fill(server: Dovecot, count: int) -> tuple[str, str]:
    user, password = f"bench{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    server.add_user(user, password)
    server.deliver(user, "INBOX", mails(count))
    # Let Dovecot index the folder once, so neither contender pays for it.
    client = server.client(user, password)
    client.select_folder("INBOX", readonly=True)
    client.fetch(client.search(["ALL"]), ["RFC822.SIZE"])
    client.logout()
    return user, password


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=["embedded", "production"], default="embedded")
    parser.add_argument("-n", "--mails", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100, help="UIDs per FETCH window")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return
    from consultant.db.migrate import upgrade
    from consultant.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        database = configure(args.profile, Path(tmp) / "var")
        upgrade(Settings())
        server = Dovecot(Path(tmp) / "dovecot")
        server.start()
        try:
            small = fill(server, max(1, args.mails // 10))
            large = fill(server, args.mails)
            mean_kb = sum(len(m) for m in make_mails(200)) / 200 / 1024
            # The ceiling is measured before and after the poller, and averaged:
            # these machines are shared, and a ratio should not hang on one run.
            bare_before = bare_fetch(server, *large, args.batch)
            poll_small = run_poller(mailbox_env(server, "small", *small, args.batch))
            poll = run_poller(mailbox_env(server, "large", *large, args.batch))
            bare_after = bare_fetch(server, *large, args.batch)
        finally:
            server.stop()
            if database:
                import psycopg

                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print(
        f"profile={args.profile} mails={args.mails} batch={args.batch} mean size≈{mean_kb:.1f} KB"
    )
    bare = (bare_before + bare_after) / 2
    print(
        f"bare imapclient fetch : {bare:8.1f} mails/s "
        f"(before {bare_before:.1f}, after {bare_after:.1f})"
    )
    print(f"consultant poller     : {poll['rate']:8.1f} mails/s ({poll['mails']:.0f} stored)")
    print(f"ratio poller/bare     : {poll['rate'] / bare:8.2f}")
    print(
        f"poller peak RSS       : {poll['rss'] / 1024:6.1f} MB for {args.mails} mails, "
        f"{poll_small['rss'] / 1024:6.1f} MB for {max(1, args.mails // 10)} "
        f"(before the sync: {poll['rss0'] / 1024:.1f} MB)"
    )


if __name__ == "__main__":
    main()
