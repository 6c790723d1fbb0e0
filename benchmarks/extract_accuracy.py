"""Extraction accuracy on hand-labelled real coding questions.

Reads a labelled corpus (default ../shared/corpus/questions-dev: `.eml` files
and `labels.jsonl`), runs the extract stage exactly as the pipeline does
(parse, then `extract_message`: Subject and new text, signature blanked) and
prints precision and recall per system and overall, twice:

- context only: no code sets loaded (a fresh install);
- with code sets: the vocabulary of a database holding the CMS files and the
  ICD-10-CM tabular. `--database URL` reads an existing one; by default a
  temporary SQLite database is built from ../shared/data (HCPCS, MUE, add-on,
  PFS) and the simple-icd-10-cm package.

A found code counts when (system, code) is labelled for that mail. Labels are
never changed here; `--verbose` lists every miss and false hit with its
context, and any hit whose text is a labelled negative.

    .venv/bin/python benchmarks/extract_accuracy.py [--corpus DIR] [--database URL] [-v]

Goal (issue 5): precision >= 0.99 and recall >= 0.98 overall, no system below 0.95.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from consultant.codes.systems import NO_VOCABULARY, SYSTEMS, Vocabulary
from consultant.pipeline.extract import extract_message
from consultant.pipeline.parse import parse

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CONSULTANT_SHARED_DIR", REPO.parent / "shared"))
DEFAULT_CORPUS = SHARED / "corpus" / "questions-dev"
DATA = SHARED / "data"


def score(corpus: Path, vocabulary: Vocabulary, verbose: bool) -> dict[str, Counter[str]]:
    """Count tp/fp/fn per system over the corpus."""
    counts: dict[str, Counter[str]] = {system: Counter() for system in SYSTEMS}
    for line in (corpus / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        parsed = parse((corpus / label["file"]).read_bytes())
        refs = extract_message(parsed, vocabulary)
        got = {(ref.system, ref.code): ref for ref in refs}
        gold = {(c["system"], c["code"]) for c in label["codes"]}
        negatives = {n["as_written"] for n in label.get("negatives", [])}
        for key in got.keys() | gold:
            outcome = "tp" if key in got and key in gold else "fp" if key in got else "fn"
            counts[key[0]][outcome] += 1
            if verbose and outcome != "tp":
                where = ""
                if key in got:
                    ref = got[key]
                    text = parsed.subject if ref.part == "subject" else parsed.text
                    where = " | " + text[max(0, ref.start - 40) : ref.end + 30].replace("\n", " ")
                print(f"  {outcome.upper()} {label['file']} {key[0]} {key[1]}{where}")
        if verbose:
            for ref in refs:
                if ref.as_written in negatives:
                    print(f"  NEGATIVE {label['file']} {ref.as_written!r} read as {ref.system}")
    return counts


def report(title: str, counts: dict[str, Counter[str]]) -> tuple[float, float]:
    print(f"\n{title}")
    print(f"  {'system':<9} {'labels':>6} {'found':>6} {'tp':>4} {'precision':>9} {'recall':>7}")
    total: Counter[str] = Counter()
    for system in SYSTEMS:
        c = counts[system]
        total.update(c)
        labels, found = c["tp"] + c["fn"], c["tp"] + c["fp"]
        if not labels and not found:
            print(f"  {system:<9} {0:>6} {0:>6} {0:>4} {'-':>9} {'-':>7}")
            continue
        print(
            f"  {system:<9} {labels:>6} {found:>6} {c['tp']:>4} "
            f"{_ratio(c['tp'], found):>9} {_ratio(c['tp'], labels):>7}"
        )
    labels, found = total["tp"] + total["fn"], total["tp"] + total["fp"]
    precision = total["tp"] / found if found else 1.0
    recall = total["tp"] / labels if labels else 1.0
    print(
        f"  {'overall':<9} {labels:>6} {found:>6} {total['tp']:>4} "
        f"{precision:>9.3f} {recall:>7.3f}   (goal: precision >= 0.99, recall >= 0.98)"
    )
    return precision, recall


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "-"


def built_vocabulary() -> Vocabulary:
    """Load the small CMS files and the ICD-10-CM tabular into a temporary SQLite database."""
    from consultant.codes.icd10cm import load_icd10cm
    from consultant.codes.importers import import_file
    from consultant.codes.vocabulary import build_vocabulary
    from consultant.db.migrate import upgrade
    from consultant.db.session import dispose_engines, session_scope
    from consultant.settings import Settings

    files = {
        "hcpcs": DATA / "hcpcs" / "HCPC2025_OCT_ANWEB.csv",
        "mue": DATA / "ncci" / "mue_practitioner_2024q3.csv",
        "addon": DATA / "ncci" / "aoc_medicare_2026q2.csv",
        "pfs": DATA / "pfs" / "pfs_rvu_indicators_2024_jul.csv",
    }
    with tempfile.TemporaryDirectory(prefix="consultant-extract-") as scratch:
        settings = Settings(var_dir=Path(scratch), database_url=f"sqlite:///{scratch}/codes.db")
        upgrade(settings)
        started = time.perf_counter()
        with session_scope(settings) as session:
            for kind, path in files.items():
                import_file(session, kind, path)
            load_icd10cm(session)
        with session_scope(settings) as session:
            vocabulary = build_vocabulary(session)
        dispose_engines()
    print(f"code sets loaded into a temporary database in {time.perf_counter() - started:.1f} s")
    return vocabulary


def database_vocabulary(url: str) -> Vocabulary:
    from consultant.codes.vocabulary import build_vocabulary
    from consultant.db.session import session_scope
    from consultant.settings import Settings

    with session_scope(Settings(database_url=url)) as session:
        return build_vocabulary(session)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--database", help="read the code sets from this database URL")
    parser.add_argument("--context-only", action="store_true", help="skip the code-set run")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    if not (args.corpus / "labels.jsonl").is_file():
        print(f"no labels.jsonl in {args.corpus}", file=sys.stderr)
        return 2
    print(f"corpus: {args.corpus}")
    report("context only (no code sets loaded)", score(args.corpus, NO_VOCABULARY, args.verbose))
    if not args.context_only:
        vocabulary = database_vocabulary(args.database) if args.database else built_vocabulary()
        sizes = {
            name: len(known) if known is not None else "not loaded"
            for name, known in (
                (name, vocabulary.codes(name)) for name in ("cpt", "hcpcs", "icd10cm")
            )
        }
        report(f"with code sets {sizes}", score(args.corpus, vocabulary, args.verbose))
    return 0


if __name__ == "__main__":
    sys.exit(main())
