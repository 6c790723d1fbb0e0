"""The policy library in the database: every version of every rule kept.

Input: a session, and rules from the package (library/*.yaml), an import file
or the console. Output: the rules in use (each rule's newest version), a
rule's history, new versions with their audit entries. A change never
overwrites a row: an edit or a retirement writes the next version, so an
answer that cited version 2 can always show what version 2 said.

The package's rules are installed by `install_package` after every migration
to head (`consultant db upgrade`, `consultant up`): a rule the database lacks
is added, a rule whose newest version came from an older package is brought
to the package's version, and a rule an expert edited, imported or retired is
left as the expert left it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consultant.cases import audit
from consultant.db.models.policies import PolicyRule
from consultant.errors import Conflict, NotFound
from consultant.policies.rules import PolicyError, Rule, parse_library, parse_rule

PACKAGE = "package"
_cache: dict[tuple[str, int | None, int], tuple[Rule, ...]] = {}


def package_rules() -> list[Rule]:
    """The starting library shipped with the package, checked."""
    folder = resources.files("consultant.policies") / "library"
    entries: list[Any] = []
    for item in sorted(folder.iterdir(), key=lambda item: item.name):
        if item.name.endswith(".yaml"):
            entries.extend(yaml.safe_load(item.read_text(encoding="utf-8")) or [])
    return parse_library(entries)


def read_yaml(text: str) -> list[Rule]:
    """Rules from an export or an edited file; PolicyError names each bad entry."""
    try:
        entries = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PolicyError(f"not YAML: {error}") from None
    return parse_library(entries if entries is not None else [])


class _Prose(str):
    """A rule's text: written as a YAML block, folded (or literal, with line breaks)."""


class _Flow(list[str]):
    """A condition's codes or words: written on one line, [a, b]."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Prose,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", str(value), style="|" if "\n" in value else ">"
    ),
)
_Dumper.add_representer(
    _Flow, lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value, True)
)


def _readable(entry: dict[str, Any]) -> dict[str, Any]:
    applies = [{key: _Flow(values) for key, values in c.items()} for c in entry["applies"]]
    return {**entry, "text": _Prose(entry["text"]), "applies": applies}


def dump_yaml(rules: Iterable[Rule]) -> str:
    """Rules as a YAML list that `read_yaml` reads back as the same rules; texts as
    folded blocks, a condition's values on one line."""
    entries = [_readable(rule.entry()) for rule in rules]
    return yaml.dump(entries, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=80)


def rule_of(row: PolicyRule) -> Rule:
    entry = {
        "id": row.rule_id,
        "version": row.version,
        "title": row.title,
        "text": row.text,
        "citations": row.citations,
        "applies": row.conditions.get("applies"),
        "unless": row.conditions.get("unless") or [],
        "effective": row.effective,
        "expires": row.expires,
        "reviewed_by": row.reviewed_by,
        "reviewed_on": row.reviewed_on,
        "retired": row.retired,
    }
    return parse_rule(entry)


def newest_rows(session: Session) -> list[PolicyRule]:
    last = (
        select(PolicyRule.rule_id, func.max(PolicyRule.version).label("version"))
        .group_by(PolicyRule.rule_id)
        .subquery()
    )
    query = select(PolicyRule).join(
        last, (PolicyRule.rule_id == last.c.rule_id) & (PolicyRule.version == last.c.version)
    )
    return list(session.scalars(query.order_by(PolicyRule.rule_id)))


def library(session: Session) -> tuple[Rule, ...]:
    """Every rule's newest version, retired ones included, in id order.

    Kept between calls while no version is added (one small query to tell).
    """
    newest, count = session.execute(select(func.max(PolicyRule.id), func.count())).one()
    bind = session.get_bind()
    key = (str(bind.engine.url), newest, count)
    found = _cache.get(key)
    if found is None:
        found = tuple(rule_of(row) for row in newest_rows(session))
        _cache.clear()
        _cache[key] = found
    return found


def in_use(session: Session) -> tuple[Rule, ...]:
    """The rules answers may cite: the newest versions not retired."""
    return tuple(rule for rule in library(session) if not rule.retired)


@dataclass(frozen=True, slots=True)
class Version:
    """One stored version of a rule, with who wrote it, when, and from where."""

    rule: Rule
    origin: str  # "package", "console", "import", "cli" (a retirement)
    author: str
    created_at: datetime

    def summary(self) -> dict[str, Any]:
        """The version as a listing's line: the rule's id, number and title, whether it
        retired the rule, and who wrote it when and from where."""
        rule = self.rule
        return {
            "id": rule.id,
            "version": rule.version,
            "title": rule.title,
            "retired": rule.retired,
            "origin": self.origin,
            "author": self.author,
            "created_at": self.created_at,
        }


def version_row(row: PolicyRule) -> Version:
    return Version(rule_of(row), row.origin, row.author, row.created_at)


def newest_versions(session: Session, *, retired: bool = False) -> list[Version]:
    """Each rule's newest version in id order; retired rules only when asked."""
    found = [version_row(row) for row in newest_rows(session)]
    return [version for version in found if retired or not version.rule.retired]


def versions(session: Session, rule_id: str) -> list[Version]:
    """Every version of a rule, newest first; NotFound when there is none."""
    rows = session.scalars(
        select(PolicyRule).where(PolicyRule.rule_id == rule_id).order_by(PolicyRule.version.desc())
    ).all()
    if not rows:
        raise NotFound(f"no policy rule {rule_id}")
    return [version_row(row) for row in rows]


def one_version(
    session: Session, rule_id: str, version: int | None = None
) -> tuple[Version, list[Version]]:
    """A rule's `version` (default: the newest) and all its versions, newest first;
    NotFound when the rule or that version does not exist."""
    found = versions(session, rule_id)
    wanted = found[0].rule.version if version is None else version
    shown = next((item for item in found if item.rule.version == wanted), None)
    if shown is None:
        raise NotFound(f"no version {version} of policy rule {rule_id}")
    return shown, found


def history(session: Session, rule_id: str) -> list[Rule]:
    """Every version of a rule, newest first; NotFound when there is none."""
    return [version.rule for version in versions(session, rule_id)]


def _last(session: Session, rule_id: str) -> PolicyRule | None:
    return session.scalar(
        select(PolicyRule)
        .where(PolicyRule.rule_id == rule_id)
        .order_by(PolicyRule.version.desc())
        .limit(1)
    )


def _write(session: Session, rule: Rule, version: int, actor: str, origin: str) -> Rule:
    row = PolicyRule(
        rule_id=rule.id,
        version=version,
        title=rule.title,
        text=rule.text,
        citations=list(rule.citations),
        conditions=rule.conditions(),
        effective=rule.effective,
        expires=rule.expires,
        reviewed_by=rule.reviewed_by,
        reviewed_on=rule.reviewed_on,
        retired=rule.retired,
        origin=origin,
        author=actor,
    )
    session.add(row)
    session.flush()
    return rule_of(row)


def same_content(a: Rule, b: Rule) -> bool:
    """The same rule apart from its version and review stamp."""
    keep = ("title", "text", "citations", "applies", "unless", "effective", "expires", "retired")
    return all(getattr(a, name) == getattr(b, name) for name in keep)


def save(
    session: Session,
    rule: Rule,
    actor: str,
    *,
    origin: str = "console",
    base_version: int | None = None,
) -> Rule | None:
    """Write `rule` as its id's next version; None when it changes nothing.

    `base_version`: the version the editor started from (0: a new rule); another
    version written since is a Conflict (someone else edited the rule meanwhile).
    """
    last = _last(session, rule.id)
    if base_version is not None and (last.version if last else 0) != base_version:
        if base_version == 0:
            raise Conflict(f"a policy rule {rule.id} exists already; edit it instead")
        raise Conflict(f"policy rule {rule.id} was changed by someone else; reload it")
    if last is not None and same_content(rule_of(last), rule):
        return None
    version = last.version + 1 if last is not None else 1
    saved = _write(session, rule, version, actor, origin)
    action = "policy.retired" if rule.retired else "policy.edited" if last else "policy.added"
    audit(session, actor, action, None, rule=rule.id, version=version, origin=origin)
    return saved


def retire(
    session: Session,
    rule_id: str,
    actor: str,
    *,
    base_version: int | None = None,
    origin: str = "console",
) -> Rule:
    """Retire a rule: its next version says so, and answers stop citing it."""
    current = history(session, rule_id)[0]
    if current.retired:
        raise PolicyError(f"policy rule {rule_id} is already retired")
    fields = {**current.entry(), "retired": True}
    saved = save(session, parse_rule(fields), actor, origin=origin, base_version=base_version)
    assert saved is not None  # the retired flag changed
    return saved


@dataclass(frozen=True, slots=True)
class Imported:
    added: list[str]
    changed: list[str]
    unchanged: list[str]


def import_rules(session: Session, rules: Sequence[Rule], actor: str) -> Imported:
    """Write each rule that differs from its newest version (an import file, checked)."""
    result = Imported([], [], [])
    for rule in rules:
        existed = _last(session, rule.id) is not None
        saved = save(session, rule, actor, origin="import")
        target = result.unchanged if saved is None else result.changed if existed else result.added
        target.append(rule.id)
    return result


def install_package(session: Session, rules: Sequence[Rule] | None = None) -> list[str]:
    """Add the package's rules the database lacks and update those only the package
    wrote; return the ids written. A rule an expert changed is left alone."""
    written = []
    for rule in package_rules() if rules is None else rules:
        last = _last(session, rule.id)
        if last is not None and (last.origin != PACKAGE or last.version >= rule.version):
            continue
        _write(session, rule, rule.version, PACKAGE, PACKAGE)
        written.append(f"{rule.id} v{rule.version}")
    if written:  # one entry for the lot: a first install writes every rule
        audit(session, PACKAGE, "policy.installed", None, rules=written)
    return [name.rsplit(" v", 1)[0] for name in written]


def reviewed_today(entry: dict[str, Any], reviewer: str) -> dict[str, Any]:
    """An edited entry stamped as reviewed by `reviewer` today."""
    return {**entry, "reviewed_by": reviewer, "reviewed_on": date.today()}
