"""Robot and bounce classification rates over the shared mail-robustness corpus.

Prints, per folder: files, bounces detected, bounces with the original
Message-ID, with a recipient, with a status, and robots detected. Nothing is
asserted; tests/unit/pipeline/test_bounces.py holds the floors.

    python benchmarks/classify_rates.py            # ../shared beside the checkout
    python benchmarks/classify_rates.py --misses   # also list sisimai bounces not detected
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from consultant.pipeline.bounces import detect_bounce
from consultant.pipeline.robots import robot_reason

REPO = Path(__file__).resolve().parents[1]
CORPUS = "corpus/mail-robustness"
SISIMAI = "sisimai-set-of-emails/maildir"
# (label, folder, which files): sisimai's folders mix bounces, RFC 3834
# auto-replies and ARF reports, so they are split by file name.
ROWS = (
    *(
        (f"sisimai {name} {kind}", f"{SISIMAI}/{name}", kind)
        for name in ("bsd", "dos", "mac")
        for kind in ("bounces", "rfc3834", "arf")
    ),
    ("sisimai err", f"{SISIMAI}/err", "all"),
    ("sisimai tmp", f"{SISIMAI}/tmp", "all"),
    ("sisimai not", f"{SISIMAI}/not", "all"),
    ("flanker bounce", "flanker/tests/fixtures/messages/bounce", "all"),
    ("flanker complaints", "flanker/tests/fixtures/messages/complaints", "all"),
    ("mikel multipart_report", "mikel-mail/spec/fixtures/emails/multipart_report_emails", "all"),
)


def selected(folder: Path, kind: str) -> list[Path]:
    """The files of `folder` of one kind: bounces, rfc3834, arf or all."""
    paths = sorted(path for path in folder.rglob("*") if path.is_file())
    if kind == "all":
        return paths
    if kind == "bounces":
        return [path for path in paths if not path.name.startswith(("rfc3834-", "arf-"))]
    return [path for path in paths if path.name.startswith(f"{kind}-")]


@dataclass
class Counts:
    files: int = 0
    bounces: int = 0
    with_id: int = 0
    with_recipient: int = 0
    with_status: int = 0
    robots: int = 0


def count(paths: list[Path], misses: list[Path]) -> Counts:
    """Classify each file and tally what was found."""
    counts = Counts()
    for path in paths:
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        bounce = detect_bounce(msg)
        counts.files += 1
        counts.robots += robot_reason(msg) is not None
        if bounce is None:
            misses.append(path)
            continue
        counts.bounces += 1
        counts.with_id += bool(bounce.original_message_ids)
        counts.with_recipient += bounce.recipient is not None
        counts.with_status += bounce.status is not None
    return counts


def show(label: str, c: Counts) -> None:
    print(
        f"{label:<26} {c.files:5} {c.bounces:6} {c.with_id:4} {c.with_recipient:5}"
        f" {c.with_status:5} {c.robots:6}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--misses", action="store_true", help="list undetected sisimai bounces")
    args = parser.parse_args()
    shared = Path(os.environ.get("CONSULTANT_SHARED_DIR", REPO.parent / "shared"))
    root = shared / CORPUS
    if not root.is_dir():
        print(f"no corpus at {root}", file=sys.stderr)
        return 1
    print(f"{'folder':<26} files bounce  +id +rcpt +stat robots")
    misses: list[Path] = []
    seen: set[Path] = set()
    for label, folder, kind in ROWS:
        paths = selected(root / folder, kind)
        seen.update(paths)
        show(label, count(paths, misses if kind == "bounces" else []))
    rest = [path for path in root.rglob("*") if path.is_file() and path not in seen]
    show("rest of the corpus", count(sorted(rest), []))
    if args.misses:
        for path in misses:
            print("missed:", path.relative_to(root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
