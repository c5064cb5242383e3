"""docs/internals.md's module table names every module of the package, and nothing else."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _documented() -> set[str]:
    text = (ROOT / "docs" / "internals.md").read_text(encoding="utf-8")
    table = text.split("## Modules", 1)[1].split("\n## ", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\|\s*`([\w/]+\.py)`", table, flags=re.M)}


def _modules() -> set[str]:
    pkg = ROOT / "optimize"
    def is_module(p: Path) -> bool:  # package __init__ files count when they hold code (the API, lazy exports)
        return p.name != "__init__.py" or "\ndef " in p.read_text(encoding="utf-8")

    return {p.relative_to(pkg).as_posix() for p in pkg.rglob("*.py")
            if is_module(p) and "_bundled" not in p.parts and "__pycache__" not in p.parts}


def test_module_table_matches_the_tree():
    documented, modules = _documented(), _modules()
    assert not modules - documented, f"modules missing from docs/internals.md: {sorted(modules - documented)}"
    assert not documented - modules, f"docs/internals.md names modules that do not exist: {sorted(documented - modules)}"


def test_no_module_over_400_lines():
    big = {m: n for m in _modules() if (n := len((ROOT / "optimize" / m).read_text().splitlines())) > 400}
    assert not big, f"modules over 400 lines: {big}"
