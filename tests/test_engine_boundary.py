"""The engine package never imports Qt or pyqtgraph, so the CLI and tests run without a GUI."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import optipfair_desktop.engine as engine

FORBIDDEN = ("PySide6", "pyqtgraph", "shiboken6", "optipfair_desktop.gui")


def _engine_modules():
    return [m.name for m in pkgutil.walk_packages(engine.__path__, prefix="optipfair_desktop.engine.")]


def test_engine_sources_have_no_gui_imports():
    offenders = []
    for path in Path(engine.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN or n.startswith(FORBIDDEN)]
    assert offenders == []


def test_importing_every_engine_module_loads_no_qt():
    modules = _engine_modules()
    assert "optipfair_desktop.engine.pruning" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
