"""Imports inside the sandbox and the client go one way: no module imports itself back.

Every import counts, those under ``if TYPE_CHECKING:`` too: a cycle hidden from the
interpreter is still a cycle for whoever reads or moves the code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "syncd"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, inside: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found.update(n for n in names if n.startswith(inside + "."))
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in ``graph``, if there is any (depth-first search)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


@pytest.mark.parametrize("package", ["syncd.sandbox", "syncd.salesforce"])
def test_no_import_cycles(package: str) -> None:
    folder = PACKAGE.parent.joinpath(*package.split("."))
    modules = {_module(p): p for p in folder.glob("*.py")}
    graph = {  # the package's __init__ re-exports; the modules must not lean on it
        name: {m for m in _imports(path, package) if m in modules and m not in (name, package)}
        for name, path in modules.items()
        if name != package
    }
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])
