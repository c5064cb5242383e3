"""`import optimize` and `tradeopt --help` import none of the heavy optional backends (issue #27 item 4):
measured with `python -X importtime`, whose report names every module a process imported."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pyomo", "dask", "distributed", "openpyxl", "matplotlib", "country_converter")


def _imported(args: list[str]) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "optimize" in names  # the report is there
    return {n.split(".")[0] for n in names}


@pytest.mark.parametrize("args", [["-c", "import optimize"], ["cli.py", "--help"], ["cli.py", "run", "--help"],
                                  ["-c", "import optimize.api.trend, optimize.runs.trend, optimize.output.trend"]],
                         ids=["import", "help", "run-help", "trend-modules"])
def test_heavy_backends_are_imported_only_when_used(args):
    assert not set(HEAVY) & _imported(args)
