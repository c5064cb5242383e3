"""`tradeopt run` / `tradeopt scenarios` through click's CliRunner: exit codes, files, labels, overrides."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimize.config.scenario import list_scenarios


def test_run_without_options_runs_default_on_synthetic_sample(cli_main, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli_main, ["run"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    (out,) = (tmp_path / "tradeopt-out").iterdir()  # named after the run: scenario, importer, year, digest
    assert out.name.startswith("default-EU27-latest-")
    assert "SYNTHETIC" in res.output
    assert f"tradeopt-out/{out.name}" in res.output
    for f in ("summary.json", "summary.md", "flows.parquet", "manifest.json", "scenario.resolved.toml"):
        assert (out / f).is_file(), f
    assert any((out / "figures").iterdir())
    assert json.loads((out / "summary.json").read_text())["synthetic"] is True


def test_set_cap_zero_shifts_nothing(cli_main, tmp_path):
    out = tmp_path / "o"
    res = CliRunner().invoke(cli_main, ["run", "--set", "cap.pp=0", "--no-figures", "--quiet", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["shifted_usd"] == pytest.approx(0, abs=1e-6)
    assert summary["totals"]["risk_after_usd"] == pytest.approx(summary["totals"]["risk_before_usd"])
    assert "# tradeopt" not in res.output  # --quiet: no summary printed
    assert str(out) in res.output
    # the override is recorded in the resolved scenario
    assert "pp = 0.0" in (out / "scenario.resolved.toml").read_text()


def test_options_map_onto_the_scenario(cli_main, tmp_path):
    out = tmp_path / "o"
    res = CliRunner().invoke(cli_main, ["run", "--importer", "NLD", "--risk", "CHN", "--cap", "2",
                                        "--cap-basis", "importer-market", "--sector", "energy",
                                        "--eur-per-usd", "0.9", "--no-figures", "--quiet", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    resolved = summary["scenario_resolved"]
    assert resolved["importer"]["countries"] == ["NLD"] and resolved["risk"]["countries"] == ["CHN"]
    assert resolved["cap"] == {**resolved["cap"], "pp": 2.0, "basis": "importer-market"}
    assert resolved["basket"]["sectors"] == ["energy"]
    assert summary["importer"] == "NLD" and summary["risk_iso3"] == ["CHN"]
    assert summary["eur_per_usd"] == 0.9
    assert not (out / "figures").exists()


def test_broken_scenario_exits_2_naming_the_key(cli_main, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'bad'\n[cap]\npp = 5\nbasis = 'gdp'\n")
    res = CliRunner().invoke(cli_main, ["run", "--scenario", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "cap.basis" in res.output and str(bad) in res.output
    res = CliRunner().invoke(cli_main, ["run", "--set", "cap.ppx=3", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "cap.ppx" in res.output and "cap.pp" in res.output
    res = CliRunner().invoke(cli_main, ["run", "--risk", "XYZ", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "risk.countries" in res.output
    assert not (tmp_path / "o").exists()


def test_infeasible_exits_3_with_what_to_relax(cli_main, tmp_path):
    res = CliRunner().invoke(cli_main, ["run", "--scenario", "kr-3050", "--set", "solver.keep_going=false",
                                        "--no-figures", "--out", str(tmp_path / "o")])
    assert res.exit_code == 3, res.output
    assert "keep_going" in res.output or "keep-going" in res.output
    assert not (tmp_path / "o").exists()


def test_unwritable_out_exits_5_before_solving(cli_main, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = CliRunner().invoke(cli_main, ["run", "--out", str(blocker / "sub"), "--no-figures"])
    assert res.exit_code == 5, res.output


def test_scenarios_lists_names_and_descriptions(cli_main):
    res = CliRunner().invoke(cli_main, ["scenarios"])
    assert res.exit_code == 0
    for name, desc in list_scenarios():
        assert name in res.output and desc in res.output
    res = CliRunner().invoke(cli_main, ["scenarios", "kr-3050"])
    assert res.exit_code == 0 and "share_limit = 0.5" in res.output


def test_products_codes_and_save_lp(cli_main, tmp_path):
    out, lp = tmp_path / "o", tmp_path / "model.lp"
    res = CliRunner().invoke(cli_main, ["run", "--products", "850440,854143", "--no-figures", "--quiet",
                                        "--save-lp", str(lp), "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"]["n_products"] == 2
    assert lp.is_file() and lp.stat().st_size > 0


def test_real_energy_subset(cli_main, energy_parquet, tmp_path):
    out = tmp_path / "o"
    res = CliRunner().invoke(cli_main, ["run", "--scenario", "eu27-friendshoring", "--baci", str(energy_parquet),
                                        "--year", "2023", "--products", "all", "--no-figures", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["synthetic"] is False and "SYNTHETIC" not in (out / "summary.md").read_text()
    assert summary["totals"]["n_products"] == 32
    assert summary["totals"]["risk_after_usd"] <= summary["totals"]["risk_before_usd"]
    manifest = json.loads((out / "manifest.json").read_text())
    import hashlib

    assert manifest["inputs"]["trade_data"] == hashlib.sha256(energy_parquet.read_bytes()).hexdigest()


def test_year_absent_from_the_data_names_the_key_and_writes_nothing(cli_main, tmp_path):
    out = tmp_path / "o"
    res = CliRunner().invoke(cli_main, ["run", "--year", "2019", "--quiet", "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "data.year" in res.output and "2019" in res.output and "Fix:" in res.output
    assert "no data rows" not in res.output  # the year filter, not a broken file, is the cause
    assert not out.exists()


def test_installed_console_script_runs_outside_the_checkout(tmp_path):
    """The ``tradeopt`` script of the environment running the tests, started in an empty
    folder: in CI this imports the installed wheel, so bundled data and scenarios must be in it."""
    import os
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "tradeopt"
    if not exe.exists():
        pytest.skip("no tradeopt console script beside this Python (package not installed)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = tmp_path / "o"
    res = subprocess.run([str(exe), "run", "--scenario", "eu27-friendshoring", "--no-figures", "--quiet",
                          "--out", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["synthetic"] is True
    assert summary["totals"]["risk_after_usd"] <= summary["totals"]["risk_before_usd"]
