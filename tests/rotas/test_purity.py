"""rotas/ stays a pure library: standard library and zoneinfo only, no I/O."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROTAS = Path(__file__).resolve().parents[2] / "rotas"
IO_CALLS = {"open", "print", "input", "exec", "eval", "__import__"}


def _modules():
    for path in sorted(ROTAS.glob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def test_rotas_imports_only_the_standard_library():
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else ["rotas"]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top == "rotas" or top in sys.stdlib_module_names, (
                    f"{path.name} imports {name}"
                )
                assert top not in {
                    "os",
                    "io",
                    "socket",
                    "subprocess",
                    "pathlib",
                    "time",
                    "random",
                    "logging",
                }, f"{path.name} imports {name} (I/O, clocks or randomness)"


def test_rotas_does_no_io():
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in IO_CALLS, (
                    f"{path.name}:{node.lineno} calls {node.func.id}"
                )
