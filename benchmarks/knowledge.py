"""Answer memory benchmark: search over 100,000 answered cases. Nothing is asserted.

Builds a scratch database (migrated to head) holding N answered cases: cases
rows, and each approval's rows made by consultant.memory.record's own
row-building code (`build`, `rows`) from a generated approved answer (the
template's frame, varied paragraphs naming the case's codes, the quoted
question) and a fact sheet with its pair verdict, inserted in bulk. The
words follow a Zipf law over a clinical vocabulary, so some are in most
answers and some in few. Then it times consultant.memory.search, each run in
a session of its own as a console request has: by a word, by a code, by both,
by a word or a code within a 90-day approval window, and by all three; and,
as the baseline, fetching one case by primary key the same way. It prints
the median and p95 of each, the ratio of each median to the baseline's, and
whether p95 is under 100 ms.

    python benchmarks/knowledge.py                     # SQLite (embedded), scratch var dir
    python benchmarks/knowledge.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/DB
    python benchmarks/knowledge.py --cases 20000 --runs 100

--database-url must name an empty PostgreSQL database: it is migrated and
filled (and ANALYZEd, as autovacuum would after a bulk load); drop it after.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

from scratch import child_env, listed, settings_of  # noqa: E402

GOAL_MS = 100.0
CHUNK = 5_000
START = datetime(2023, 1, 1, 8, 0, tzinfo=UTC)


PROCEDURES = listed(
    "20610 20611 27447 29881 29880 11042 17110 36415 96372 64483 62323 45378 43239 93000 "
    "71046 97110 97140 22840 22551 63047 J3301 J1100 J0585 J2001 G0008 Q0091 G0101 10060 "
    "12001 69210 20552 76942 95910 99406 G0439 66984 52000 19083 47562 49505"
)
EMS = listed("99202 99203 99204 99212 99213 99214 99215 99232 99291")
DIAGNOSES = listed("M17.11 M17.12 M25.561 E11.9 I10 Z23 S83.241A M54.50 J06.9 L03.115")
MODIFIERS = listed("25 59 XS XU LT RT 50 57 76 JW JZ")
WORDS = listed(
    "knee injection arthrocentesis aspiration bilateral unilateral global period postoperative "
    "visit decision surgery telehealth audio video place service facility office hospital "
    "inpatient outpatient observation emergency critical care minutes documentation medical "
    "necessity coverage denial appeal payer Medicare Medicaid commercial contractor article "
    "wastage discarded vial units dose infusion hydration push sequential concurrent drug "
    "vaccine administration screening preventive wellness annual problem oriented split "
    "shared teaching resident supervision assistant surgeon cosurgeon reduced discontinued "
    "anesthesia repeat distinct anatomic laterality seventh character encounter sequela "
    "excludes guideline sequencing fracture sprain strain diabetes hypertension obesity "
    "counseling tobacco cessation ultrasound guidance fluoroscopy imaging interpretation "
    "professional technical component modifier edit bundled separately identifiable minor "
    "major procedure endoscopy colonoscopy biopsy polypectomy lesion excision debridement "
    "wound closure laceration repair incision drainage abscess cataract lens arthroscopy "
    "meniscectomy chondroplasty synovectomy spine fusion discectomy laminectomy cervical "
    "lumbar thoracic epidural facet nerve block trigger point radiofrequency ablation "
    "chondromalacia tendinitis bursitis osteoarthritis effusion hemarthrosis gout "
    "pseudogout cellulitis pneumonia bronchitis asthma influenza covid prolonged "
    "consultation referral"
)


def zipf_words(rng: random.Random, count: int) -> list[str]:
    """`count` words, the first of WORDS most often (weights 1/rank)."""
    return rng.choices(WORDS, weights=[1 / rank for rank in range(1, len(WORDS) + 1)], k=count)


def sentence(rng: random.Random, codes: list[str]) -> str:
    words = zipf_words(rng, rng.randint(8, 18))
    if codes:
        words.insert(rng.randrange(len(words)), rng.choice(codes))
    return " ".join(words).capitalize() + "."


def question(rng: random.Random, first: str, second: str, dx: str, dos: date) -> str:
    ask = rng.choice(("Can we bill", "Is it ok to report", "Do we need a modifier for"))
    detail = " ".join(sentence(rng, []) for _ in range(rng.randint(1, 3)))
    return f"Hello,\n\n{ask} {first} with {second}? {detail} Dx {dx}. DOS {dos:%m/%d/%Y}.\n"


def approved_text(rng: random.Random, ref: str, first: str, second: str, asked: str) -> str:
    """An approved answer as the template frames it, with the reviewer's paragraphs."""
    modifier = rng.choice(MODIFIERS)
    pair = (
        f"{second} is column 2 to {first} under an NCCI edit: report {modifier} on "
        f"{second} only when the services were distinct. {sentence(rng, [])}"
    )
    more = [sentence(rng, [first, second]) + " " + sentence(rng, []) for _ in range(2)]
    quoted = "\n".join(f"> {line}" for line in asked.splitlines())
    return (
        f"Hello Dana,\n\nThank you for your coding question. Our reference for it is {ref}.\n\n"
        f"{pair}\n\n" + "\n\n".join(more) + "\n\nDate of service: 2024-09-03 (stated).\n\n"
        "Sources:\n  - NCCI PTP edits (practitioner), 2024 Q3, ptp.csv\n\n"
        "This answer is coding guidance from certified coders.\n\n-- \nCoding Consult Desk\n"
        f"Case {ref}.\n\nOn 03 Sep 2024, dana@clinic.example wrote:\n{quoted}\n"
    )


def answered_case(rng: random.Random, number: int, approved_at: datetime) -> dict[str, Any]:
    """One case's values: its row, and what consultant.memory.record.build takes."""
    if rng.random() < 0.7:
        first, second = rng.sample(PROCEDURES, 2)
    else:  # an E/M with a procedure
        first, second = rng.choice(EMS), rng.choice(PROCEDURES)
    dx, ref = rng.choice(DIAGNOSES), f"CC-{approved_at.year}-{number:06d}"
    asked = question(rng, first, second, dx, approved_at.date() - timedelta(days=3))
    pair = sorted((first, second))
    verdict = {"kind": "pair", "codes": pair, "edit": True, "column1": first, "column2": second}
    sheet = {"verdicts": [{**verdict, "modifier_indicator": "1", "sources": ["PTP 2024 Q3"]}]}
    subject = f"{first} and {second}: {' '.join(zipf_words(rng, 3))}"
    return {
        "case": {"id": number, "ref": ref, "sender": f"biller{number % 997}@clinic.example"},
        "build": {
            "case_id": number,
            "text": approved_text(rng, ref, first, second, asked),
            "sheet": sheet,
            "codes": [first, second, dx],
            "approved_by": rng.choice(("rita@desk.example", "otto@desk.example")),
            "approved_at": approved_at,
            "subject": subject,
            "question": asked,
        },
    }


def fill(settings: Any, cases: int, rng: random.Random) -> float:
    """Insert `cases` answered cases in bulk; return the seconds it took."""
    from sqlalchemy import insert

    from consultant.db.models import AnswerCode, ApprovedAnswer, Case, RememberedParagraph
    from consultant.db.session import session_scope
    from consultant.memory.record import build, rows

    started = time.perf_counter()
    step = timedelta(days=3 * 365) / cases
    for low in range(1, cases + 1, CHUNK):
        tables: dict[Any, list[dict[str, Any]]] = {
            Case: [],
            ApprovedAnswer: [],
            RememberedParagraph: [],
            AnswerCode: [],
        }
        for number in range(low, min(low + CHUNK, cases + 1)):
            made = answered_case(rng, number, START + step * number)
            when = made["build"]["approved_at"]
            case = {**made["case"], "subject": made["build"]["subject"], "state": "sent"}
            tables[Case].append({**case, "created_at": when, "updated_at": when})
            answer, paragraphs, codes = rows(build(**made["build"]), number)
            tables[ApprovedAnswer].append(answer)
            tables[RememberedParagraph] += paragraphs
            tables[AnswerCode] += codes
        with session_scope(settings) as session:
            for model, values in tables.items():
                session.execute(insert(model), values)
    return time.perf_counter() - started


def timed(settings: Any, job: Callable[[Any], object], runs: int) -> list[float]:
    """Milliseconds of `job(session)` per run, each in a new session (5 warm-up runs)."""
    from consultant.db.session import session_factory

    make = session_factory(settings)
    found = []
    for run in range(runs + 5):
        started = time.perf_counter()
        with make() as session:
            job(session)
        if run >= 5:
            found.append((time.perf_counter() - started) * 1e3)
    return found


def searches(rng: random.Random, cases: int) -> dict[str, Callable[[Any], object]]:
    """The searches timed, each drawing its own input per run."""
    from consultant.db.models import Case
    from consultant.memory import search

    def window() -> tuple[date, date]:
        since = (START + timedelta(days=rng.randrange(3 * 365 - 90))).date()
        return since, since + timedelta(days=90)

    return {
        "baseline: one case by id": lambda s: s.get(Case, rng.randint(1, cases)),
        "word": lambda s: search(s, rng.choice(WORDS)),
        "code": lambda s: search(s, code=rng.choice(PROCEDURES)),
        "word + code": lambda s: search(s, rng.choice(WORDS), rng.choice(PROCEDURES)),
        "word + 90-day window": lambda s: search(s, rng.choice(WORDS), "", *window()),
        "code + 90-day window": lambda s: search(s, "", rng.choice(PROCEDURES), *window()),
        "two words + code + window": lambda s: search(
            s, " ".join(rng.sample(WORDS, 2)), rng.choice(EMS + PROCEDURES), *window()
        ),
    }


def report(results: dict[str, list[float]]) -> None:
    baseline = statistics.median(next(iter(results.values())))
    print(f"{'search':<28} {'median ms':>10} {'p95 ms':>9} {'x baseline':>11}  under 100 ms")
    for name, times in results.items():
        median, p95 = statistics.median(times), statistics.quantiles(times, n=20)[-1]
        under = "yes" if p95 < GOAL_MS else "no"
        print(f"{name:<28} {median:>10.2f} {p95:>9.2f} {median / baseline:>11.1f}  {under}")


@contextmanager
def database(url: str) -> Iterator[Any]:
    """Settings over the named database, or a scratch SQLite var dir; migrated."""
    from consultant.db.migrate import upgrade
    from consultant.db.session import dispose_engines

    with tempfile.TemporaryDirectory(prefix="consultant-knowledge-") as var_dir:
        settings = settings_of(child_env(Path(var_dir), url))
        upgrade(settings)
        if _has_cases(settings):
            sys.exit("--database-url must name an empty database: this one has cases")
        try:
            yield settings
        finally:
            dispose_engines()


def _has_cases(settings: Any) -> bool:
    from sqlalchemy import select

    from consultant.db.models import Case
    from consultant.db.session import session_scope

    with session_scope(settings) as session:
        return session.scalar(select(Case.id).limit(1)) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=300, help="timed runs per search")
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with database(args.database_url) as settings:
        seconds = fill(settings, args.cases, rng)
        profile = "PostgreSQL" if args.database_url else "SQLite (embedded profile)"
        print(f"{profile}: {args.cases:,} answered cases inserted in {seconds:.1f} s")
        if args.database_url:
            from sqlalchemy import text

            from consultant.db.session import session_scope

            with session_scope(settings) as session:
                session.execute(text("ANALYZE"))
        jobs = searches(rng, args.cases)
        report({name: timed(settings, job, args.runs) for name, job in jobs.items()})


if __name__ == "__main__":
    main()
