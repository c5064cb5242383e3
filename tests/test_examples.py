"""The scripts in examples/ run (subprocess, temp cwd, output dir argument) and write what they promise."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _run(script: str, *args: str, cwd: Path) -> str:
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_every_example_is_tested():
    assert {p.name for p in EXAMPLES.glob("*.py")} == {"eu27_energy.py", "cap_sweep.py", "korea_screen.py"}


def test_eu27_energy(tmp_path, energy_parquet):
    out = _run("eu27_energy.py", "eu", str(energy_parquet), cwd=tmp_path)
    assert "EU27 energy imports 2023: 32 products" in out
    exposure = pd.read_csv(tmp_path / "eu" / "exposure.csv").set_index("iso3")
    assert set(exposure.index) == {"CHN", "USA", "RUS", "ALL"}
    assert (exposure["share_after"] <= exposure["share_before"] + 1e-12).all()
    assert (tmp_path / "eu" / "figures" / "exposure.png").is_file()


def test_eu27_energy_skips_politely_without_data(tmp_path):
    out = _run("eu27_energy.py", "eu", str(tmp_path / "absent.parquet"), cwd=tmp_path)
    assert out.startswith("Skipping:") and not (tmp_path / "eu").exists()


def test_eu27_energy_finds_the_shared_data_from_its_own_file(tmp_path, monkeypatch, shared_data):
    """With a non-editable install (the package in site-packages) run from another folder, the example skipped
    although ../shared/data was beside the checkout: it looks beside its own file too."""
    import importlib.util

    import optimize.resources as resources

    monkeypatch.setattr(resources, "_PKG", tmp_path / "site-packages" / "optimize")  # as if installed
    monkeypatch.chdir(tmp_path)
    assert resources.shared_data_dir() is None  # the package and the folder alone do not find it
    spec = importlib.util.spec_from_file_location("eu27_energy_example", EXAMPLES / "eu27_energy.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    found = example.data_path()
    assert found is not None and found.is_file() and found.resolve() == (shared_data / example.SUBSET).resolve()


def test_cap_sweep(tmp_path):
    out = _run("cap_sweep.py", "sweep", cwd=tmp_path)
    table = pd.read_csv(tmp_path / "sweep" / "sweep.csv")
    all_rows = table[table["risk"] == "ALL"].sort_values("cap_pp")
    assert all_rows["cap_pp"].tolist() == [0, 1, 2, 3, 5, 7.5, 10]
    assert all_rows["share_after"].is_monotonic_decreasing  # more cap never raises exposure
    assert (tmp_path / "sweep" / "sweep.png").is_file() and "cap (pp)" in out


def test_korea_screen(tmp_path):
    out = _run("korea_screen.py", "kr", cwd=tmp_path)
    screen = pd.read_csv(tmp_path / "kr" / "screen.csv", dtype={"k": str})
    n50 = int((screen["supplier_share"] > 0.5).sum())
    n70 = int((screen["supplier_share"] > 0.7).sum())
    assert f"above 50%: {n50}, above 70%: {n70}" in out  # printed counts match the written table
    single = pd.read_csv(tmp_path / "kr" / "kr-3050" / "single_country.csv")
    row = single[(single["supplier"] == "any") & (single["threshold"] == 0.5)].iloc[0]
    assert row["n_after"] <= row["n_before"]
    assert (tmp_path / "kr" / "kr-3050" / "summary.json").is_file()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
