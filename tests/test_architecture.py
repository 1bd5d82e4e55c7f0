"""What may import what in intake/ (docs/architecture.md): no cycle, a pure core, layers only downwards.

The imports are read from the source (every ``import`` and ``from … import``, inside
functions too, ``if TYPE_CHECKING:`` blocks aside), so a test fails before a cycle or a
Flask import in the core ever runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "intake"

#: Third-party packages of the web shell the core must never import (the top-level name).
SHELL_LIBRARIES = {"flask", "sqlalchemy", "werkzeug", "wtforms", "jinja2", "markupsafe", "alembic", "psycopg"}
SHELL_LIBRARY_PREFIXES = ("flask_",)

#: The layers of docs/architecture.md, lowest first: a module imports its own layer or lower ones.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("intake.assessment", "intake.answers", "intake.reminders.due", "intake.photos.images")),
    ("foundation", ("intake.config", "intake.extensions", "intake.clock", "intake.protection.encryption")),
    ("storage", ("intake.models", "intake.audit", "intake.protection", "intake.photos.storage")),
    ("rules", ("intake.rulesets", "intake.jobs", "intake.outbox")),
    ("pages", ("intake.web", "intake.auth", "intake.patient", "intake.review", "intake.admin", "intake.api",
               "intake.reminders", "intake.photos")),
    ("application", ("intake", "intake.cli", "intake.demo")),
]
#: Modules of the answers vocabulary that build web forms (not core, though they live beside it).
ANSWERS_SHELL: tuple[str, ...] = ()
#: Imports against the layers, each with why it is allowed.
EXCEPTIONS: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for orelse in child.orelse:
                    walk(orelse)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            walk(child)

    walk(tree)
    return found


def imports_of(name: str) -> set[str]:
    """Every module ``name`` imports (absolute names; ``from pkg import sub`` counts as pkg.sub)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        if node.level:
            base_parts = package.split(".")
            base_parts = base_parts[: len(base_parts) - node.level + 1]
            base = ".".join(base_parts + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        submodules = {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES}
        found.update(submodules)
        if len(submodules) < len(node.names):
            found.add(base)
    return found


GRAPH = {name: {target for target in imports_of(name) if target in MODULES and target != name} for name in MODULES}


def layer_of(name: str) -> int:
    """The index of the most specific layer prefix that contains ``name``."""
    best, best_length = -1, -1
    for index, (_label, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    return best


def is_core(name: str) -> bool:
    return layer_of(name) == 0 and not name.startswith(ANSWERS_SHELL or ("\0",))


def test_every_module_is_in_a_layer():
    assert [name for name in MODULES if layer_of(name) < 0] == []


def test_there_is_no_import_cycle():
    """Tarjan's strongly connected components: any component of two or more modules is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(GRAPH[node]):
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
                cycles.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(cycle) for cycle in cycles)


@pytest.mark.parametrize("name", sorted(name for name in MODULES if is_core(name)))
def test_the_core_imports_no_web_library_and_nothing_of_the_shell(name):
    third_party = {target.split(".")[0] for target in imports_of(name) if not target.startswith("intake")}
    web = sorted(library for library in third_party
                 if library in SHELL_LIBRARIES or library.startswith(SHELL_LIBRARY_PREFIXES))
    assert web == [], f"{name} imports {web}: the core stays free of the web shell"
    shell = sorted(target for target in GRAPH[name] if not is_core(target))
    assert shell == [], f"{name} imports {shell}: the core imports only the core"


def test_layers_import_only_downwards():
    upwards = sorted(
        f"{name} ({LAYERS[layer_of(name)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for name, targets in GRAPH.items() for target in targets
        if layer_of(target) > layer_of(name) and (name, target) not in EXCEPTIONS
    )
    assert upwards == []


def test_the_graph_is_read_from_the_code():
    """The checks above see real edges (a reader that found nothing would pass them all)."""
    assert "intake.models" in GRAPH["intake.patient.service"]
    assert "intake.protection.encryption" in GRAPH["intake.models.intake"]
    assert "intake.patient.views" in GRAPH["intake"]


def test_no_test_module_imports_another():
    """Tests share fixtures through conftest.py and helpers through tests/support/, never through each other.

    tests/core/ is left out: its rule-file helpers are shared between its modules until they
    move to tests/support/ with the core's fixtures.
    """
    tests = Path(__file__).resolve().parent
    found = []
    for path in sorted(tests.rglob("*.py")):
        relative = path.relative_to(tests)
        is_test = path.name.startswith("test_") or path.name == "conftest.py"
        if relative.parts[0] in ("support", "core") or not is_test:
            continue
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                found.append(f"{relative}: {'.' * node.level}{node.module or ''}")
                continue
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found.extend(f"{relative}: {name}" for name in names
                         if name.startswith("tests") and not name.startswith("tests.support"))
    assert found == []
