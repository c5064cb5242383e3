"""The benchmark suite runs end to end at smoke size and writes JSON + Markdown with the machine description."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_suite_smoke(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "suite.py"), "--smoke", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((tmp_path / "suite-smoke.json").read_text())
    md = (tmp_path / "suite-smoke.md").read_text()
    names = {"ingest_convert", "ingest_bare", "eu27", "backend", "batch1", "batch2", "batch1_cells", "batch2_cells",
             "joint"}
    assert set(report["measurements"]) == names
    for name, r in report["measurements"].items():
        assert "error" not in r, f"{name}: {r['error']}"
        assert r["peak_rss_mb"] > 10 and r["wall_s"] > 0
    m = report["measurements"]
    assert m["ingest_bare"]["rows"] == m["eu27"]["rows"]  # the CSV and the parquet hold the same flows
    assert m["batch1"]["cells"] == m["batch2"]["cells"] == m["batch1_cells"]["cells"] == report["importers"]
    assert math.isclose(m["joint"]["ipm_objective"], m["joint"]["simplex_objective"], rel_tol=1e-6)
    for key in ("ingest", "eu27", "backend", "batch", "batch_cells", "joint_ipm_over_simplex"):
        assert math.isfinite(report["ratios"][key]) and report["ratios"][key] > 0
    assert report["machine"]["cores_logical"] >= 1 and report["machine"]["versions"]["highspy"] != "-"
    assert "| ingest |" in md and "SYNTHETIC" in md
