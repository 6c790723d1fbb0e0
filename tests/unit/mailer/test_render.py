from __future__ import annotations

import re
from email import message_from_bytes, policy
from html import unescape
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from consultant.mailer.compose import build_reply
from consultant.mailer.render import answer_html, render_mail, strip_reply_prefixes, text_blocks


def _context(**overrides: object) -> dict[str, object]:
    context: dict[str, object] = {
        "ref": "CC-2026-000001",
        "subject": "Re: Q",
        "greeting_name": "Dana",
        "sender": "d@example.org",
        "codes": [],
        "lookup": None,
        "placeholder": "[[X]]",
        "from_name": "Desk",
        "question_intro": "On 1 Jan, d@example.org wrote:",
        "question_excerpt": "",
    }
    context.update(overrides)
    return context


def test_answer_subject_carries_the_case_reference_once() -> None:
    rendered = render_mail("answer", _context(subject="RE: Fwd: Knee [CC-2026-000001]"))
    assert rendered.subject == "Re: Knee [CC-2026-000001]"


def test_mail_content_is_escaped_in_html_and_never_run_as_template() -> None:
    hostile = "<script>alert(1)</script> {{ 7*7 }}"
    rendered = render_mail("answer", _context(question_excerpt=hostile, greeting_name=hostile))
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "{{ 7*7 }}" in rendered.text and "49" not in rendered.text


def test_missing_template_variable_is_an_error() -> None:
    context = _context()
    del context["ref"]
    with pytest.raises(UndefinedError):
        render_mail("answer", context)


def test_override_folder_wins(tmp_path: Path) -> None:
    (tmp_path / "answer").mkdir()
    (tmp_path / "answer" / "subject.txt.j2").write_text("Custom {{ ref }}")
    assert render_mail("answer", _context(), tmp_path).subject == "Custom CC-2026-000001"


def test_strip_reply_prefixes_handles_localised_prefixes() -> None:
    assert strip_reply_prefixes("AW: SV: Re[2]: Modifier 59") == "Modifier 59"


def test_reviewer_text_becomes_escaped_paragraphs() -> None:
    html = answer_html("Use 27447-LT <b>\n\n> quoted line", "CC-1")
    assert "&lt;b&gt;" in html and "<blockquote" in html and "quoted line" in html


def _visible(html: str) -> list[str]:
    """The text of each paragraph, item and quote, tags and spacing aside."""
    blocks = re.findall(r"<(p|li|blockquote)\b[^>]*>(.*?)</\1>", html, re.DOTALL)
    text = [re.sub(r"<[^>]+>", "", body.replace("<br>", " ")) for _, body in blocks]
    return [" ".join(unescape(body).split()) for body in text]


def test_an_edited_answer_keeps_the_styled_layout_of_the_template() -> None:
    """A reviewer's edit is laid out like the system's draft: the same paragraphs,
    the sources as a small list, the disclaimer and signature in grey, the question
    quoted; only the words the reviewer changed differ."""
    proposed = {
        "paragraphs": ["Yes: modifier 25 on 99214, the E/M line.", "20610 has 0 global days."],
        "sources": ["NCCI Policy Manual for Medicare Services, chapter XI, section C (2024)"],
    }
    context = _context(proposed=proposed, question_excerpt="Can I bill 99214 with 20610?\nThanks")
    drafted = render_mail("answer", context)
    edited = drafted.text.replace("0 global days", "zero global days")
    html = answer_html(edited, "CC-2026-000001")
    assert _visible(html) == [
        p.replace("0 global days", "zero global days") for p in _visible(drafted.html)
    ]
    assert re.search(r"<ul[^>]*font-size:12px[^>]*>\s*<li[^>]*>NCCI Policy Manual", html)
    assert re.search(r"<p[^>]*font-size:12px[^>]*>This answer is coding guidance", html)
    assert re.search(r"<blockquote[^>]*>Can I bill 99214 with 20610\?\nThanks</blockquote>", html)
    assert 'pre-wrap;">Hello' not in html and '<p style="margin:0 0 12px 0;">Hello Dana,' in html


def test_text_blocks_keep_every_line_of_an_unusual_text() -> None:
    text = "Title:\n- one\nnot a bullet\n\n1. first\n   more\n2. second\n\n--\nSig"
    blocks = text_blocks(text)
    assert blocks == [
        {"kind": "paragraph", "lines": ["Title:", "- one", "not a bullet"]},
        {"kind": "list", "title": None, "lines": ["first more", "second"]},
        {"kind": "signature", "lines": ["Sig"]},
    ]


def test_reply_is_threaded_and_has_both_parts() -> None:
    raw = build_reply(
        from_name="Desk",
        from_address="consult@example.org",
        to="d@example.org",
        subject="Re: Q [CC-2026-000001]",
        text="plain",
        html="<p>html</p>",
        rfc_message_id="<answer-1@example.org>",
        in_reply_to="<q@example.net>",
        references=["<root@example.net>"],
    )
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["In-Reply-To"] == "<q@example.net>"
    assert msg["References"] == "<root@example.net> <q@example.net>"
    assert msg["Message-ID"] == "<answer-1@example.org>"
    assert msg["Auto-Submitted"] is None
    assert msg.get_body(("plain",)).get_content().strip() == "plain"  # type: ignore[union-attr]
    assert "<p>html</p>" in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert b"\r\n" in raw
