"""The single-run and bands benchmarks (bench/single_run.py, bench/bands.py) run end to end at a tiny size
(--smoke)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _smoke(script: str, tmp_path: Path) -> tuple[str, dict]:
    """stdout and the 20,000-row size of ``bench/<script> --smoke --json``."""
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--smoke", "--work", str(tmp_path),
                           "--json", str(out)], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "| 20,000 |" in proc.stdout
    return proc.stdout, json.loads(out.read_text())["sizes"]["20000"]


def test_single_run_bench_smoke(tmp_path):
    _, size = _smoke("single_run.py", tmp_path)
    assert set(size["medians"]) == {"run_figures", "run_no_figures", "pandas", "first_no_figures"}
    assert all(v["wall_s"] > 0 and v["cpu_s"] > 0 for v in size["medians"].values())
    assert all(r > 0 for r in size["ratios"].values())


def test_bands_bench_smoke(tmp_path):
    out, size = _smoke("bands.py", tmp_path)
    assert set(size["medians"]) == {"plain", "bands"}
    assert all(v["wall_s"] > 0 and v["cpu_s"] > 0 for v in size["medians"].values())
    assert size["ratios"]["wall"] > 0 and isinstance(size["target_met"], bool)
    assert "target <= 2x" in out
