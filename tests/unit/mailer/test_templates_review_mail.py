"""The reviewer's mails to the asker: a request for information and a refusal."""

from __future__ import annotations

import re

import pytest

from consultant.mailer.render import render_mail

REF = "CC-2026-000042"
KINDS = ("information_request", "refusal")
DISCLAIMER = "not legal advice or a guarantee of payment"


def _context(**overrides: str) -> dict[str, str]:
    """Exactly the variables review.py passes: StrictUndefined fails on any other."""
    context = {
        "greeting_name": "Dana",
        "ref": REF,
        "subject": "RE: Fwd: Modifier 59 with 27447? [CC-2026-000042]",
        "from_name": "Coding Consult Desk",
        "question": "Which knee was it?",
        "reason": "",
        "reviewer_name": "Sam Rivera, CPC",
    }
    context.update(overrides)
    return context


@pytest.mark.parametrize("kind", KINDS)
def test_subject_keeps_the_askers_subject_and_carries_the_case_tag_once(kind: str) -> None:
    assert render_mail(kind, _context()).subject == f"Re: Modifier 59 with 27447? [{REF}]"


@pytest.mark.parametrize("kind", KINDS)
def test_subject_without_one_from_the_asker_still_has_the_tag(kind: str) -> None:
    rendered = render_mail(kind, _context(subject="Re: "))
    assert rendered.subject == f"Re: Your coding question [{REF}]"


@pytest.mark.parametrize("kind", KINDS)
def test_both_parts_carry_greeting_reference_disclaimer_and_signature(kind: str) -> None:
    rendered = render_mail(kind, _context())
    for part in (rendered.text, " ".join(rendered.html.split())):
        assert "Hello Dana," in part
        assert REF in part
        assert DISCLAIMER in " ".join(part.split())
        assert "Sam Rivera, CPC" in part and "Coding Consult Desk" in part


@pytest.mark.parametrize("kind", KINDS)
def test_without_a_reviewer_name_the_signature_is_the_desk(kind: str) -> None:
    rendered = render_mail(kind, _context(reviewer_name=""))
    assert "-- \nCoding Consult Desk\nCase" in rendered.text
    assert ">Coding Consult Desk<br>" in rendered.html


@pytest.mark.parametrize("kind", KINDS)
def test_html_is_inline_styled_only_and_the_text_part_has_no_markup(kind: str) -> None:
    rendered = render_mail(kind, _context(reason="Payer contract question."))
    assert rendered.html.lstrip().startswith("<!DOCTYPE html>")
    for forbidden in ("<script", "<style", "<link", "javascript:", "class="):
        assert forbidden not in rendered.html.lower()
    assert not re.search(r"<[a-z/][^>]*>", rendered.text)


def test_information_request_shows_the_question_with_its_paragraphs_and_lines() -> None:
    question = "Which knee was operated on?\nLeft or right?\n\nWas an arthroscopy done too?"
    rendered = render_mail("information_request", _context(question=question))
    assert (
        "    Which knee was operated on?\n    Left or right?\n\n    Was an arthroscopy done too?\n"
        in rendered.text
    )
    paragraphs = re.findall(r"<p style=\"[^\"]*\">(.*?)</p>", rendered.html, re.DOTALL)
    assert "Which knee was operated on?<br>\nLeft or right?" in paragraphs
    assert "Was an arthroscopy done too?" in paragraphs
    assert "reply to this mail" in rendered.text.lower()


def test_information_request_question_is_data_escaped_in_html() -> None:
    hostile = '<script>alert(1)</script> <a href="https://evil.example">x</a> & {{ 7*7 }}'
    rendered = render_mail("information_request", _context(question=hostile))
    assert "<script>" not in rendered.html and "<a href" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "&amp; {{ 7*7 }}" in rendered.html
    assert hostile in rendered.text  # the text part shows it as written, never run
    assert "49" not in rendered.text + rendered.html


def test_refusal_without_a_reason_is_polite_and_says_no_more() -> None:
    rendered = render_mail("refusal", _context(reason=""))
    assert "cannot answer it through the consult desk" in " ".join(rendered.text.split())
    assert "reason" not in rendered.text.lower()
    assert "reason" not in rendered.html.lower()


def test_refusal_gives_the_reason_when_there_is_one_escaped_in_html() -> None:
    reason = "This is a payer contract question <Aetna & co>.\n\nWe answer coding questions only."
    rendered = render_mail("refusal", _context(reason=reason))
    assert "The reason:" in rendered.text
    assert "    This is a payer contract question <Aetna & co>." in rendered.text
    assert "payer contract question &lt;Aetna &amp; co&gt;." in rendered.html
    assert "<Aetna" not in rendered.html
    assert rendered.html.count("We answer coding questions only.") == 1
