"""Reply/quote/signature splitting measured against upstream expected outputs.

Runs our `split_reply` and the two libraries we evaluated (mail-parser-reply,
quotequail) over four suites in ../shared/corpus/mail-robustness and prints, per
suite and splitter, fixtures, matches and the agreement rate, then the time each
splitter takes on two 200 KB bodies. Texts are compared with whitespace
normalised. No figure is asserted here; tests/unit/pipeline/test_quotes.py
asserts ours.

    .venv/bin/python benchmarks/reply_agreement.py

Suites and what "match" means:

- talon standard_replies (mailgun/talon, Apache-2.0): the text with quotations
  removed (signature kept, as talon's `extract_from_plain`) equals `*_reply_text`,
  or "Hello" when there is none (tests/text_quotations_test.py).
- talon signatures: the new text equals `*_body` minus `*_signature`, and the
  signature equals `*_signature` (tests/signature/extraction_test.py).
- github and crisp: the expectations below, transcribed from the upstream tests
  (MIT licence both): github/email_reply_parser test/email_reply_parser_test.rb and
  crisp-oss/email-reply-parser test/test.js. The expected text is what upstream
  marks neither quoted nor signature. Where upstream asserts only fragments
  ("starts with", "matches"), we check just those strings, present or absent.
"""

from __future__ import annotations

import email
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path

from consultant.pipeline.quotes import Split, split_reply

REPO = Path(__file__).resolve().parents[1]
CORPUS = (
    Path(os.environ.get("CONSULTANT_SHARED_DIR", REPO.parent / "shared"))
    / "corpus"
    / "mail-robustness"
)
TALON = Path("talon/tests/fixtures")
GITHUB = Path("github-email_reply_parser/test/emails")
CRISP = Path("crisp-email-reply-parser/test/fixtures")


@dataclass(frozen=True)
class Expect:
    """Upstream's expectation for one fixture; `exact=WHOLE` means the text unchanged."""

    exact: str | None = None
    contains: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    signature: str | None = None  # expected signature text
    has_signature: bool | None = None  # only whether there is one


WHOLE = "\0whole"
RIAK = (
    "Hi folks\n\nWhat is the best way to clear a Riak bucket of all key, values after\n"
    "running a test?\nI am currently using the Java HTTP API."
)
RIAK_FOOTER = (
    "_______________________________________________\nriak-users mailing list\n"
    "riak-users@lists.basho.com\nhttp://lists.basho.com/mailman/listinfo/riak-users_lists.basho.com"
)
ANOTHER = "Here is another email"

# github/email_reply_parser @ 59e5859c, test/email_reply_parser_test.rb (MIT).
GITHUB_EXPECT: dict[str, Expect] = {
    "email_1_1": Expect(RIAK, signature="-Abhishek Kona\n\n\n" + RIAK_FOOTER),
    "email_1_2": Expect(
        contains=("Hi,", "You can list the keys", "delete them all individually"),
        absent=("What is the best way", "riak-users mailing list"),
    ),
    "email_1_3": Expect("Oh thanks.\n\nHaving the function would be great."),
    "email_1_4": Expect("Awesome! I haven't had another problem with it."),
    "email_1_5": Expect(WHOLE),
    "email_1_6": Expect(contains=("I get proper rendering as well.",), absent=("Was this",)),
    "email_1_7": Expect(contains=(":+1:",), absent=("Steps 0-2",)),
    "email_1_8": Expect(
        "I will reply under this one\n\nand under this.",
        signature="--\nHey there, this is my signature",
    ),
    "correct_sig": Expect("this is an email with a correct -- signature.", signature="-- \nrick"),
    "email_2_1": Expect("Outlook with a reply"),
    "email_2_2": Expect("Outlook with a reply directly above line"),
    "email_iPhone": Expect(ANOTHER),
    "email_BlackBerry": Expect(ANOTHER),
    "email_multi_word_sent_from_my_mobile_device": Expect(ANOTHER),
    "email_sent_from_my_not_signature": Expect(
        ANOTHER + "\n\nSent from my desk, is much easier then my mobile phone."
    ),
    "email_bullets": Expect(
        "test 2 this should list second\n\nand have spaces\n\nand retain this formatting"
        "\n\n\n   - how about bullets\n   - and another"
    ),
    "email_one_is_not_on": Expect(
        contains=("One outstanding question",), absent=("The good news",)
    ),
    "email_sig_delimiter_in_middle_of_line": Expect(WHOLE),
}

COMMON = (
    "Fusce bibendum, quam hendrerit sagittis tempor, dui turpis tempus erat, pharetra sodales"
    " ante sem sit amet metus.\nNulla malesuada, orci non vulputate lobortis, massa felis"
    " pharetra ex, convallis consectetur ex libero eget ante.\nNam vel turpis posuere, rhoncus"
    " ligula in, venenatis orci. Duis interdum venenatis ex a rutrum.\nDuis ut libero eu lectus"
    " consequat consequat ut vel lorem. Vestibulum convallis lectus urna,\net mollis ligula"
    " rutrum quis. Fusce sed odio id arcu varius aliquet nec nec nibh."
)
_COMMON_FIXTURES = (
    "email_7 email_8 email_9 email_10 email_11 email_12 email_13 email_14 email_15 email_16"
    " email_17 email_18 email_22 email_23 email_24 email_25 email_26 email_portuguese"
    " email_german email_german_2 email_german_3 email_german_outlook email_norwegian_gmail"
    " email_finnish email_italian email_russian email_outlook_split_line_from"
    " email_gmail_split_line_from email_ios_outlook_fr email_ios_outlook email_msn"
    " email_fr_multiline email_french_2 email_en_multiline_2 email_original_message"
    " email_original_message_2 email_danish_dash_separator email_french_dash_separator"
    " email_tricky_5_mixed_languages email_tricky_10_special_chars_in_name"
    " email_tricky_12_no_space_after_header email_tricky_14_long_quote_header"
    " email_tricky_15_original_message_variations"
)

# crisp-oss/email-reply-parser @ 0b3704c8, test/test.js (MIT). The tricky_4 and
# tricky_18 tests assert nothing beyond "at least one fragment" and are left out.
CRISP_EXPECT: dict[str, Expect] = {
    **{name: Expect(COMMON) for name in _COMMON_FIXTURES.split()},
    "email_1": Expect(RIAK + "\n\n-Abhishek Kona"),
    "email_2": Expect(contains=("Hi,", "You can list"), absent=("What is the best way",)),
    "email_3": Expect("Oh thanks.\n\nHaving the function would be great.\n\n-Abhishek Kona"),
    "email_4": Expect(contains=("Awesome",), absent=("Loader",)),
    "email_5": Expect(WHOLE),
    "email_6": Expect(contains=("I get",), absent=("Was this",)),
    "correct_sig": Expect("this is an email with a correct -- signature.", signature="--\nrick"),
    "sig_no_empty_line": Expect(
        "this is an email with a signature with no empty line above.", signature="--\nrick"
    ),
    "email_one_is_not_on": Expect(
        contains=("One outstanding question",), absent=("The good news",)
    ),
    "email_sent_from": Expect(
        "Hi it can happen to any texts you type, as long as you type in between words or"
        " paragraphs."
    ),
    "email_emoji": Expect("\U0001f389\n\n\u2014\nJohn Doe\nCEO at Pandaland\n\n@pandaland"),
    "email_not_a_signature": Expect(WHOLE, has_signature=False),
    "email_not_a_signature_2": Expect(WHOLE, has_signature=False),
    "email_reply_header": Expect(contains=("On the other hand",), absent=("Hey, Stranger",)),
    "email_zoho": Expect(
        "What is the best way to clear a Riak bucket of all key, values after\nrunning a test?"
    ),
    "email_with_regards": Expect("Hi,\n\nI still have the same problem....\n\nCan you help?"),
    "email_tricky_1_on_false_positive": Expect(WHOLE),
    "email_tricky_2_url_with_wrote": Expect(
        contains=("Check out this article", "https://example.com")
    ),
    "email_tricky_3_code_block": Expect(contains=("function sendEmail",)),
    "email_tricky_6_regards_in_sentence": Expect(contains=("with regards to the payment",)),
    "email_tricky_7_multiple_dashes": Expect(contains=("Key Points",)),
    "email_tricky_8_sent_from_in_content": Expect(contains=("sent from my iPhone app",)),
    "email_tricky_9_nested_quotes": Expect(
        contains=("I agree with the points",), absent=("Thanks for forwarding",)
    ),
    "email_tricky_11_double_signature": Expect(
        contains=("Thanks for your help",), has_signature=True
    ),
    "email_tricky_13_timestamp_variations": Expect(WHOLE),
    "email_tricky_16_unicode_signatures": Expect(contains=("Thanks for the update",)),
    "email_tricky_17_forward_header": Expect(contains=("See the forwarded message",)),
    "email_tricky_19_quote_without_header": Expect(contains=("I wanted to respond",)),
    "email_tricky_20_html_entities": Expect(contains=("&gt; 100 and &lt; 200",)),
}


@dataclass(frozen=True)
class Result:
    """What one splitter made of a body."""

    visible: str  # new text without quotes and signature
    unquoted: str  # text without quotes, signature kept
    signature: str | None


def ours(text: str) -> Result:
    split = split_reply(text)
    return Result(split.new_text, unquoted_text(split), split.signature_text or None)


def unquoted_text(split: Split) -> str:
    """The text with only the quoted spans removed."""
    kept, pos = [], 0
    for start, end in split.quoted:
        kept.append(split.text[pos:start])
        pos = end
    return "".join([*kept, split.text[pos:]])


def mail_parser_reply(text: str) -> Result:
    from mailparser_reply import EmailReplyParser
    from mailparser_reply.constants import MAIL_LANGUAGES

    reply = EmailReplyParser(languages=list(MAIL_LANGUAGES)).read(text).replies[0]
    return Result(reply.body, reply.content, reply.signatures or None)


def quotequail_(text: str) -> Result:
    import quotequail

    shown = "".join(
        part for expand, part in quotequail.quote(text, quote_intro_line=True) if expand
    )
    return Result(shown, shown, None)


SPLITTERS: dict[str, Callable[[str], Result]] = {
    "ours": ours,
    "mail-parser-reply": mail_parser_reply,
    "quotequail": quotequail_,
}


def norm(text: str | None) -> str:
    return " ".join((text or "").split())


def plain_body(raw: bytes) -> str:
    """The text/plain body of an .eml, decoded by the stdlib."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(("plain",))
    return part.get_content() if isinstance(part, EmailMessage) else ""


def agrees(result: Result, text: str, expect: Expect) -> bool:
    """Tell whether a result meets one upstream expectation."""
    seen = norm(result.visible)
    if expect.exact is not None:
        want = text if expect.exact == WHOLE else expect.exact
        if seen != norm(want):
            return False
    if not all(norm(s) in seen for s in expect.contains):
        return False
    if any(norm(s) in seen for s in expect.absent):
        return False
    if expect.signature is not None and norm(result.signature) != norm(expect.signature):
        return False
    return expect.has_signature is None or (result.signature is not None) == expect.has_signature


Case = tuple[str, Callable[[Result], bool]]


def talon_standard_cases(corpus: Path) -> list[Case]:
    cases: list[Case] = []
    folder = corpus / TALON / "standard_replies"
    for path in sorted(folder.glob("*.eml")):
        text = plain_body(path.read_bytes())
        reply = path.with_name(path.stem + "_reply_text")
        want = reply.read_text(encoding="utf-8").strip() if reply.exists() else "Hello"
        cases.append((text, lambda r, want=want: norm(r.unquoted) == norm(want)))
    return cases


def talon_signature_cases(corpus: Path) -> list[Case]:
    cases: list[Case] = []
    for path in sorted((corpus / TALON / "signature/emails/stripped").glob("*_body")):
        body = path.read_text(encoding="utf-8")
        signature = path.with_name(path.name[: -len("body")] + "signature")
        want_sig = signature.read_text(encoding="utf-8").strip()
        want_body = body.strip()[: len(body.strip()) - len(want_sig)]

        def check(r: Result, want_body: str = want_body, want_sig: str = want_sig) -> bool:
            return norm(r.visible) == norm(want_body) and norm(r.signature) == norm(want_sig)

        cases.append((body, check))
    return cases


def table_cases(folder: Path, table: dict[str, Expect]) -> list[Case]:
    cases: list[Case] = []
    for name, expect in sorted(table.items()):
        text = (folder / f"{name}.txt").read_text(encoding="utf-8")
        cases.append((text, lambda r, text=text, expect=expect: agrees(r, text, expect)))
    return cases


SUITES: dict[str, Callable[[Path], list[Case]]] = {
    "talon standard_replies": talon_standard_cases,
    "talon signatures": talon_signature_cases,
    "github": lambda corpus: table_cases(corpus / GITHUB, GITHUB_EXPECT),
    "crisp": lambda corpus: table_cases(corpus / CRISP, CRISP_EXPECT),
}


def agreement(
    suite: str, splitter: Callable[[str], Result] = ours, corpus: Path = CORPUS
) -> tuple[int, int]:
    """Return (fixtures, matches) of one splitter on one suite."""
    cases = SUITES[suite](corpus)
    return len(cases), sum(1 for text, check in cases if check(splitter(text)))


def big_bodies() -> dict[str, str]:
    """Two 200 KB bodies: a long quoted thread, and unquoted prose."""
    question = "Can we bill 99214-25 with 20610 on the same day?\n\nThanks,\nJane Doe, CPC\n\n"
    header = "On Tue, Mar 3, 2026 at 10:00 AM John Smith <john@example.com> wrote:\n"
    quoted = "> The payer denied the claim for modifier 25 on the E/M visit, see attached.\n"
    prose = "The operative note documents an arthrocentesis of the left knee with injection.\n"
    thread = question + header + quoted * (200_000 // len(quoted))
    return {"quoted thread": thread[:200_000], "prose": (prose * 2600)[:200_000]}


def timing(splitter: Callable[[str], Result], text: str, runs: int = 9) -> tuple[float, float]:
    """Best and median milliseconds of one call."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        splitter(text)
        times.append((time.perf_counter() - t0) * 1000)
    return min(times), statistics.median(times)


def main() -> None:
    if not CORPUS.exists():
        sys.exit(f"corpus not found: {CORPUS}")
    print(f"{'suite':24} {'splitter':18} {'fixtures':>8} {'matches':>8} {'rate':>7}")
    for suite in SUITES:
        for name, splitter in SPLITTERS.items():
            total, matches = agreement(suite, splitter)
            print(f"{suite:24} {name:18} {total:8} {matches:8} {matches / total:7.1%}")
    print()
    for label, text in big_bodies().items():
        for name, splitter in SPLITTERS.items():
            best, median = timing(splitter, text)
            print(f"200 KB {label:14} {name:18} best {best:8.2f} ms  median {median:8.2f} ms")


if __name__ == "__main__":
    main()
