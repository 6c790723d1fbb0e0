"""Mutated real mail, deterministic from (seed, index): the driver and its mutator registry.

Input: the seed mails (tests/fuzz/support/seeds.py). Output: `mutated_mail(seeds,
seed, index)`, a `Sample` whose bytes are one seed mail run through one to four
mutators from MUTATORS: byte-level (mutate_bytes.py), header-level
(mutate_headers.py), MIME-level (mutate_mime.py) and body content
(mutate_body.py). Every input is rebuilt from its (seed, index) alone, so a
finding is reproduced without the body ever being printed: the sample names its
seed file and mutators only.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from tests.fuzz.support.mutate_body import armour, giant_code_list, html_body
from tests.fuzz.support.mutate_bytes import (
    flip_bytes,
    line_endings,
    nul_bytes,
    random_bytes,
    splice,
    truncate,
)
from tests.fuzz.support.mutate_headers import (
    bad_addresses,
    bad_dates,
    drop_header,
    duplicate_header,
    eight_bit_header,
    encoded_words,
    huge_header,
    thread_headers,
)
from tests.fuzz.support.mutate_mime import (
    bad_base64,
    bogus_charset,
    bogus_cte,
    break_boundary,
    dsn,
    nest_multipart,
    nest_rfc822,
)
from tests.fuzz.support.seeds import Seeds

MAX_SAMPLE_SIZE = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Sample:
    index: int
    raw: bytes
    origin: str  # the seed file it was made from
    ops: tuple[str, ...]  # the mutators applied, in order


def mutated_mail(seeds: Seeds, seed: int, index: int) -> Sample:
    """The index-th input of run `seed`: a seed mail, mutated one to four times."""
    rng = random.Random(f"mail:{seed}:{index}")
    origin = rng.randrange(len(seeds.mails))
    raw = seeds.mails[origin]
    if index % 50 == 0:  # the unmutated mail now and then: the baseline must hold too
        return Sample(index, raw, seeds.names[origin], ())
    ops = tuple(rng.choices(NAMES, k=rng.choice((1, 1, 1, 2, 2, 3, 4))))
    for op in ops:
        raw = MUTATORS[op](rng, raw, seeds)[:MAX_SAMPLE_SIZE]
    return Sample(index, raw, seeds.names[origin], ops)


Mutator = Callable[[random.Random, bytes, Seeds], bytes]

MUTATORS: dict[str, Mutator] = {
    f.__name__: f
    for f in (
        flip_bytes,
        truncate,
        duplicate_header,
        drop_header,
        break_boundary,
        bogus_charset,
        bogus_cte,
        nest_multipart,
        nest_rfc822,
        huge_header,
        nul_bytes,
        eight_bit_header,
        bad_base64,
        encoded_words,
        giant_code_list,
        line_endings,
        splice,
        thread_headers,
        random_bytes,
        html_body,
        armour,
        dsn,
        bad_dates,
        bad_addresses,
    )
}
NAMES = tuple(MUTATORS)
