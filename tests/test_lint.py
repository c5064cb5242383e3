"""Code habits checked by the suite: ruff (pyflakes, import order, bugbear, complexity <= 10) and the
import-linter layers contract (lower layers never import higher ones), both configured in pyproject.toml."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str:
    exe = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(exe).exists():
        pytest.skip(f"{name} is not installed (pip install '.[test]')")
    return exe


def test_ruff_check_passes():
    out = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)  # the whole repository
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_import_layers_hold():
    out = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_planners_import_no_numpy():
    """``optimize/runs`` holds no model arithmetic: no module there imports numpy (read from the source,
    independently of the import-linter contract that enforces it in CI)."""
    import ast

    found = []
    for path in sorted((ROOT / "optimize" / "runs").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.name}: {n}" for n in names if n == "numpy" or n.startswith("numpy.")]
    assert not found, found


def test_scenario_changes_only_through_the_validated_update():
    """No ``model_copy(update=...)`` outside ``optimize/config``: every scenario change goes through
    ``Scenario.update`` (validated), so no layer can set a value the schema would refuse."""
    found = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "optimize").rglob("*.py"))
             if "config" not in p.relative_to(ROOT / "optimize").parts
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if "model_copy(update=" in line]
    assert not found, found
