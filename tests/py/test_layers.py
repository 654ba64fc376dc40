"""No import cycles among videohw's modules: each module imports only modules below it.

The imports are read from the source (ast) of the installed package, every import statement
at any depth: one inside a function runs as surely as one at the top, only later. Importing
``a.b`` also runs ``a/__init__.py`` first; that is not counted as ``a.b`` depending on ``a``,
or every module that the package's ``__init__`` imports would close a cycle through it.
"""

from __future__ import annotations

import ast
import importlib.machinery
import os
import textwrap

import videohw

_SUFFIXES = tuple(sorted(importlib.machinery.all_suffixes(), key=len, reverse=True))


def package_modules(root: str, package: str) -> dict[str, str]:
    """{dotted module name: source path, or "" for an extension module} under ``root``,
    the folder of ``package``. Folder links are followed: a test overlay links subpackages."""
    modules: dict[str, str] = {}
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        rel = os.path.relpath(folder, root)
        prefix = package if rel == "." else ".".join([package, *rel.split(os.sep)])
        if rel != "." and "__init__.py" not in files:
            dirs[:] = []
            continue
        for name in files:
            suffix = next((s for s in _SUFFIXES if name.endswith(s)), None)
            if suffix is None:
                continue
            stem = name[: -len(suffix)]
            dotted = prefix if stem == "__init__" else f"{prefix}.{stem}"
            modules[dotted] = os.path.join(folder, name) if suffix == ".py" else ""
    return modules


def _imported(module: str, path: str, known: dict[str, str]) -> set[str]:
    """The modules of ``known`` that ``module`` (source at ``path``) imports."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    is_package = os.path.basename(path) == "__init__.py"
    out: set[str] = set()

    def add(name: str) -> None:
        # ``import a.b.c`` depends on a.b.c; the packages on the way are the exception above.
        if name in known:
            out.add(name)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                # ``from pkg import name``: the submodule pkg.name where there is one, else
                # a name defined by pkg itself.
                if f"{source}.{alias.name}" in known:
                    add(f"{source}.{alias.name}")
                else:
                    add(source)
    out.discard(module)
    return out


def import_graph(root: str, package: str) -> dict[str, set[str]]:
    known = package_modules(root, package)
    return {name: _imported(name, path, known) for name, path in known.items() if path}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules (Tarjan), as a path that
    starts and ends at the same module; [] when the graph has none."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)

    found = []
    for group in groups:
        start = min(group)
        # Breadth-first inside the group: the shortest way from start back to itself.
        previous: dict[str, str] = {}
        frontier = [start]
        while start not in previous:
            following = []
            for v in frontier:
                for w in sorted(graph[v] & group):
                    if w not in previous:
                        previous[w] = v
                        following.append(w)
            frontier = following
        path = [start]
        while len(path) == 1 or path[-1] != start:
            path.append(previous[path[-1]])
        found.append(path[::-1])
    return sorted(found)


def test_videohw_has_no_import_cycle():
    root = os.path.dirname(os.path.abspath(videohw.__file__))
    graph = import_graph(root, "videohw")
    assert "videohw.cli" in graph and "videohw.controller" in graph, sorted(graph)
    found = cycles(graph)
    assert not found, "import cycles among videohw's modules:\n" + "\n".join(
        "  " + " -> ".join(cycle) for cycle in found
    )


def _write(root, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_a_cycle_through_a_function_level_import_is_found(tmp_path):
    _write(
        tmp_path / "pkg",
        {
            "__init__.py": "from .a import run\n",
            "a.py": "from . import b\n\ndef run():\n    return b.value\n",
            "b.py": "value = 1\n\ndef later():\n    from .sub import c\n    return c\n",
            "sub/__init__.py": "",
            "sub/c.py": "from ..a import run\n",
        },
    )
    found = cycles(import_graph(str(tmp_path / "pkg"), "pkg"))
    assert found == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]


def test_a_package_that_its_modules_import_from_is_no_cycle(tmp_path):
    # pkg/__init__ imports pkg.a, pkg.a imports pkg.b by ``from . import b``: running
    # pkg/__init__ first is the import system's order, not pkg.a depending on pkg.
    _write(
        tmp_path / "pkg",
        {
            "__init__.py": "from .a import run\n",
            "a.py": "from . import b\nimport pkg.b\n\ndef run():\n    return b\n",
            "b.py": "",
        },
    )
    graph = import_graph(str(tmp_path / "pkg"), "pkg")
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": set()}
    assert cycles(graph) == []


def test_a_module_that_imports_the_package_which_imports_it_is_a_cycle(tmp_path):
    _write(
        tmp_path / "pkg",
        {
            "__init__.py": "from .a import run\n",
            "a.py": "def run():\n    import pkg\n    return pkg\n",
        },
    )
    assert cycles(import_graph(str(tmp_path / "pkg"), "pkg")) == [["pkg", "pkg.a", "pkg"]]
