"""The trend benchmark (bench/trend_years.py) runs end to end at a tiny size (--smoke): yearly files derived
from one synthetic year, the trend over them and one run per year, both timed."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def test_trend_bench_smoke(tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "trend_years.py"), "--smoke", "--work", str(tmp_path),
                           "--json", str(out)], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(out.read_text())["sizes"]["20000"]
    assert got["years"] == 2 and got["ratio_wall"] > 0
    assert all(v["wall_s"] > 0 and v["cpu_s"] > 0 for v in got["medians"].values())
    files = sorted((tmp_path / "trend_20000").glob("BACI_HS22_Y*_V202501.parquet"))
    assert [f.name[11:15] for f in files] == ["2022", "2023"]
    a, b = (pd.read_parquet(f) for f in files)
    assert set(a["t"]) == {2022} and set(b["t"]) == {2023} and len(a) == len(b)
    assert not (a["v"].to_numpy() == b["v"].to_numpy()).all()  # the derived year's values differ
    assert "| 20,000 | 2 |" in proc.stdout
