"""The single-run benchmark (bench/single_run.py) runs end to end at a tiny size (--smoke)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_single_run_bench_smoke(tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "single_run.py"), "--smoke", "--work", str(tmp_path),
                           "--json", str(out)], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    size = json.loads(out.read_text())["sizes"]["20000"]
    assert set(size["medians"]) == {"run_figures", "run_no_figures", "pandas", "first_no_figures"}
    assert all(v["wall_s"] > 0 and v["cpu_s"] > 0 for v in size["medians"].values())
    assert all(r > 0 for r in size["ratios"].values())
    assert "| 20,000 |" in proc.stdout
