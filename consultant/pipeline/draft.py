"""Draft: render the reply a reviewer will start from.

Input: the case reference, the parsed mail, the code references found and
the lookup report on them, and the proposed answer (consultant.answer) when
the question asked something the data answer. Output: a Rendered
subject/text/HTML triple from ``mail_templates/answer/``. A proposed answer
opens the draft, each verdict with the release it rests on, and the draft
carries only what it uses (the full fact sheet stays in ``drafts.lookup`` for
the reviewer). Without one, the draft lists the findings and each code's facts
and leaves a marked place for the expert's answer; approval refuses a draft
that still holds that marker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consultant.answer.engine import RULES_HEADING, Answer
from consultant.codes.facts import CONSULTANT, KIND_NAMES, Report, Source
from consultant.codes.systems import LABELS
from consultant.mailer.render import Rendered, render_mail
from consultant.pipeline.extract import CodeRef
from consultant.pipeline.parse import ParsedMessage
from consultant.settings import Settings

PLACEHOLDER = "[[EXPERT ANSWER: replace this line with the answer before approving]]"
EXCERPT_LIMIT = 4000

STATUS_LABELS = {
    "billable": "valid, billable",
    "valid": "valid",
    "header": "not billable: a heading, a more specific code is needed",
    "deleted": "deleted",
    "invalid": "not a valid code",
    "unchecked": "not checked",
}


def lookup_context(report: Report | None) -> dict[str, Any] | None:
    """The lookup report as template data: findings, codes with facts, and sources."""
    if report is None:
        return None
    sources: dict[str, Source] = {}

    def cite(source: Source) -> str:
        if source.kind != CONSULTANT:
            sources.setdefault(source.cite(), source)
        return source.short()

    findings = [
        {
            "severity": f.severity,
            "kind": f.kind,
            "codes": " + ".join(f.codes),
            "text": f.text,
            "source": cite(f.source),
        }
        for f in report.findings
    ]
    codes = [
        {
            "code": c.code,
            "system_label": LABELS.get(c.system, c.system),
            "status": STATUS_LABELS.get(c.status, c.status),
            "description": c.description,
            "facts": [{"text": f.text, "source": cite(f.source)} for f in c.facts],
        }
        for c in report.codes
    ]
    return {
        "dos": report.dos.isoformat(),
        "dos_basis": report.dos_basis,
        "findings": findings,
        "codes": codes,
        "not_loaded": [KIND_NAMES.get(kind, kind) for kind in report.not_loaded],
        "sources": list(sources),
    }


def proposed_context(proposed: Answer | None) -> dict[str, Any] | None:
    """The proposed answer as template data: its paragraphs and the sources they cite
    (the rules it rests on are `rules_context`)."""
    if proposed is None or not proposed.text:
        return None
    sources = {s.cite(): None for v in proposed.verdicts for s in v.sources if s.kind != CONSULTANT}
    paragraphs = [p for p in proposed.text.split("\n\n") if not p.startswith(RULES_HEADING)]
    return {"paragraphs": paragraphs, "sources": list(sources)}


def rules_context(proposed: Answer | None) -> list[dict[str, Any]]:
    """The policy rules the answer cites, one line each in the draft."""
    if proposed is None:
        return []
    return [
        {
            "id": found.rule.id,
            "version": found.rule.version,
            "title": found.rule.title,
            "citations": "; ".join(found.rule.citations),
        }
        for found in proposed.rules
    ]


def answer_context(
    settings: Settings,
    ref: str,
    parsed: ParsedMessage,
    codes: Sequence[CodeRef],
    report: Report | None = None,
    proposed: Answer | None = None,
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
                "system_label": LABELS.get(c.system, c.system),
                "as_written": c.as_written,
                "quoted": c.quoted,
                "range": c.range,
                "units": c.units,
            }
            for c in codes
        ],
        "lookup": lookup_context(report),
        "proposed": proposed_context(proposed),
        "rules": rules_context(proposed),
        "rules_heading": RULES_HEADING,
        "placeholder": PLACEHOLDER,
        "from_name": settings.from_name,
        "question_intro": f"On {when}, {parsed.sender} wrote:",
        "question_excerpt": new_text.strip()[:EXCERPT_LIMIT],
    }


def render_answer(
    settings: Settings,
    ref: str,
    parsed: ParsedMessage,
    codes: Sequence[CodeRef],
    report: Report | None = None,
    proposed: Answer | None = None,
) -> Rendered:
    """Render the first draft of the answer for a case."""
    context = answer_context(settings, ref, parsed, codes, report, proposed)
    return render_mail("answer", context, settings.templates_dir)
