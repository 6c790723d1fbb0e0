"""CI slice of the SMTP fuzz run (benchmarks/fuzz.py): raw sessions against the real
intake; every reply documented, RCPT to strangers 550, every 250 one stored row."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import need, shared_dir
from tests.fuzz.support.seeds import Seeds, load_seeds
from tests.fuzz.support.smtp_fuzz import fuzz_smtp
from tests.fuzz.support.smtp_intake import running_intake
from tests.fuzz.support.smtp_replies import LIMIT, LINE_LIMIT, model_data, reply_kind
from tests.fuzz.support.smtp_store import check_store

SEED = int(os.environ.get("FUZZ_SEED", "7"))
SESSIONS = 1000
CORPUS = shared_dir() / "corpus"


@pytest.fixture(scope="module")
def seeds() -> Seeds:
    need(CORPUS.is_dir(), "the mail corpora are not beside the checkout")
    return load_seeds(shared_dir())


def test_fuzzed_sessions_get_documented_replies_and_each_250_is_one_row(
    seeds: Seeds, env: dict[str, str], tmp_path: Path
) -> None:
    with running_intake(tmp_path / "var") as intake:
        tally = fuzz_smtp(intake.settings.smtp_port, seeds, SEED, 0, SESSIONS, clients=2)
        # The server still takes new connections after all that.
        after = fuzz_smtp(intake.settings.smtp_port, seeds, SEED, SESSIONS, 1)
    tally.add(after)
    findings = tally.findings + check_store(intake, tally)
    print(f"\n{tally.sessions} sessions, {len(tally.queued)} queued: {dict(tally.replies)}")
    assert findings == []
    assert tally.sessions == SESSIONS + 1
    for kind in ("queued", "no such consult address", "line too long", "too much mail data"):
        assert tally.replies[kind] > 0, kind


def test_the_data_model_reads_transparency_limits_and_bare_lf_as_aiosmtpd_does() -> None:
    stuffed = model_data(b"From: a@b\r\n\r\n..hidden\r\n.\r\n")
    assert stuffed.content == b"From: a@b\r\n\r\n.hidden\r\n" and stuffed.kinds == {"queued"}
    bare = model_data(b"From: a@b\n\n.\nstill data\r\n.\r\n")
    assert bare.content == b"From: a@b\n\n.\nstill data\r\n"
    early = model_data(b"x\r\n.\r\nRSET\r\n")
    assert early.content == b"x\r\n" and early.end == 6
    assert model_data(b"y" * 5000 + b"\r\n.\r\n").kinds == {"queued"}  # past RFC 5321's 1,000
    assert "line too long" in model_data(b"y" * LINE_LIMIT + b"\r\n.\r\n").kinds
    assert model_data(b"z\r\n" * (LIMIT // 3 + 1) + b".\r\n").kinds == {"too much mail data"}
    assert model_data(b" \r\n.\r\n").kinds == {"empty message"}


def test_an_exception_answer_is_never_a_documented_reply() -> None:
    assert (
        reply_kind(["451 4.3.0 Temporary failure, please try again later"])
        == "internal error (451)"
    )
    assert reply_kind(["500 Error: (ValueError) boom"]) == "exception text"
    assert reply_kind(["550 5.1.1 No such consult address here"]) == "no such consult address"
