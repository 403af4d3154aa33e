"""The shape of ``service/``: no circle of imports inside it, and almost no loose modules.

The graph is read from the source with ``ast``: every import, at module level or inside a
function (a function-level import that closes a circle is still a circle, only deferred),
except those under ``if TYPE_CHECKING:``, which never run. ``from service.x import y`` is an
edge to ``service.x.y`` when that is a module, else to ``service.x``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SERVICE = REPO_ROOT / "service"
MAX_LOOSE_MODULES = 4


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: Path) -> dict[str, Path]:
    return {module_name(path, package): path for path in sorted(package.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import under NODE, skipping the bodies of ``if TYPE_CHECKING:`` (not their else)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _imports_in(other)
            continue
        yield from _imports_in(child)


def _imports_in(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    yield from _imports(node)


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported(path: Path, importer: str, known: Mapping[str, Path], top: str) -> set[str]:
    """The modules of package TOP that the module at PATH imports."""
    targets: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in _imports(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = _absolute(node, importer, path.name == "__init__.py")
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        for name in names:
            # `import service.a.b` binds `service` but runs service.a.b: the deepest known module.
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name == top or name.startswith(top + "."):
                targets.add(name)
    return targets


def import_graph(package: Path) -> dict[str, set[str]]:
    known = modules(package)
    return {name: imported(path, name, known, package.name) for name, path in known.items()}


def circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, and modules importing themselves
    (Tarjan's algorithm, iterative: the graph has a few hundred nodes but recursion depth is cheap
    to avoid)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    found.append(sorted(component))
    return sorted(found)


def test_service_has_no_import_circle() -> None:
    graph = import_graph(SERVICE)
    found = circles(graph)
    described = [
        " <-> ".join(component) + "\n    " + "\n    ".join(
            f"{a} -> {b}" for a in component for b in sorted(graph[a]) if b in component
        )
        for component in found
    ]
    assert not found, "import circles inside service/:\n" + "\n".join(described)


def test_service_has_few_loose_modules() -> None:
    loose = sorted(path.name for path in SERVICE.glob("*.py"))
    assert len(loose) <= MAX_LOOSE_MODULES, f"loose modules in service/: {loose}"


# -- the graph reader itself ------------------------------------------------------------------


def write(root: Path, files: Mapping[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_function_level_imports_count_and_type_checking_ones_do_not(tmp_path: Path) -> None:
    package = write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "def f():\n    from pkg.b import thing\n",
        "pkg/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\nthing = 1\n",
        "pkg/c.py": "import typing\nif typing.TYPE_CHECKING:\n    import pkg.a\nelse:\n    import pkg.b\n",
    })
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.b"}
    assert graph["pkg.b"] == set()
    assert graph["pkg.c"] == {"pkg.b"}
    assert circles(graph) == []


def test_from_package_import_module_is_an_edge_to_the_module(tmp_path: Path) -> None:
    package = write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/sub/__init__.py": "VALUE = 1\n",
        "pkg/sub/leaf.py": "from pkg.sub import VALUE\n",
        "pkg/user.py": "from pkg.sub import leaf, VALUE\nfrom . import sub\n",
        "pkg/sub/rel.py": "from .leaf import VALUE\nfrom .. import user\n",
    })
    graph = import_graph(package)
    assert graph["pkg.user"] == {"pkg.sub.leaf", "pkg.sub"}
    assert graph["pkg.sub.leaf"] == {"pkg.sub"}
    assert graph["pkg.sub.rel"] == {"pkg.sub.leaf", "pkg.user"}


@pytest.mark.parametrize(("graph", "expected"), [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
    ({"a": {"a"}, "b": set()}, [["a"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}}, [["a", "b", "c"], ["d", "e"]]),
])
def test_circles_are_strongly_connected_components(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert circles(graph) == expected
