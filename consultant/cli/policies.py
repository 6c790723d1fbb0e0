"""`consultant policies`: the policy library, reviewed outside the console as YAML.

Input: an operator's command. Output: the rules (list, show with every
version), a YAML export that `import` reads back unchanged, and changes made
through consultant/policies/store.py, which writes each as the rule's next
version with its audit entry (the actor is --as, else $CONSULTANT_REVIEWER,
else "cli:<user>"). An import file is checked whole before anything is
written: one with bad entries prints one line per bad entry on stderr, writes
nothing, and exits with status 1, like every refusal of the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from consultant.cli.common import actor, cli_session, cli_settings
from consultant.policies import store
from consultant.policies.rules import PolicyError, Rule
from consultant.policies.store import Version

AS = click.option("--as", "as_", metavar="ADDRESS", help="Who the audit log names.")


@click.group()
def policies() -> None:
    """The policy library: cited coding rules, their versions, YAML export and import."""


def _reviewed(rule: Rule) -> str:
    return f"{rule.reviewed_by}, {rule.reviewed_on.isoformat()}"


def _line(found: Version) -> dict[str, Any]:
    summary = found.summary()
    created = summary["created_at"].isoformat()
    return summary | {"created_at": created, "reviewed": _reviewed(found.rule)}


@policies.command("list")
@click.option("--all", "everything", is_flag=True, help="Also the retired rules.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
def policies_list(everything: bool, as_json: bool) -> None:
    """The rules in use: id, version, title, origin and who reviewed it when."""
    with cli_session(cli_settings()) as session:
        rows = [_line(found) for found in store.newest_versions(session, retired=everything)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no policy rules" + ("" if everything else " in use"))
        return
    click.echo(f"{'ID':<40} {'VERSION':<11} {'ORIGIN':<8} {'REVIEWED':<36} TITLE")
    for row in rows:
        version = f"v{row['version']}" + (" retired" if row["retired"] else "")
        click.echo(
            f"{row['id']:<40} {version:<11} {row['origin']:<8} {row['reviewed']:<36} {row['title']}"
        )


@policies.command("show")
@click.argument("rule_id", metavar="ID")
@click.option("--version", type=click.IntRange(min=1), help="This version (default: newest).")
def policies_show(rule_id: str, version: int | None) -> None:
    """The whole rule: text, citations, when it applies, dates, reviewer, its versions."""
    with cli_session(cli_settings()) as session:
        shown, versions = store.one_version(session, rule_id, version)
    rule = shown.rule
    state = " (retired)" if rule.retired else ""
    click.echo(f"{rule.id} v{rule.version}{state}: {rule.title}\n\n{rule.text}\n\nCitations:")
    for citation in rule.citations:
        click.echo(f"  - {citation}")
    click.echo("Applies when (any one):")
    for condition in rule.applies:
        parts = (f"{key}: {', '.join(values)}" for key, values in condition.as_dict().items())
        click.echo("  - " + "; ".join(parts))
    if rule.unless:
        click.echo(f"Unless: {', '.join(rule.unless)}")
    effective, expires = rule.effective or "always", rule.expires or "no end"
    click.echo(f"Effective: {effective}; expires: {expires}")
    click.echo(f"Reviewed: {_reviewed(rule)}\nVersions:")
    for found in versions:
        mark = "*" if found.rule.version == rule.version else " "
        retired = " retired" if found.rule.retired else ""
        written = found.created_at.strftime("%Y-%m-%d %H:%M")
        click.echo(
            f" {mark} v{found.rule.version:<4} {written}  {found.author} ({found.origin}){retired}"
        )


@policies.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--all", "everything", is_flag=True, help="Also the retired rules.")
def policies_export(file: Path | None, everything: bool) -> None:
    """Write the rules in use as YAML to FILE (default: stdout); `import` reads it back."""
    with cli_session(cli_settings()) as session:
        rules = [found.rule for found in store.newest_versions(session, retired=everything)]
    text = store.dump_yaml(rules)
    if file is None:
        click.echo(text, nl=False)
        return
    file.write_text(text, encoding="utf-8")
    click.echo(f"{len(rules)} rule(s) written to {file}", err=True)


def _checked(file: Path) -> list[Rule]:
    """The file's rules; a bad file: one line per bad entry on stderr, exit status 1."""
    try:
        return store.read_yaml(file.read_text(encoding="utf-8"))
    except PolicyError as error:
        lines = str(error).splitlines()
        for line in lines:
            click.echo(f"{file}: {line}", err=True)
        count = sum(line.startswith("entry ") for line in lines)
        bad = f" ({count} bad entr{'y' if count == 1 else 'ies'})" if count else ""
        raise click.ClickException(f"{file}: nothing imported{bad}") from error


@policies.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@AS
def policies_import(file: Path, as_: str | None) -> None:
    """Check every entry of FILE, then write each rule that differs as its next version."""
    rules = _checked(file)
    with cli_session(cli_settings()) as session:
        result = store.import_rules(session, rules, actor(as_))
    for name, ids in (
        ("added", result.added), ("changed", result.changed), ("unchanged", result.unchanged)
    ):  # fmt: skip
        click.echo(f"{name}: {len(ids)}" + (f" ({', '.join(ids)})" if ids else ""))


@policies.command("retire")
@click.argument("rule_id", metavar="ID")
@AS
def policies_retire(rule_id: str, as_: str | None) -> None:
    """Retire a rule: its next version says so, and answers stop citing it."""
    with cli_session(cli_settings()) as session:
        retired = store.retire(session, rule_id, actor(as_), origin="cli")
    click.echo(f"{retired.id} retired (version {retired.version})")
