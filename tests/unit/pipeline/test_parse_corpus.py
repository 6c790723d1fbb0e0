"""The whole mail-robustness corpus (1,442 real tricky mails) through parse + classify.

Every file either parses or is quarantined with a specific reason; nothing
else may happen. Files are read in place from ../shared, never copied.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from consultant import mime
from consultant.db.session import session_scope
from consultant.errors import Quarantine
from consultant.pipeline.classify import Kind, classify
from consultant.pipeline.parse import ParsedMessage, load, parse
from consultant.settings import Settings
from tests.conftest import need, shared_dir

CORPUS = shared_dir() / "corpus" / "mail-robustness"
ZBATESON = CORPUS / "zbateson-mail-mime-parser" / "tests" / "_data" / "emails"


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.parent != CORPUS)


def _parse(name: str) -> ParsedMessage:
    return parse((CORPUS / name).read_bytes())


def test_every_corpus_file_parses_or_is_quarantined_with_a_reason(migrated: Settings) -> None:
    need(CORPUS.is_dir(), "the mail-robustness corpus is not beside the checkout")
    files = corpus_files()
    assert len(files) == 1442
    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    crashed = []
    with session_scope(migrated) as session:
        for path in files:
            try:
                parsed = parse(path.read_bytes())
                kinds[_kind(session, migrated, parsed)] += 1
                outcomes["parsed"] += 1
            except Quarantine as refusal:
                assert refusal.reason.strip()
                outcomes[f"quarantined: {refusal.reason.split(';')[0]}"] += 1
            except Exception as error:
                crashed.append(f"{path.relative_to(CORPUS)}: {error!r}")
    report = "\n".join(f"{n:6d}  {what}" for what, n in outcomes.most_common())
    print(f"\n{report}\n  classified: {dict(kinds)}\n  crashed: {len(crashed)}")
    assert crashed == []
    assert sum(outcomes.values()) == len(files)
    # Measured: 1,213 parse. The rest are not mails (bare reply bodies, address
    # lists, DKIM vectors, header snippets: "no header block"), encrypted or
    # Outlook .msg files, or headers without any sender.
    assert outcomes["parsed"] >= 1210
    assert outcomes["quarantined: no header block: this is not an Internet mail message"] <= 190


def _kind(session: Session, settings: Settings, parsed: ParsedMessage) -> str:
    return classify(session, settings, parsed).kind.value


def test_charsets_that_lie_or_are_exotic_are_decoded() -> None:
    need(CORPUS.is_dir(), "corpus missing")
    koi8 = load((CORPUS / "mailman3/src/mailman/email/tests/data/bad_email.eml").read_bytes())
    assert mime.header(koi8, "From") == "Рекреативное агентство"  # KOI8-R encoded-word
    with pytest.raises(Quarantine, match="no sender"):  # a name, but no address
        _parse("mailman3/src/mailman/email/tests/data/bad_email.eml")
    japanese = _parse("mikel-mail/spec/fixtures/emails/multi_charset/japanese_iso_2022.eml")
    assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in japanese.subject)


def test_outlook_msg_and_encrypted_mail_are_quarantined_with_their_reason() -> None:
    need(CORPUS.is_dir(), "corpus missing")
    with pytest.raises(Quarantine, match=r"Outlook \.msg"):
        _parse("spamscope-mail-parser/tests/mails/mail_outlook_1")
    encrypted = sorted((CORPUS / "rt" / "t" / "data" / "smime" / "mails").glob("*encrypted*"))
    encrypted += sorted((CORPUS / "rt" / "t" / "data" / "gnupg" / "emails").glob("*encrypted*"))
    assert encrypted
    refused = 0
    for path in encrypted:
        try:
            parse(path.read_bytes())
        except Quarantine as refusal:
            assert "encrypted" in refusal.reason
            refused += 1
    assert refused >= len(encrypted) // 2


def test_tnef_winmail_dat_is_detected_and_named() -> None:
    need(ZBATESON.is_dir(), "corpus missing")
    parsed = parse((ZBATESON / "m4006.txt").read_bytes())
    tnef = [a for a in parsed.attachments if a.tnef]
    assert [a.filename.lower() for a in tnef] == ["winmail.dat"]
    assert any("TNEF" in note for note in parsed.notes)


def test_zbateson_attachments_agree_with_the_original_files() -> None:
    """Names and sizes of attachments against the suite's original files (emails/files/)."""
    need(ZBATESON.is_dir(), "corpus missing")
    originals = {p.name: p.stat().st_size for p in (ZBATESON / "files").iterdir()}
    checked = agreed = 0
    for path in sorted(ZBATESON.glob("m*.txt")):
        for attachment in parse(path.read_bytes()).attachments:
            if attachment.filename not in originals:
                continue
            checked += 1
            agreed += abs(attachment.size - originals[attachment.filename]) <= 3
    rate = agreed / checked
    print(f"\nzbateson attachments: {agreed}/{checked} agree in name and size ({rate:.1%})")
    assert checked >= 40
    assert rate >= 0.9


def test_classify_sets_robots_and_bounces_aside_on_real_mail(migrated: Settings) -> None:
    need(CORPUS.is_dir(), "corpus missing")
    sisimai = CORPUS / "sisimai-set-of-emails" / "maildir"
    samples = {
        "rfc3834": sorted(sisimai.rglob("rfc3834-*"))[:5],
        "rfc3464": sorted(sisimai.rglob("rfc3464-*"))[:5],
    }
    with session_scope(migrated) as session:
        for group, paths in samples.items():
            assert paths, group
            for path in paths:
                verdict = classify(session, migrated, parse(path.read_bytes()))
                # No outbound mail of ours exists here, so a bounce is a robot too.
                assert verdict.kind is Kind.ROBOT, (path.name, verdict)
                assert verdict.reason
