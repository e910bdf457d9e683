"""The layers stay a picture anyone can draw (docs/architecture.md, "Layers").

    composition   server.app, server.cli        wires everything
    web           server.web.*                  staff pages, family link, API, sync API
    channels      print.*, ivr.*, kiosk.*       paper, phone and texts, the help desk
    web support   server.webtools, .serving     the request's database, headers, limits; a test server
    domain        every other server.* module   no web framework, no channel

A module imports only from its own layer or the layers below it, nothing imports in a
cycle, and an import inside a function is there for start-up speed and says so.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("server", "print", "ivr", "kiosk")
LAYERS = ("domain", "web support", "channels", "web", "composition")
LAZY_MARK = "start-up speed"


def layer_of(module: str) -> str:
    if module in ("server.app", "server.cli") or module.startswith("server.cli."):
        return "composition"
    if module == "server.web" or module.startswith("server.web."):
        return "web"
    if module.split(".")[0] in ("print", "ivr", "kiosk"):
        return "channels"
    if module in ("server.webtools", "server.serving"):
        return "web support"
    return "domain"


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


MODULES = project_modules()


def imported_names(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        parent = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
        base = ".".join(parent + ([node.module] if node.module else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def imports(module: str) -> list[tuple[str, ast.AST, bool]]:
    """(imported project module, import node, at module level?) for one module."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(n) for n in tree.body} | {id(n) for n in ast.walk(tree)
                                             if isinstance(n, ast.If) and _is_type_checking(n)}
    found = []
    for parent in ast.walk(tree):
        for node in ast.iter_child_nodes(parent):
            for name in imported_names(node, module, path.name == "__init__.py"):
                if name in MODULES and name != module:
                    found.append((name, node, id(node) in top_level or _in_type_checking(tree, node)))
    return found


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _in_type_checking(tree: ast.Module, node: ast.AST) -> bool:
    return any(node in block.body for block in tree.body if isinstance(block, ast.If) and _is_type_checking(block))


def graph() -> dict[str, set[str]]:
    return {module: {name for name, _node, _top in imports(module)} for module in MODULES}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_import_points_down_or_sideways():
    upward = [f"{module} ({layer_of(module)}) imports {name} ({layer_of(name)})"
              for module in MODULES for name, _node, _top in imports(module)
              if LAYERS.index(layer_of(name)) > LAYERS.index(layer_of(module))]
    assert upward == []


def test_the_domain_knows_no_web_framework_and_no_channel():
    third_party_web = ("flask", "flask_babel", "flask_wtf", "werkzeug", "waitress", "twilio")
    hashing_only = "werkzeug.security"  # password hashing: loads no web stack
    found = []
    for module, path in MODULES.items():
        if layer_of(module) != "domain":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for name in imported_names(node, module, path.name == "__init__.py"):
                if name.split(".")[0] in third_party_web and not name.startswith(hashing_only):
                    found.append(f"{module} imports {name}")
    assert found == []


def test_imports_inside_functions_say_they_are_for_start_up_speed():
    hidden = []
    for path in MODULES.values():
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top \
                    and not _in_type_checking(tree, node):
                said = " ".join(lines[max(node.lineno - 2, 0):node.end_lineno])
                if LAZY_MARK not in said:
                    hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert hidden == [], f"import at the top, or say '# {LAZY_MARK}: ...' beside it"


@pytest.mark.parametrize("module", ["server.clock", "server.ledger", "server.db", "server.notices",
                                    "server.roster", "server.settings", "server.tokens",
                                    "print.slip_reader", "print.scan", "kiosk.store", "kiosk.sync"])
def test_importing_does_not_load_flask(module):
    code = f"import importlib, sys; importlib.import_module({module!r}); print('flask' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "False"


def test_the_server_package_imports_nothing():
    assert MODULES["server"].read_text(encoding="utf-8").strip().startswith('"""')
    assert [name for name, _n, _t in imports("server")] == []
