"""The checks a maintainer runs before a change goes in: ruff over the Python trees and mypy
over the package, both configured in pyproject.toml (docs/contributing.md). The test command
(scripts/run_tests.sh) installs both, pinned; anywhere else a missing tool skips its test.

Also: the wheel carries the type information (py.typed and the _core stub), and the stub
names what the compiled module has, with the same parameters."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import pytest

import videohw
from videohw import _core

ROOT = Path(__file__).resolve().parents[2]
STUB = ROOT / "python" / "videohw" / "_core.pyi"


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(
            f"{module} is not installed in this Python ({sys.executable}); "
            "scripts/run_tests.sh installs it"
        )


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_ruff_check() -> None:
    _require("ruff")
    res = _run(["ruff", "check", "--no-cache", "."])
    assert res.returncode == 0, f"ruff check found problems:\n{res.stdout}{res.stderr}"


def test_mypy(tmp_path: Path) -> None:
    _require("mypy")
    res = _run(["mypy", "--cache-dir", str(tmp_path)])
    assert res.returncode == 0, f"mypy found problems:\n{res.stdout}{res.stderr}"


def test_package_ships_type_information() -> None:
    folder = Path(videohw.__file__).parent
    missing = [name for name in ("py.typed", "_core.pyi") if not (folder / name).is_file()]
    assert not missing, f"{folder}: {missing} not installed (pyproject.toml wheel.packages)"


# ---- the stub against the compiled module


def _is_private(name: str) -> bool:
    # pybind11's own attributes (_pybind11_conduit_v1_, an enum's __entries) and dunders.
    return name.startswith("_pybind11") or name.startswith("__")


def _stub_params(node: ast.FunctionDef) -> list[str]:
    a = node.args
    names = [p.arg for p in a.posonlyargs + a.args]
    if a.kwonlyargs or a.vararg:
        names.append("*")
    return names + [p.arg for p in a.kwonlyargs]


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[(<":
            depth += 1
        elif ch in "])>":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if text[start:].strip():
        parts.append(text[start:])
    return parts


def _runtime_params(obj: Any, name: str) -> Optional[list[str]]:
    """Parameter names from pybind11's signature line; None where it writes none."""
    doc = getattr(obj, "__doc__", None) or ""
    if not doc.startswith(f"{name}(") or "Overloaded function" in doc:
        return None
    line = doc.splitlines()[0]
    inside = line[len(name) + 1 : line.rindex(") ->")]
    names = [re.split(r"[:=]", p, maxsplit=1)[0].strip() for p in _split_top_level(inside)]
    return [n for n in names if n != "/"]  # positional-only markers: not compared


def _stub_members(body: list[ast.stmt]) -> dict[str, Optional[ast.FunctionDef]]:
    """name -> the function (None for attributes and properties); type aliases (plain
    assignments) exist in the stub only."""
    out: dict[str, Optional[ast.FunctionDef]] = {}
    for node in body:
        if isinstance(node, ast.FunctionDef):
            is_property = any(
                isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list
            )
            out[node.name] = None if is_property else node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = None
        elif isinstance(node, ast.ClassDef):
            out[node.name] = None
    return out


def _compare(
    where: str, runtime: dict[str, Any], stub_body: list[ast.stmt], problems: list[str]
) -> None:
    stub = _stub_members(stub_body)
    runtime_names = {n for n in runtime if not _is_private(n)}
    stub_names = {n for n in stub if not _is_private(n)}
    for name in sorted(runtime_names - stub_names):
        problems.append(f"{where}{name}: in the module, not in _core.pyi")
    for name in sorted(stub_names - runtime_names):
        problems.append(f"{where}{name}: in _core.pyi, not in the module")
    for name, node in stub.items():
        if node is None or name not in runtime:
            continue
        params = _runtime_params(runtime[name], name)
        if params is not None and params != _stub_params(node):
            problems.append(
                f"{where}{name}: parameters {params} in the module, "
                f"{_stub_params(node)} in _core.pyi"
            )


def test_core_stub_matches_the_module() -> None:
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    problems: list[str] = []
    _compare("", vars(_core), tree.body, problems)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and hasattr(_core, node.name):
            _compare(f"{node.name}.", dict(vars(getattr(_core, node.name))), node.body, problems)
    assert not problems, (
        "python/videohw/_core.pyi differs from videohw._core "
        "(cpp/bindings/*.cpp):\n" + "\n".join(problems)
    )
