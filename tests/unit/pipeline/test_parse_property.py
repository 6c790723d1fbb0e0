"""Property: parse() on mutated real mails and random bytes returns a
ParsedMessage or raises Quarantine (the one documented refusal), nothing else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consultant.errors import Quarantine
from consultant.pipeline.parse import ParsedMessage, parse
from tests.conftest import REPO, shared_dir

CORPUS = shared_dir() / "corpus" / "mail-robustness"


def _seeds() -> list[bytes]:
    """Small real mails of many kinds: the repo's own, and corpus mail when present."""
    seeds = [p.read_bytes() for p in sorted((REPO / "tests" / "data" / "mail").glob("*.eml"))]
    if CORPUS.is_dir():
        picks = sorted(p for p in CORPUS.rglob("*.eml") if p.stat().st_size < 20_000)
        seeds += [p.read_bytes() for p in picks[:: max(1, len(picks) // 60)]]
    return seeds


SEEDS = _seeds()
NASTY = [
    b"\r",
    b"\r\n",
    b"\n\n",
    b"\x00",
    b"=?",
    b"?=",
    b"=?utf-8?b?",
    b"--",
    b"boundary=",
    b'Content-Type: multipart/mixed; boundary="x"\n',
    b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b"charset=x-unknown",
    b"\xff\xfe",
    b"\xe2\x80",
    b"begin 644 a.txt\n",
    b"-----BEGIN PGP",
    b"<blockquote>",
    b"On Mon, Jan 1, 2026 at 10:00 AM A <a@b.c> wrote:\n",
    b"\t",
]


@st.composite
def mutated_mail(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        where = draw(st.integers(0, len(raw)))
        action = draw(st.integers(0, 3))
        if action == 0:
            raw[where:where] = draw(st.sampled_from(NASTY))
        elif action == 1:
            raw[where:where] = draw(st.binary(min_size=1, max_size=16))
        elif action == 2:
            del raw[where : where + draw(st.integers(1, 64))]
        else:
            raw = raw[:where]
    return bytes(raw)


def _parses_or_refuses(raw: bytes) -> None:
    try:
        parsed = parse(raw)
    except Quarantine as refusal:
        assert refusal.reason
        return
    assert isinstance(parsed, ParsedMessage)
    assert parsed.sender or parsed.robot or parsed.bounce  # automatic mail may lack From
    assert parsed.split.text == parsed.text
    assert isinstance(parsed.new_text, str)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_mail())
def test_mutated_real_mail_parses_or_is_quarantined(raw: bytes) -> None:
    _parses_or_refuses(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_random_bytes_parse_or_are_quarantined(raw: bytes) -> None:
    _parses_or_refuses(raw)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_random_text_after_headers_parses(body: str) -> None:
    raw = b"From: a@example.org\nSubject: x\n\n" + body.encode("utf-8", "surrogatepass")
    _parses_or_refuses(raw)


def test_seeds_include_real_corpus_mail() -> None:
    assert len(SEEDS) >= 4 + (40 if CORPUS.is_dir() else 0)
