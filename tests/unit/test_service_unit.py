"""config/consultant.service, the example systemd unit, holds what the README
promises: a dedicated user, private files, a read-only system with only var/
writable, no new privileges, a restart on failure, and a stop that lets `up`
stop its own children."""

from __future__ import annotations

import shlex
from pathlib import Path

from click.testing import CliRunner

from consultant.cli import main

UNIT = Path(__file__).resolve().parents[2] / "config" / "consultant.service"


def parse(text: str) -> dict[str, dict[str, list[str]]]:
    """systemd's format: [Section], Key=value lines (a key may repeat), # comments."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not Key=value: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(section: dict[str, list[str]], key: str) -> str:
    values = section.get(key, [])
    assert len(values) == 1, f"{key}: {values}"
    return values[0]


def test_the_unit_confines_the_desk_to_its_user_and_var() -> None:
    unit = parse(UNIT.read_text())
    service = unit["Service"]
    assert one(service, "User") == one(service, "Group") == "consultant"
    assert one(service, "UMask") == "0077"
    assert one(service, "NoNewPrivileges") == "yes"
    assert one(service, "ProtectSystem") == "strict"
    var = one(service, "Environment").removeprefix("CONSULTANT_VAR_DIR=")
    assert one(service, "ReadWritePaths") == var
    assert var.startswith(one(service, "WorkingDirectory"))
    assert one(service, "CapabilityBoundingSet") == ""
    assert one(unit["Install"], "WantedBy") == "multi-user.target"


def test_the_unit_restarts_on_failure_and_stops_through_up() -> None:
    service = parse(UNIT.read_text())["Service"]
    assert one(service, "Restart") == "on-failure"
    # SIGTERM to `up` only: it stops its children within 10 s (STOP_TIMEOUT).
    assert one(service, "KillMode") == "mixed"
    assert one(service, "KillSignal") == "SIGTERM"
    assert int(one(service, "TimeoutStopSec")) > 10


def test_the_unit_runs_a_command_that_exists() -> None:
    service = parse(UNIT.read_text())["Service"]
    argv = shlex.split(one(service, "ExecStart"))
    assert Path(argv[0]).name == "consultant"
    result = CliRunner().invoke(main, [*argv[1:], "--help"])
    assert result.exit_code == 0, result.output
    assert "--check" in result.output
