"""The startup guard: which Pythons have CVE-2024-6923, our encoder's self-test, and the
processes that write mail refusing to start when the build is affected and our own
encoding is not in force."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.header import decode_header, make_header
from typing import Any, NoReturn

import pytest
from click.testing import CliRunner

from consultant.cli import main, services
from consultant.mailer import compose, guard


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ((3, 7, 17), True),
        ((3, 8, 19), True),
        ((3, 8, 20), False),
        ((3, 9, 19), True),
        ((3, 9, 20), False),
        ((3, 10, 14), True),
        ((3, 10, 15), False),
        ((3, 11, 7), True),
        ((3, 11, 9), True),
        ((3, 11, 10), False),
        ((3, 12, 4), True),
        ((3, 12, 5), False),
        ((3, 13, 0), False),
        ((3, 14, 1), False),
    ],
)
def test_affected_builds_are_those_before_the_fixed_patch_levels(
    version: tuple[int, int, int], affected: bool
) -> None:
    assert guard.affected(version) is affected


def naive_build_reply(
    *, to: str, subject: str, from_address: str, rfc_message_id: str, in_reply_to: str, **_: Any
) -> bytes:
    """What an affected email package does: decode the encoded-words once, write them raw."""
    decoded = str(make_header(decode_header(subject)))
    lines = [
        f"From: {from_address}",
        f"To: {to}",
        f"Subject: {decoded}",
        "Date: Fri, 04 Dec 2026 18:00:00 +0000",
        f"Message-ID: {rfc_message_id}",
        f"In-Reply-To: {in_reply_to}",
        f"References: {in_reply_to}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain",
        "",
        "body",
    ]
    return "\r\n".join(lines).encode("utf-8")


def _affected_and_naive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "affected", lambda version=None: True)
    monkeypatch.setattr(compose, "build_reply", naive_build_reply)


def test_our_encoder_passes_its_self_test_on_this_python() -> None:
    assert guard.self_test() == []


def test_an_affected_build_logs_that_our_encoding_is_in_force(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(guard, "affected", lambda version=None: True)
    with caplog.at_level(logging.INFO, logger="consultant.mailer.guard"):
        guard.check_mail_encoding()
    [line] = [r.getMessage() for r in caplog.records if r.name == "consultant.mailer.guard"]
    assert "CVE-2024-6923" in line and "own header encoding is in force" in line


def test_a_fixed_build_logs_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _affected_and_naive(monkeypatch)
    monkeypatch.setattr(guard, "affected", lambda version=None: False)
    with caplog.at_level(logging.INFO, logger="consultant.mailer.guard"):
        guard.check_mail_encoding()  # even a naive encoder: the email package is fixed
    assert caplog.records == []


def test_an_affected_build_with_a_naive_encoder_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _affected_and_naive(monkeypatch)
    problems = guard.self_test()
    print("self-test:", problems)
    assert len(problems) == len(guard.payloads())
    with pytest.raises(guard.UnsafeMailEncoding, match=r"CVE-2024-6923.*3\.11\.10"):
        guard.check_mail_encoding()


def _started(*_: object, **__: object) -> NoReturn:
    raise AssertionError("the command started its service despite the unsafe encoding")


@pytest.mark.parametrize("command", [["intake"], ["worker"], ["web"], ["up"]])
def test_processes_that_write_mail_refuse_to_start(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], command: Sequence[str]
) -> None:
    from consultant.db import migrate
    from workers.app import app

    _affected_and_naive(monkeypatch)
    monkeypatch.setattr(services, "start_intake", _started)
    monkeypatch.setattr(services, "check_port", _started)
    monkeypatch.setattr(app, "worker_main", _started)
    monkeypatch.setattr(migrate, "upgrade", _started)
    result = CliRunner().invoke(main, list(command))
    print(result.output)
    assert result.exit_code == 1 and not isinstance(result.exception, AssertionError)
    assert "CVE-2024-6923" in result.output and "Refusing to write mail" in result.output
