"""Draft: render the reply a reviewer will start from.

Input: the case reference, the parsed mail and the code references found.
Output: a Rendered subject/text/HTML triple from ``mail_templates/answer/``.
The draft lists the codes first and leaves a marked place for the expert's
answer; approval refuses a draft that still holds that marker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consultant.mailer.render import Rendered, render_mail
from consultant.pipeline.extract import CodeRef
from consultant.pipeline.parse import ParsedMessage
from consultant.settings import Settings

PLACEHOLDER = "[[EXPERT ANSWER: replace this line with the answer before approving]]"
EXCERPT_LIMIT = 4000

SYSTEM_LABELS = {
    "cpt": "CPT",
    "hcpcs": "HCPCS Level II",
    "icd10cm": "ICD-10-CM",
    "icd10pcs": "ICD-10-PCS",
    "modifier": "Modifier",
}


def answer_context(
    settings: Settings, ref: str, parsed: ParsedMessage, codes: Sequence[CodeRef]
) -> dict[str, Any]:
    """Everything the answer templates may use; all of it is data, never template source."""
    new_text = parsed.new_text
    when = parsed.date.strftime("%d %b %Y") if parsed.date else "an earlier date"
    return {
        "ref": ref,
        "subject": parsed.subject,
        "greeting_name": parsed.sender_name.split()[0] if parsed.sender_name else "there",
        "sender": parsed.sender,
        "codes": [
            {
                "code": c.code,
                "system": c.system,
                "system_label": SYSTEM_LABELS.get(c.system, c.system),
                "as_written": c.as_written,
                "quoted": c.quoted,
            }
            for c in codes
        ],
        "placeholder": PLACEHOLDER,
        "from_name": settings.from_name,
        "question_intro": f"On {when}, {parsed.sender} wrote:",
        "question_excerpt": new_text.strip()[:EXCERPT_LIMIT],
    }


def render_answer(
    settings: Settings, ref: str, parsed: ParsedMessage, codes: Sequence[CodeRef]
) -> Rendered:
    """Render the first draft of the answer for a case."""
    context = answer_context(settings, ref, parsed, codes)
    return render_mail("answer", context, settings.templates_dir)
