"""The MIME pre-scan counts parts and nesting as the stdlib's parser would build them."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import Message

import pytest

from consultant.pipeline.limits import (
    MAX_ODD_FIELD,
    MAX_ODD_TOTAL,
    MimeShape,
    mime_limit_reason,
    scan,
    too_odd_to_read,
)
from consultant.settings import Settings
from tests.conftest import need, shared_dir
from tests.mime_shapes import many_parts, nested, with_content_type

CORPUS = shared_dir() / "corpus" / "mail-robustness"
# flanker's test of a mail that encloses itself over and over (3,043 parts).
OVER_DEFAULTS = {"flanker/tests/fixtures/messages/enclosed-endless.eml"}


def stdlib_shape(raw: bytes) -> MimeShape:
    msg = message_from_bytes(raw, policy=policy.default)
    return MimeShape(sum(1 for _ in msg.walk()), _depth(msg))


def _depth(part: Message, depth: int = 0) -> int:
    payload = part.get_payload()
    if part.is_multipart() and isinstance(payload, list):
        return max((_depth(sub, depth + 1) for sub in payload), default=depth + 1)
    return depth


@pytest.mark.parametrize(
    "raw",
    [many_parts(1), many_parts(2), many_parts(501), nested(1), nested(21)],
    ids=["one part", "two parts", "501 parts", "one level", "21 levels"],
)
def test_scan_counts_what_the_stdlib_builds(raw: bytes) -> None:
    assert scan(raw) == stdlib_shape(raw)


def test_a_mail_just_over_the_part_limit_is_refused_and_one_at_it_is_not() -> None:
    assert mime_limit_reason(many_parts(500), 500, 20) is None
    assert mime_limit_reason(many_parts(501), 500, 20) == "too many MIME parts (limit 500)"


def test_a_mail_just_over_the_depth_limit_is_refused_and_one_at_it_is_not() -> None:
    assert mime_limit_reason(nested(20), 500, 20) is None
    reason = mime_limit_reason(nested(21), 500, 20)
    assert reason == "MIME parts nested too deeply (limit 20 levels)"


def test_fifty_thousand_parts_stop_the_scan_just_past_the_limit() -> None:
    assert scan(many_parts(50_000), max_parts=500) == MimeShape(501, 1)


def test_delimiters_with_mac_line_ends_are_counted_too() -> None:
    raw = many_parts(600).replace(b"\r\n", b"\r")
    assert scan(raw) == stdlib_shape(raw) == MimeShape(600, 1)


def test_delimiter_lines_without_headers_between_them_each_open_a_part() -> None:
    # The stdlib ends a part's header block at a delimiter line: no blank line needed.
    raw = b"From: a@example.org\nContent-Type: multipart/mixed; boundary=b\n\n" + b"--b\n" * 900
    assert scan(raw, max_parts=500).parts > 500


def test_a_boundary_given_in_rfc2231_form_is_followed() -> None:
    raw = many_parts(600).replace(b"boundary=b", b"boundary*=us-ascii''%62")
    assert stdlib_shape(raw).parts == 600
    assert scan(raw).parts == 600


def test_attached_mails_count_as_parts_and_as_levels() -> None:
    inner = nested(2).replace(b"From:", b"X-Inner: 1\r\nFrom:")
    raw = (
        b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n"
        b"--outer\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"--outer--\r\n"
    )
    assert scan(raw) == stdlib_shape(raw) == MimeShape(5, 4)


def test_the_mail_robustness_corpus_is_within_the_default_limits() -> None:
    need(CORPUS.is_dir(), "the mail-robustness corpus is not beside the checkout")
    defaults = Settings()
    over = {
        str(path.relative_to(CORPUS))
        for path in sorted(CORPUS.rglob("*"))
        if path.is_file()
        and mime_limit_reason(path.read_bytes(), defaults.max_mime_parts, defaults.max_mime_depth)
    }
    print(f"\nover the default MIME limits: {sorted(over)}")
    assert over == OVER_DEFAULTS


def test_the_scan_never_counts_fewer_parts_than_the_stdlib_by_more_than_two() -> None:
    need(CORPUS.is_dir(), "the mail-robustness corpus is not beside the checkout")
    short = []
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        try:
            expected = stdlib_shape(raw)
        except RecursionError:
            continue
        found = scan(raw)
        if found.parts < expected.parts - 2 or found.depth < expected.depth:
            short.append(f"{path.relative_to(CORPUS)}: {found} < {expected}")
    assert short == []


def test_scan_reads_any_bytes() -> None:
    for raw in (
        b"",
        b"\n",
        b"--",
        b"Content-Type: multipart/x; boundary=\n\n--\n--\n",
        b"\xff" * 9,
    ):
        assert scan(raw).parts >= 1


@pytest.mark.parametrize(
    "parameters",
    [b'boundary*0="b"; boundary*1="x"', b"boundary*0*=us-ascii''%62; boundary*1=x"],
    ids=["plain segments", "encoded first segment"],
)
def test_a_boundary_in_rfc2231_segments_is_joined_as_the_stdlib_joins_it(
    parameters: bytes,
) -> None:
    raw = many_parts(600).replace(b"--b", b"--bx").replace(b"boundary=b", parameters)
    assert stdlib_shape(raw).parts == 600
    assert scan(raw).parts == 600


# Content-Type values that a plain regular expression misreads; the stdlib's
# parser finds boundary "b" in each (or, for the last three, no boundary).
ODD_FIELDS = [
    b'multipart/mixed; boundary="b',
    b"multipart/mixed; (a comment) boundary=b",
    b"multipart/mixed; boundary=(a comment)b",
    b"multipart/mixed; boundary=b\\",
    b'multipart/mixed; x="; boundary=zz"; boundary=b',
    b'multipart/mixed; boundary="=?utf-8?q?b?="',
    b"multipart/mixed; boundary=b; name=caf\xc3\xa9",
    b'multipart/mixed; x="a; boundary=b"',
    b"multipart/mixed; x=a(b; boundary=b",
    b"multipart/mixed; boundary=\xc3\xa9b",
]


@pytest.mark.parametrize("value", ODD_FIELDS, ids=[v.decode("latin-1") for v in ODD_FIELDS])
def test_an_odd_content_type_is_read_as_the_stdlib_reads_it(value: bytes) -> None:
    raw = with_content_type(many_parts(600), value)
    assert scan(raw) == stdlib_shape(raw)


@pytest.mark.parametrize("value", ODD_FIELDS[:7], ids=[v.decode("latin-1") for v in ODD_FIELDS[:7]])
def test_fifty_thousand_parts_behind_an_odd_boundary_are_over_the_limit(value: bytes) -> None:
    raw = with_content_type(many_parts(50_000), value)
    assert mime_limit_reason(raw, 500, 20) == "too many MIME parts (limit 500)"


def test_an_odd_field_over_its_byte_budget_is_unreadable_and_refused() -> None:
    comments = b"(c)" * (MAX_ODD_FIELD // 3 + 1)
    raw = with_content_type(many_parts(3), b"multipart/mixed; boundary=b " + comments)
    assert scan(raw).unreadable
    assert mime_limit_reason(raw, 500, 20) == too_odd_to_read()
    just_in = with_content_type(many_parts(3), b"multipart/mixed; boundary=b (c)")
    assert scan(just_in) == MimeShape(3, 1)


def test_odd_fields_past_the_mails_budget_make_it_unreadable() -> None:
    field = b"text/plain (" + b"c" * (MAX_ODD_FIELD - 40) + b")"
    part = b"--b\r\nContent-Type: " + field + b"\r\n\r\nModifier 59?\r\n"
    fits = MAX_ODD_TOTAL // (len(field) + 1)
    head = many_parts(1).removesuffix(b"--b--\r\n")
    assert not scan(head + part * fits + b"--b--\r\n").unreadable
    assert scan(head + part * (fits + 1) + b"--b--\r\n").unreadable


def test_attachments_named_in_encoded_words_are_read_and_counted() -> None:
    name = b'application/pdf; name="=?UTF-8?B?T3DDqXJhdGl2ZSBub3RlLnBkZg==?="'
    part = b"--b\r\nContent-Type: " + name + b"\r\n\r\nJVBERi0=\r\n"
    raw = many_parts(1).removesuffix(b"--b--\r\n") + part * 30 + b"--b--\r\n"
    assert scan(raw, 500, 20) == stdlib_shape(raw) == MimeShape(31, 1)


def test_a_field_the_stdlib_cannot_parse_is_unreadable_not_a_crash() -> None:
    raw = with_content_type(many_parts(3), b"multipart/mixed; boundary=b " + b"(" * 900)
    with pytest.raises(RecursionError):  # the full parse would run out of stack
        stdlib_shape(raw)
    assert scan(raw).unreadable
