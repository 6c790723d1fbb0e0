"""The shape the code keeps: no module over 400 lines, and a function over 40 lines
says why it stays one piece (a `# Why one function:` comment in its body).

Long modules and long functions are where concepts pile up unseen; the limits
make a reader's cost visible, and the comment makes a long function a decision.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TREES = ("consultant", "workers")
MODULE_LINES = 400
FUNCTION_LINES = 40
MARKER = "# Why one function:"


def _modules() -> list[Path]:
    return sorted(path for tree in TREES for path in (ROOT / tree).rglob("*.py"))


def _long_functions(source: str) -> list[tuple[str, int, int]]:
    """(name, first line, length) of each function longer than FUNCTION_LINES."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > FUNCTION_LINES:
                found.append((node.name, node.lineno, length))
    return found


def _unexplained(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    return [
        f"{path.relative_to(ROOT)}:{first} {name} ({length} lines)"
        for name, first, length in _long_functions(source)
        if not any(line.strip().startswith(MARKER) for line in lines[first : first + length])
    ]


def test_there_are_modules_to_check() -> None:
    assert len(_modules()) > 100


@pytest.mark.parametrize("tree", TREES)
def test_no_module_is_over_400_lines(tree: str) -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in _modules()
        if path.is_relative_to(ROOT / tree)
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > MODULE_LINES
    }
    assert long == {}


def test_a_function_over_40_lines_says_why_it_stays_one_piece() -> None:
    assert [item for path in _modules() for item in _unexplained(path)] == []


def test_the_check_finds_a_long_function_and_accepts_the_marker() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(45))
    assert [name for name, _, _ in _long_functions(f"def f():\n{body}")] == ["f"]
    assert _long_functions(f"def g():\n{body[:200]}") == []
