"""What mutation starts from: the corpus mails, and the names the harness seeds its database with.

Input: the corpus mails beside the checkout (../shared/corpus, read in place,
never copied). Output: `load_seeds(shared)`, a `Seeds` of every corpus mail up
to MAX_SEED_SIZE bytes in a stable order, and the case, sender and message ids
that the pipeline harness stores and the threading mutators name. No state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAX_SEED_SIZE = 256 * 1024  # bigger corpus mails cost time and add nothing the mutators lack
SKIP = frozenset({"README.md", ".gitattributes", "labels.jsonl"})

# What the pipeline harness seeds its database with, so threading mutators
# can name a real case, outbound and inbound mail.
CASE_REF = "CC-2026-0001"
CASE_SENDER = "asker@example.org"
OUTBOUND_ID = "<fuzz-answer@consultant.invalid>"
INBOUND_ID = "<fuzz-question@example.org>"
AUTHSERV_ID = "mx.example.org"


@dataclass(frozen=True, slots=True)
class Seeds:
    names: tuple[str, ...]  # paths below corpus/, for reports
    mails: tuple[bytes, ...]


def load_seeds(shared: Path, max_size: int = MAX_SEED_SIZE) -> Seeds:
    """Every corpus mail up to `max_size` bytes, in a stable order."""
    corpus = shared / "corpus"
    paths = sorted(
        p
        for p in corpus.rglob("*")
        if p.is_file() and p.name not in SKIP and p.stat().st_size <= max_size
    )
    return Seeds(
        tuple(str(p.relative_to(corpus)) for p in paths), tuple(p.read_bytes() for p in paths)
    )
