"""Each package reads top-down: no module imports, even lazily or for type checking, one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# question_bank's own graph is checked beside its import work.
PACKAGES = ("exam_server", "registry", "proctoring", "question_bank", "reports")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, package: str, modules: set[str]) -> set[str]:
    """Modules of `package` that `path` imports anywhere in its text."""
    name = module_name(path)
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            prefix = ".".join(base[: len(base) - node.level + 1]) if node.level else ""
            root = ".".join(p for p in (prefix, node.module or "") if p)
            targets = [f"{root}.{a.name}" for a in node.names] + [root]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target.split(".")[0] == package and target != name:
                found.add(target)
    return found


def graph(package: str) -> dict[str, set[str]]:
    files = {module_name(p): p for p in (REPO / package).rglob("*.py") if "migrations" not in p.parts}
    modules = set(files)
    # A package's __init__ re-exporting its modules is not a cycle: edges into a package __init__ are dropped.
    inits = {m for m, p in files.items() if p.name == "__init__.py"}
    return {m: imports_of(p, package, modules) - inits for m, p in files.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles(package: str) -> None:
    edges = graph(package)
    assert edges
    assert cycles(edges) == []


def test_error_modules_know_nothing_of_templates_or_the_types_that_raise_them() -> None:
    assert graph("exam_server")["exam_server.web.errors"] <= set()
    assert "proctoring.enrolment" not in graph("proctoring")["proctoring.errors"]
