"""Render mail templates: one Jinja2 Environment, StrictUndefined, HTML autoescaped.

A mail is a subject/text/HTML triple in ``mail_templates/<name>/``. Content
that came from a mail is always passed as data, never compiled as template
source. A deployment's CONSULTANT_TEMPLATES_DIR overrides any file. The
rendered subject is one line of decoded text (consultant.mailer.headers.clean):
a subject encoded twice in the asker's mail does not survive as an encoded-word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    select_autoescape,
)

from consultant.mailer.headers import clean

_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|sv|wg|tr|rv)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_CASE_TAG = re.compile(r"\s*\[[A-Z]{1,8}-\d{4}-\d{4,}\]\s*")


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def strip_reply_prefixes(subject: str) -> str:
    """'Re: Fwd: Question [CC-2026-000001]' -> 'Question'."""
    return _CASE_TAG.sub(" ", _REPLY_PREFIX.sub("", subject)).strip()


@lru_cache(maxsize=4)
def environment(override_dir: Path | None = None) -> Environment:
    """The one Environment; templates in `override_dir` win over the built-in ones."""
    builtin = Path(str(files("mail_templates")))
    paths = [str(override_dir)] if override_dir else []
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader([*paths, str(builtin)])]),
        autoescape=select_autoescape(enabled_extensions=("html.j2", "html"), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["strip_reply_prefixes"] = strip_reply_prefixes
    return env


def render_mail(name: str, context: dict[str, Any], override_dir: Path | None = None) -> Rendered:
    """Render the subject/text/HTML triple of mail template `name`."""
    env = environment(override_dir)
    subject = env.get_template(f"{name}/subject.txt.j2").render(context)
    return Rendered(
        subject=clean(subject),
        text=env.get_template(f"{name}/body.txt.j2").render(context),
        html=env.get_template(f"{name}/body.html.j2").render(context),
    )


_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")
_SIGNATURE = ("-- ", "--")


def text_blocks(text: str, notes: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """A reviewer's plain text as blocks for a styled template to lay out.

    Each block has a kind and its lines: "quote" (every line starts with ">"),
    "intro" (the line before a quote, "On ..., ... wrote:"), "signature" (from a
    "-- " line on), "list" or "sources" (bullet lines, with an optional title line
    such as "Sources:"), "note" (a paragraph equal to one of `notes`, whitespace
    aside: the template's disclaimer), else "paragraph". Nothing is dropped.
    """
    known = {" ".join(note.split()) for note in notes}
    blocks: list[dict[str, Any]] = []
    for chunk in re.split(r"\n\s*\n", text.strip("\n")):
        lines = chunk.rstrip().splitlines()
        head = next((i for i, line in enumerate(lines) if line.startswith(">")), len(lines))
        if head < len(lines) and all(line.startswith(">") for line in lines[head:]):
            if head:  # "On 1 Aug 2024, ann@example.org wrote:" right above the quote
                intro = lines[head - 1].rstrip().endswith(":") and head == 1
                blocks.append({"kind": "intro" if intro else "paragraph", "lines": lines[:head]})
            blocks.append({"kind": "quote", "lines": [line[1:].lstrip() for line in lines[head:]]})
        elif lines and lines[0].rstrip() in _SIGNATURE:
            blocks.append({"kind": "signature", "lines": lines[1:]})
        elif " ".join(chunk.split()) in known:
            blocks.append({"kind": "note", "lines": [line.strip() for line in lines]})
        else:
            blocks.append(_list_or_paragraph(lines))
    return blocks


def _list_or_paragraph(lines: list[str]) -> dict[str, Any]:
    """Bullet lines (after an optional title line) are a list; continuation lines
    indented under an item belong to it. Anything else is a paragraph."""
    title = lines[0].strip() if lines and not _BULLET.match(lines[0]) else None
    items: list[str] = []
    for line in lines[1:] if title is not None else lines:
        if bullet := _BULLET.match(line):
            items.append(line[bullet.end() :].strip())
        elif items and line[:1].isspace() and line.strip():
            items[-1] += " " + line.strip()
        else:
            return {"kind": "paragraph", "lines": [line.strip() for line in lines]}
    if not items:
        return {"kind": "paragraph", "lines": [line.strip() for line in lines]}
    kind = "sources" if title is not None and title.lower().startswith("sources") else "list"
    return {"kind": kind, "title": title, "lines": items}


def answer_disclaimer(override_dir: Path | None = None) -> str:
    """The disclaimer paragraph the answer template puts after the answer."""
    return environment(override_dir).get_template("answer/_disclaimer.txt.j2").render()


def answer_html(text: str, ref: str, override_dir: Path | None = None) -> str:
    """The HTML part of an answer a reviewer wrote or edited: their text, laid out by
    the styled answer template (the same one the system's draft is rendered with)."""
    env = environment(override_dir)
    disclaimer = answer_disclaimer(override_dir)
    template = env.get_template("answer/body.html.j2")
    return template.render(approved=text_blocks(text, (disclaimer,)), ref=ref)
