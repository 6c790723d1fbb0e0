"""`consultant answer`: the verdicts and the proposed answer the desk would draft for
each mail FILE, from the code sets loaded in the configured database.

With --json each line is {"file", "dos", "verdicts", "answer", "rules"}, the contract of
../shared/corpus/questions-dev/ANSWERS.md (scored by shared/tools/score_answers.py
and benchmarks/answer_accuracy.py), with "rules" the policy rules the answer cites
({"id", "version", "title", "text", "citations"}, most specific first). Reads only;
a file that cannot be read or parsed gets {"file", "error"} and the exit status is 1.
"""

from __future__ import annotations

import json
import sys
from datetime import date

import click

from consultant.cli.common import cli_settings
from consultant.cli.extract import loaded_vocabulary
from consultant.db.session import session_scope
from consultant.errors import Quarantine


@click.command("answer")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file per line.")
def answer(files: tuple[str, ...], as_json: bool) -> None:
    """Print the verdicts and the proposed answer for each mail FILE (.eml)."""
    # On use: the parser loads lxml and inscriptis, the answer the CMS row readers.
    from consultant.answer.engine import answer_question
    from consultant.pipeline.extract import extract_message
    from consultant.pipeline.lookup import date_of_service
    from consultant.pipeline.parse import parse

    settings = cli_settings()
    vocabulary = loaded_vocabulary(settings)
    failed = False
    with session_scope(settings) as session:
        for name in files:
            try:
                with open(name, "rb") as handle:
                    parsed = parse(handle.read())
            except (OSError, Quarantine) as error:
                failed = True
                reason = error.strerror if isinstance(error, OSError) else str(error)
                click.echo(json.dumps({"file": name, "error": reason}) if as_json else reason)
                continue
            refs = extract_message(parsed, vocabulary)
            sent = parsed.date.date() if parsed.date else date.today()
            dos, _ = date_of_service(f"{parsed.subject}\n{parsed.new_text}", sent)
            found = answer_question(session, parsed.subject, parsed.new_text, refs, dos)
            verdicts = [verdict.as_json() for verdict in found.verdicts]
            if as_json:
                line = {"file": name, "dos": dos.isoformat(), "verdicts": verdicts}
                rules = [applied.rule.cited() for applied in found.rules]
                click.echo(json.dumps({**line, "answer": found.text, "rules": rules}))
                continue
            click.echo(f"== {name} (date of service {dos.isoformat()})")
            click.echo(found.text or "(no verdict drafted: the expert answers)")
    if failed:
        sys.exit(1)
