"""`consultant policies` over a migrated SQLite database: list, show, an export that
imports back unchanged, a bad import file that writes nothing and names each bad
entry, and retire."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from consultant.cli import main
from consultant.db.models import AuditEntry, PolicyRule
from consultant.db.session import session_scope
from consultant.policies import store
from consultant.policies.rules import parse_rule
from consultant.settings import Settings

TWO_PARAGRAPHS = "First paragraph, in our own words.\n\nSecond paragraph: more of it."


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def rows(settings: Settings) -> int:
    with session_scope(settings) as session:
        return int(session.scalar(select(func.count()).select_from(PolicyRule)) or 0)


def edit(settings: Settings, rule_id: str, **fields: object) -> None:
    with session_scope(settings) as session:
        rule = store.history(session, rule_id)[0]
        store.save(session, parse_rule({**rule.entry(), **fields}), "expert@desk.example")


def test_list_shows_the_rules_in_use_and_all_adds_the_retired(migrated: Settings) -> None:
    first, second, *_ = sorted(store.package_rules(), key=lambda rule: rule.id)
    assert run("policies", "retire", second.id, "--as", "boss@desk.example").exit_code == 0
    listed = run("policies", "list")
    assert listed.exit_code == 0, listed.output
    assert first.id in listed.output and second.id not in listed.output
    assert "package" in listed.output and "consultant coding team, 2026-12-06" in listed.output
    everything = run("policies", "list", "--all")
    line = next(line for line in everything.output.splitlines() if line.startswith(second.id))
    assert f"v{second.version + 1} retired" in line and "cli" in line


def test_show_prints_the_whole_rule_and_one_line_per_version(migrated: Settings) -> None:
    rule = store.package_rules()[0]
    edit(migrated, rule.id, text=TWO_PARAGRAPHS, effective="2025-01-01")
    shown = run("policies", "show", rule.id)
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert f"{rule.id} v{rule.version + 1}: {rule.title}" in out and TWO_PARAGRAPHS in out
    assert all(citation in out for citation in rule.citations)
    assert "Applies when" in out and "Effective: 2025-01-01" in out
    versions = out.split("Versions:\n", 1)[1].splitlines()
    assert len(versions) == 2  # the package's version, and the edit
    assert versions[0].startswith(f" * v{rule.version + 1} ")
    assert "expert@desk.example (console)" in versions[0]
    assert versions[1].startswith(f"   v{rule.version} ") and "package (package)" in versions[1]
    old = run("policies", "show", rule.id, "--version", str(rule.version))
    assert rule.text in old.output and TWO_PARAGRAPHS not in old.output
    missing = run("policies", "show", "no-such-rule")
    assert missing.exit_code == 1 and "no policy rule no-such-rule" in missing.output


def test_an_export_imports_back_unchanged(migrated: Settings, tmp_path: Path) -> None:
    rule = store.package_rules()[0]
    edit(migrated, rule.id, text=TWO_PARAGRAPHS, unless=["inpatient"], expires="2030-12-31")
    exported = tmp_path / "library.yaml"
    assert run("policies", "export", str(exported)).exit_code == 0
    text = exported.read_text(encoding="utf-8")
    assert "text: |-\n" in text and "text: >-\n" in text  # prose as blocks, readable
    texts = {entry["id"]: entry["text"] for entry in yaml.safe_load(text)}
    assert texts[rule.id] == TWO_PARAGRAPHS
    assert run("policies", "export").output == text  # stdout: the same YAML
    before = rows(migrated)
    imported = run("policies", "import", str(exported), "--as", "boss@desk.example")
    assert imported.exit_code == 0, imported.output
    count = len(store.package_rules())
    assert imported.output.splitlines() == [
        "added: 0",
        "changed: 0",
        f"unchanged: {count} ({', '.join(sorted(r.id for r in store.package_rules()))})",
    ]
    assert rows(migrated) == before


def test_an_import_changes_and_adds_as_the_named_actor(migrated: Settings, tmp_path: Path) -> None:
    rule = store.package_rules()[0]
    entries = [
        {**rule.entry(), "title": "A clearer title"},
        {**rule.entry(), "id": "brand-new-rule", "version": 1},
    ]
    file = tmp_path / "edited.yaml"
    file.write_text(yaml.safe_dump(entries), encoding="utf-8")
    imported = run("policies", "import", str(file), "--as", "boss@desk.example")
    assert imported.output.splitlines()[:2] == [
        "added: 1 (brand-new-rule)",
        f"changed: 1 ({rule.id})",
    ]
    with session_scope(migrated) as session:
        assert store.history(session, rule.id)[0].title == "A clearer title"
        actors = session.execute(
            select(AuditEntry.actor, AuditEntry.action).where(AuditEntry.actor.like("boss@%"))
        ).all()
    assert sorted(actors) == [
        ("boss@desk.example", "policy.added"),
        ("boss@desk.example", "policy.edited"),
    ]


def test_a_bad_import_file_names_each_bad_entry_and_writes_nothing(
    migrated: Settings, tmp_path: Path
) -> None:
    good = {**store.package_rules()[0].entry(), "id": "would-be-added"}
    bad_id = {**good, "id": "Not An Id"}
    no_title = {**good, "id": "no-title", "title": ""}
    file = tmp_path / "bad.yaml"
    file.write_text(yaml.safe_dump([good, bad_id, no_title]), encoding="utf-8")
    before = rows(migrated)
    result = run("policies", "import", str(file))
    assert result.exit_code == 1
    problems = [line for line in result.stderr.splitlines() if line.startswith(f"{file}: entry")]
    assert len(problems) == 2, result.stderr
    assert problems[0].startswith(f"{file}: entry 2 (Not An Id): id must be")
    assert problems[1] == f"{file}: entry 3 (no-title): title is missing"
    assert result.stderr.splitlines()[-1] == f"Error: {file}: nothing imported (2 bad entries)"
    assert rows(migrated) == before
    not_yaml = tmp_path / "broken.yaml"
    not_yaml.write_text("- [unclosed\n", encoding="utf-8")
    broken = run("policies", "import", str(not_yaml))
    assert broken.exit_code == 1 and "not YAML" in broken.stderr
    assert rows(migrated) == before


def test_retire_writes_a_version_and_refuses_twice(migrated: Settings) -> None:
    rule = store.package_rules()[0]
    retired = run("policies", "retire", rule.id, "--as", "boss@desk.example")
    assert retired.output == f"{rule.id} retired (version {rule.version + 1})\n"
    with session_scope(migrated) as session:
        assert rule.id not in [r.id for r in store.in_use(session)]
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "policy.retired")
        ).one()
    assert (entry.actor, entry.detail["rule"], entry.detail["version"]) == (
        "boss@desk.example",
        rule.id,
        rule.version + 1,
    )
    again = run("policies", "retire", rule.id)
    assert again.exit_code == 1 and "already retired" in again.output
