"""The conventions on the command line: --intra-bloc everywhere, the own-risk-set warning."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner


@pytest.mark.parametrize("command", [["run"], ["batch"], ["sweep"], ["screen", "single"], ["screen", "ec"],
                                     ["analyse", "cost"]])
def test_every_command_takes_intra_bloc(cli_main, command):
    res = CliRunner().invoke(cli_main, command + ["--help"])
    assert res.exit_code == 0 and "--intra-bloc [include|exclude]" in res.output


def test_run_intra_bloc_exclude_reaches_the_model(cli_main, energy_parquet, tmp_path):
    runner = CliRunner()
    out = {}
    for mode in ("include", "exclude"):
        res = runner.invoke(cli_main, ["run", "--baci", str(energy_parquet), "--importer", "EU27", "--risk", "CHN",
                                       "--intra-bloc", mode, "--no-figures", "--quiet", "--out", str(tmp_path / mode)])
        assert res.exit_code == 0, res.output
        out[mode] = json.loads((tmp_path / mode / "summary.json").read_text())
        assert out[mode]["settings"]["intra_bloc"].startswith(mode)
    # excluding intra-EU trade shrinks the basket and raises China's share
    assert out["exclude"]["totals"]["total_usd"] < out["include"]["totals"]["total_usd"]
    assert out["exclude"]["exposure"]["CHN"]["before"] > out["include"]["exposure"]["CHN"]["before"]


def test_screen_single_and_run_agree_on_single_supplier_counts(cli_main, energy_parquet, tmp_path):
    """One definition: the run's single_country 'any' counts = screen single's flagged products (same basket)."""
    runner = CliRunner()
    for mode in ("include", "exclude"):
        res = runner.invoke(cli_main, ["run", "--baci", str(energy_parquet), "--importer", "EU27", "--risk", "CHN",
                                       "--products", "all", "--intra-bloc", mode, "--no-figures", "--quiet",
                                       "--out", str(tmp_path / f"run-{mode}")])
        assert res.exit_code == 0, res.output
        single = pd.read_csv(tmp_path / f"run-{mode}" / "single_country.csv")
        n_run = int(single.query("threshold == 0.5 and supplier == 'any'")["n_before"].iloc[0])
        folder = tmp_path / f"screen-{mode}"
        res = runner.invoke(cli_main, ["screen", "single", "--baci", str(energy_parquet), "--importer", "EU27",
                                       "--intra-bloc", mode, "--out", str(folder)])
        assert res.exit_code == 0, res.output
        scr = pd.read_csv(folder / "screen_single.csv", dtype={"k": str})
        assert int(scr["flagged"].sum()) == n_run, mode
        assert "total_usd" in scr.columns
        settings = json.loads((folder / "summary.json").read_text())["settings"]  # the choice is stated
        assert settings["intra_bloc"] == mode and settings["share_of"] in res.output


def test_importer_in_own_risk_set_warns(cli_main, energy_parquet, tmp_path):
    res = CliRunner().invoke(cli_main, ["run", "--baci", str(energy_parquet), "--importer", "DEU", "--risk", "CHN,DEU",
                                        "--no-figures", "--quiet", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "importer is in its own risk set (DEU)" in res.output
    assert "WARNING: the importer is in its own risk set" in (tmp_path / "o" / "summary.md").read_text()


def test_own_risk_warning_is_printed_once(energy_parquet, tmp_path):
    """A real process (no pytest log capture): the warning was logged to stderr and printed again by the CLI."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(repo / "cli.py"), "run", "--baci", str(energy_parquet), "--importer",
                           "DEU", "--risk", "CHN,DEU", "--no-figures", "-q", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("the importer is in its own risk set (DEU)") == 1, proc.stderr


@pytest.mark.parametrize("command", [["sweep", "--caps", "0,5"], ["trend"], ["batch", "--importers", "DEU", "--caps", "5"]])
def test_sweep_and_trend_on_the_embedded_sample_say_synthetic(cli_main, tmp_path, command):
    """run, screens and analyses printed the synthetic-data note; sweep, trend and batch printed their numbers bare."""
    from optimize.data.trade import SYNTHETIC_LABEL

    res = CliRunner().invoke(cli_main, [*command, "--no-figures", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert SYNTHETIC_LABEL in res.output
