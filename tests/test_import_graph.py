"""The import graph of ``flows/`` flows one way (docs/architecture.md, "Layers").

Computed from the source with ``ast`` (every import: module level, inside functions and
under ``TYPE_CHECKING``), so a lazy import cannot hide a circle or an upward arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "flows"
# Libraries: business logic that runs the same inside or outside Prefect.
LIBRARIES = ("sources", "scrub", "warehouse", "analysis", "publish", "reports", "sample")
# The top: what knows about Prefect, the profile's resources, the CLI and the flows.
TOP = {
    "flows.resources",
    "flows.run_artifacts",
    "flows.runtime",
    "flows.cli",
    "flows.deploy",
    "flows.demo",
    "flows.pipeline",
    "flows.prefect_server",
    "flows.__main__",
}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> tuple[set[str], set[str]]:
    """(``flows`` modules imported, top-level names of every import) of one file."""
    inner: set[str] = set()
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from package import submodule`` imports the submodule, not the package's names
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in known
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            roots.add(name.split(".")[0])
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                inner.add(name)
    return inner, roots


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    known = modules()
    edges, roots = {}, {}
    for name, path in known.items():
        inner, outer = imports(path, known)
        edges[name] = inner - {name}
        roots[name] = outer
    return edges, roots


def is_top(name: str) -> bool:
    return name in TOP or name.endswith("_flow")


def is_library(name: str) -> bool:
    parts = name.split(".")
    return len(parts) > 1 and parts[1] in LIBRARIES


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_has_no_circle():
    edges, _ = graph()
    assert cycles(edges) == []


def test_libraries_never_import_upward():
    edges, _ = graph()
    upward = {
        (name, target)
        for name, targets in edges.items()
        if is_library(name)
        for target in targets
        if is_top(target)
    }
    assert upward == set()


@pytest.mark.parametrize("library", LIBRARIES)
def test_libraries_are_free_of_prefect(library):
    """No library module reaches Prefect, even through a module it imports."""
    edges, roots = graph()
    start = [name for name in edges if name.split(".")[1:2] == [library]]
    seen, todo = set(start), list(start)
    while todo:
        for target in edges[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    reaching = sorted(
        name for name in seen if any(root.startswith("prefect") for root in roots[name])
    )
    assert reaching == [], f"flows.{library} reaches Prefect through {reaching}"
