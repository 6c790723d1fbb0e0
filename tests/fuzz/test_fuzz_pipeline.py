"""CI slice of the fuzz run (benchmarks/fuzz.py runs 100,000 inputs): mutated real mail
through parse -> classify -> extract; nothing crashes, every refusal is documented."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from consultant.db.session import session_scope
from tests.conftest import need, shared_dir
from tests.fuzz.support.mutate import MUTATORS, mutated_mail
from tests.fuzz.support.pipeline_fuzz import (
    REFUSALS,
    Broken,
    check_one,
    fuzz_pipeline,
    fuzz_settings,
    prepare_database,
    refusal_kind,
)
from tests.fuzz.support.seeds import Seeds, load_seeds

SEED = int(os.environ.get("FUZZ_SEED", "7"))
INPUTS = 1500
CORPUS = shared_dir() / "corpus"


@pytest.fixture(scope="module")
def seeds() -> Seeds:
    need(CORPUS.is_dir(), "the mail corpora are not beside the checkout")
    return load_seeds(shared_dir())


def test_mutated_mail_never_crashes_parse_classify_or_extract(
    seeds: Seeds, env: dict[str, str], tmp_path: Path
) -> None:
    settings = fuzz_settings(tmp_path / "var")
    prepare_database(settings)
    with session_scope(settings) as session:
        tally = fuzz_pipeline(session, settings, seeds, SEED, 0, INPUTS)
    print(f"\n{tally.inputs} inputs in {tally.seconds:.1f} s: {dict(tally.outcomes)}")
    assert [str(finding) for finding in tally.findings] == []
    documented = {f"refused: {kind}" for kind, _ in REFUSALS}
    kinds = {"question", "follow_up", "robot", "bounce"}
    assert set(tally.outcomes) <= documented | kinds
    assert tally.inputs == INPUTS
    assert tally.outcomes["question"] > INPUTS // 10  # mutations leave most mail readable


def test_the_same_seed_and_index_rebuild_the_same_input(seeds: Seeds) -> None:
    for index in (1, 2, 999):
        assert mutated_mail(seeds, SEED, index) == mutated_mail(seeds, SEED, index)
    assert mutated_mail(seeds, SEED, 1).raw != mutated_mail(seeds, SEED + 1, 1).raw


@pytest.mark.parametrize("name", sorted(MUTATORS))
def test_every_mutator_takes_any_bytes(name: str, seeds: Seeds) -> None:
    import random

    rng = random.Random(name)
    for raw in (b"", b"x", b"\n\n", seeds.mails[0], seeds.mails[-1]):
        assert isinstance(MUTATORS[name](rng, raw, seeds), bytes)


def test_an_undocumented_quarantine_reason_is_a_finding() -> None:
    from consultant.errors import Quarantine

    assert refusal_kind(Quarantine("empty message")) == "empty message"
    with pytest.raises(Broken, match="undocumented"):
        refusal_kind(Quarantine("something new"))


def test_check_one_refuses_an_empty_message_as_documented(
    env: dict[str, str], tmp_path: Path
) -> None:
    settings = fuzz_settings(tmp_path / "var")
    prepare_database(settings)
    with session_scope(settings) as session:
        assert check_one(session, settings, b"  \n") == "refused: empty message"
        assert check_one(session, settings, b"From: a@example.org\n\nBill 99213?\n") == "question"
