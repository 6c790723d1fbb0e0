"""Servers of a test's own, for tests that stop, kill or restart them.

The machine's PostgreSQL and Redis serve every other test at the same time,
so a test that takes a server down starts a private one on a free port:
`PrivateRedis` (redis-server, nothing on disk) and `PrivatePostgres` (initdb
into a temporary folder, run as the `postgres` user when we are root, as
initdb refuses root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import redis

from tests.conftest import need
from tests.integration.conftest import redis_server_binary, wait_for
from tests.ports import free_port


class PrivateRedis:
    """A redis-server on `port` that keeps nothing on disk: a restart empties it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis("127.0.0.1", self.port)
        wait_for(lambda: _pings(client), f"private redis on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def _pg_bin() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary folder, on a free port, trust auth."""

    def __init__(self, directory: Path, port: int) -> None:
        bin_dir = _pg_bin()
        need(bin_dir is not None, "PostgreSQL server binaries are not installed")
        assert bin_dir is not None
        self.bin = bin_dir
        self.directory = directory
        self.data = directory / "data"
        self.port = port
        self.log = directory / "postgres.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
            "-c fsync=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: "fast" ends sessions cleanly, "immediate" is a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed: {result.stdout}{result.stderr}\n{log[-3000:]}")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private cluster, stopped and removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="consultant-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(directory, user.pw_uid, user.pw_gid)
    server = PrivatePostgres(directory, free_port())
    try:
        server.init()
        server.start()
        yield server
    finally:
        pid_file = server.data / "postmaster.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            with contextlib.suppress(ProcessLookupError):  # immediate shutdown
                os.kill(pid, signal.SIGQUIT)
            wait_for(lambda: not pid_file.exists(), "the private PostgreSQL to stop", 30)
        shutil.rmtree(directory, ignore_errors=True)
