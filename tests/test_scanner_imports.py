"""The scanner package's modules import each other without cycles (issue 16).

A cycle hidden behind `if TYPE_CHECKING:` is still a cycle for the reader and for any
refactoring, so every `from .x import` counts, wherever it stands in the module.
"""
from __future__ import annotations

import ast
from pathlib import Path

import scanner

PACKAGE = Path(scanner.__file__).resolve().parent


def _local_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.add(node.module.split(".")[0])
            else:
                names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("scanner."):
            names.add(node.module.split(".")[1])
    return names


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path + [node, nxt]
            if nxt not in state and (found := visit(nxt, path + [node])):
                return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node, [])):
            return found
    return None


def test_scanner_modules_import_without_cycles():
    modules = {p.stem: p for p in PACKAGE.glob("*.py")}
    graph = {name: _local_imports(p) & set(modules) for name, p in modules.items()}
    assert graph["deblur"] and "decoders" not in graph["deblur"]  # the cycle this replaced
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))
