"""The library in the database: the package's rules installed at migration, every
change a new version with its audit entry, an expert's edit kept across upgrades."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from consultant.db.migrate import upgrade
from consultant.db.models import AuditEntry, PolicyRule
from consultant.db.session import session_scope
from consultant.errors import Conflict, NotFound
from consultant.policies import store
from consultant.policies.rules import PolicyError, parse_rule
from consultant.settings import Settings


def first_rule(settings: Settings) -> Any:
    with session_scope(settings) as session:
        return store.in_use(session)[0]


def test_the_package_library_is_installed_by_the_migration(migrated: Settings) -> None:
    shipped = store.package_rules()
    with session_scope(migrated) as session:
        assert [rule.id for rule in store.in_use(session)] == sorted(r.id for r in shipped)
        details = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "policy.installed")
        ).all()
    assert details == [{"rules": [f"{rule.id} v{rule.version}" for rule in shipped]}]
    upgrade(migrated)  # again: nothing new
    with session_scope(migrated) as session:
        assert session.scalar(select(PolicyRule.id).order_by(PolicyRule.id.desc()).limit(1)) == len(
            shipped
        )


def test_an_edit_is_a_new_version_and_survives_a_newer_package(migrated: Settings) -> None:
    rule = first_rule(migrated)
    edited = parse_rule({**rule.entry(), "text": "Our reworded explanation."})
    with session_scope(migrated) as session:
        saved = store.save(session, edited, "expert@example.org", base_version=rule.version)
        assert saved is not None and saved.version == rule.version + 1
        assert store.save(session, edited, "expert@example.org") is None  # unchanged
    newer = parse_rule({**rule.entry(), "version": rule.version + 5, "text": "Package text."})
    with session_scope(migrated) as session:
        assert store.install_package(session, [newer]) == []
        assert store.history(session, rule.id)[0].text == "Our reworded explanation."
        assert store.one_version(session, rule.id, rule.version)[0].rule.text == rule.text
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "policy.edited"))
        assert [e.detail["rule"] for e in entries] == [rule.id]


def test_a_package_update_reaches_a_rule_nobody_edited(migrated: Settings) -> None:
    rule = first_rule(migrated)
    newer = parse_rule({**rule.entry(), "version": rule.version + 1, "text": "Package text."})
    with session_scope(migrated) as session:
        assert store.install_package(session, [newer]) == [rule.id]
        assert store.in_use(session)[0].text == "Package text."


def test_a_stale_edit_is_a_conflict_and_retiring_takes_a_rule_out_of_use(
    migrated: Settings,
) -> None:
    rule = first_rule(migrated)
    with session_scope(migrated) as session:
        with pytest.raises(Conflict):
            store.save(session, parse_rule({**rule.entry(), "text": "x."}), "a", base_version=9)
        retired = store.retire(session, rule.id, "admin@example.org")
        assert retired.retired and retired.version == rule.version + 1
        assert rule.id not in [r.id for r in store.in_use(session)]
        with pytest.raises(PolicyError, match="already retired"):
            store.retire(session, rule.id, "admin@example.org")
        with pytest.raises(NotFound):
            store.history(session, "no-such-rule")


def test_an_import_adds_changes_and_skips_what_is_the_same(migrated: Settings) -> None:
    rule = first_rule(migrated)
    text = store.dump_yaml(
        [
            rule,
            parse_rule({**rule.entry(), "id": "brand-new", "version": 1}),
        ]
    )
    with session_scope(migrated) as session:
        result = store.import_rules(session, store.read_yaml(text), "importer@example.org")
    assert (result.added, result.changed, result.unchanged) == (["brand-new"], [], [rule.id])
    with pytest.raises(PolicyError, match="entry 1: an entry is a mapping"):
        store.read_yaml("- just a string\n")
    with pytest.raises(PolicyError, match="not YAML"):
        store.read_yaml("- [unclosed\n")
