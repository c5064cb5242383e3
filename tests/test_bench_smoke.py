"""The engine benchmark runs end to end at a tiny size (--smoke)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_smoke(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_engine.py"), "--smoke", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "smoke.json").read_text())
    row = result["rows"][0]
    assert row["max_abs_diff_vs_closed_form"] < 1e-6 and row["objective_rel_diff"] < 1e-6
    assert result["machine"]["cpu_count"] >= 1
