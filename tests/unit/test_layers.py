"""Pure stages stay pure: the modules that read mail as bytes or text reach no
database, no intake and no broker, directly or through what they import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "consultant"
PURE = (
    "consultant.pipeline.parse",
    "consultant.pipeline.rawmail",
    "consultant.pipeline.limits",
    "consultant.pipeline.extract",
    "consultant.codes.systems",
    "consultant.answer.question",
)
# Sessions and stored rows, the intake, the broker. (Settings reads a database URL
# with sqlalchemy.engine.make_url; that is no database access.)
FORBIDDEN = (
    "sqlalchemy.orm",
    "consultant.db",
    "consultant.pipeline.intake",
    "celery",
    "kombu",
    "workers",
)


def _source(module: str) -> Path | None:
    relative = Path(*module.split(".")[1:])
    for candidate in (PACKAGE / f"{relative}.py", PACKAGE / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(module: str) -> set[str]:
    """The modules `module` imports at any level of its source (top or inside functions)."""
    path = _source(module)
    if path is None:
        return set()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _reach(start: str) -> dict[str, str]:
    """Every module `start` reaches, with the consultant module that imports it."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo:
        module = todo.pop()
        for imported in _imports(module):
            if imported in seen:
                continue
            seen[imported] = module
            if imported.startswith("consultant.") and _source(imported) is not None:
                todo.append(imported)
    return seen


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_reaches_no_database_intake_or_broker(module: str) -> None:
    reached = _reach(module)
    bad = {
        name: importer
        for name, importer in reached.items()
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    }
    assert bad == {}, f"{module} reaches {bad}"


def test_the_walk_sees_an_import_of_the_database() -> None:
    # The check above would pass vacuously if the walk found nothing.
    assert "consultant.db.models" in _reach("consultant.pipeline.intake.store")


def _modules_under(folder: str) -> list[str]:
    root = PACKAGE / folder
    return sorted(
        "consultant."
        + ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        for path in root.rglob("*.py")
    )


@pytest.mark.parametrize("folder", ["codes", "mailer"])
def test_code_knowledge_and_mail_writing_reach_no_pipeline_stage(folder: str) -> None:
    """The pipeline uses codes/ and mailer/, never the other way round."""
    reached = {
        module: sorted(
            name for name in _reach(module) if name.startswith(("consultant.pipeline", "workers"))
        )
        for module in _modules_under(folder)
    }
    assert {module: names for module, names in reached.items() if names} == {}


def _direct(module: str, prefixes: tuple[str, ...]) -> list[str]:
    return sorted(name for name in _imports(module) if name.startswith(prefixes))


def test_the_pipeline_keeps_only_the_stages_a_mail_goes_through() -> None:
    """Reviewer actions and read models live in consultant/review/; no stage imports
    them, the console, or the CLI."""
    shells = ("consultant.review", "consultant.web", "consultant.cli")
    found = {m: _direct(m, shells) for m in _modules_under("pipeline")}
    assert {module: names for module, names in found.items() if names} == {}


def test_the_review_layer_knows_no_shell() -> None:
    """The console, the API and the CLI call the review layer, never the reverse."""
    shells = ("consultant.web", "consultant.cli", "click", "fastapi", "starlette", "workers")
    reached = {m: _reach(m) for m in _modules_under("review")}
    bad = {m: sorted(n for n in names if n.startswith(shells)) for m, names in reached.items()}
    assert {module: names for module, names in bad.items() if names} == {}


QUERY_BUILDERS = tuple(f"sqlalchemy.{name}" for name in ("select", "update", "delete", "insert"))


@pytest.mark.parametrize("folder", ["web/routes", "cli"])
def test_a_shell_writes_no_query(folder: str) -> None:
    """The console's routes and the CLI commands call the review layer and the domain
    modules (accounts, reviewers) for every read and change; none builds SQL itself."""
    found = {m: _direct(m, QUERY_BUILDERS) for m in _modules_under(folder)}
    assert {module: names for module, names in found.items() if names} == {}


def test_the_query_check_sees_a_query() -> None:
    assert _direct("consultant.review.listings", QUERY_BUILDERS) == ["sqlalchemy.select"]
