"""The tooling's layout rules: one package per capability, click only in cli.py modules, no
import circles, no upward imports, benchmarks independent of the tests."""

from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BEM = REPO_ROOT / "bem"
TOP_LEVEL_MODULES = {"__init__.py", "__main__.py", "cli.py"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of the file (lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _bem_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in BEM.rglob("*.py")}
    return {
        name: {imported for imported in _imports(path) if imported in modules and imported != name}
        for name, path in modules.items()
    }


def test_layout_bem_top_level_holds_only_the_cli_client_and_packages() -> None:
    files = {p.name for p in BEM.iterdir() if p.is_file() and p.suffix == ".py"}
    assert files == TOP_LEVEL_MODULES
    packages = {p.name for p in BEM.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert {"synth", "model", "packaging", "local", "deploy", "monitor", "client"} <= packages


def test_layout_only_cli_modules_import_click() -> None:
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for root in (BEM, REPO_ROOT / "budget_matcher")
        for path in root.rglob("*.py")
        if path.name != "cli.py" and any(m.split(".")[0] == "click" for m in _imports(path))
    ]
    assert offenders == []


def test_layout_no_import_circle_in_bem() -> None:
    graph = _bem_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_layout_capability_packages_never_import_the_top_level_cli() -> None:
    upward = [
        (name, imported)
        for name, imports in _bem_graph().items()
        for imported in imports
        if name.count(".") >= 2 and imported in {"bem.cli", "bem.__main__"}
    ]
    assert upward == []


def test_layout_benchmarks_never_import_the_tests() -> None:
    offenders = [
        path.name
        for path in (REPO_ROOT / "bench").rglob("*.py")
        if any(m.split(".")[0] == "tests" for m in _imports(path))
    ]
    assert offenders == []
