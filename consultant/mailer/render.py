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


def text_as_html(text: str, title: str, override_dir: Path | None = None) -> str:
    """The HTML part for a reviewer-written text: paragraphs kept, quotes as blockquotes."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        quoted = bool(lines) and all(line.startswith(">") for line in lines)
        body = "\n".join(line[1:].lstrip() if quoted else line for line in lines)
        paragraphs.append({"text": body, "quoted": quoted})
    template = environment(override_dir).get_template("_layout/text_as_html.html.j2")
    return template.render(paragraphs=paragraphs, title=title)
