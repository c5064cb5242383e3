"""`tradeopt screen`: exit codes, printed counts and the CSV it writes (click's CliRunner)."""
from __future__ import annotations


import pandas as pd
import pytest
from click.testing import CliRunner





def test_screen_single_writes_csv(cli_main, energy_parquet, tmp_path):
    out = tmp_path / "single.csv"
    res = CliRunner().invoke(cli_main, ["screen", "single", "--baci", str(energy_parquet), "--importer", "EU27",
                                        "--supplier", "CHN", "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out, dtype={"k": str})
    n_flagged = int(table["flagged"].sum())
    assert f"{n_flagged} of {len(table)} rows flagged" in res.output
    # the supplier-restricted screen tests China's share against 0.5
    assert (table["flagged"] == (table["supplier_share"] > 0.5)).all()
    assert table["k"].str.len().eq(6).all()


@pytest.mark.parametrize("kind", ["ec", "geodep"])
def test_screen_ec_geodep_run(cli_main, energy_parquet, tmp_path, kind):
    out = tmp_path / f"{kind}.csv"
    res = CliRunner().invoke(cli_main, ["screen", kind, "--baci", str(energy_parquet), "--year", "2023",
                                        "--threshold", "0.9", "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out, dtype={"k": str})
    hhi_col = "hhi_extra" if kind == "ec" else "hhi_importer"
    passed = table["pass_hhi"] if kind == "ec" else table["n_hhi_importer"].astype(bool)  # one year: count 0 or 1
    assert (passed == (table[hhi_col].fillna(0) > 0.9)).all()  # --threshold reached the screen


def test_screen_bad_input_exit_codes(cli_main, energy_parquet, tmp_path):
    runner = CliRunner()
    bad_years = runner.invoke(cli_main, ["screen", "single", "--baci", str(energy_parquet), "--years", "20x"])
    assert bad_years.exit_code == 2 and "--years" in bad_years.output
    missing_year = runner.invoke(cli_main, ["screen", "ec", "--baci", str(energy_parquet), "--year", "1999"])
    assert missing_year.exit_code == 2
    no_dir = runner.invoke(cli_main, ["screen", "ec", "--baci", str(energy_parquet),
                                      "--out", str(tmp_path / "nope" / "x.csv")])
    assert no_dir.exit_code == 5


@pytest.mark.parametrize("kind", ["frontier", "cost", "binding"])
def test_analyse_commands_on_embedded_sample(cli_main, tmp_path, kind):
    out = tmp_path / f"{kind}.csv"
    res = CliRunner().invoke(cli_main, ["analyse", kind, "--points", "3", "--top", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "SYNTHETIC" in res.output  # outputs made from the embedded sample say so
    table = pd.read_csv(out, dtype={"k": str})
    if kind == "frontier":
        for _, g in table.groupby("group"):
            assert (g["hhi"].diff().dropna() <= 1e-12).all()  # more exposure allowed never raises min HHI
            assert g["is_knee"].sum() <= 1
        for suffix in (".png", ".svg"):  # the frontier figure is written beside the table
            fig = out.with_suffix(suffix)
            assert fig.is_file() and fig.stat().st_size > 1000
        assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    elif kind == "binding":
        assert (table["rank"] <= 2).all() and table.groupby("sector")["rank"].apply(lambda r: r.is_unique).all()
    else:
        assert "Extra cost (USD): low" in res.output and table["k"].is_unique


def test_analyse_bad_out_dir(cli_main, tmp_path):
    res = CliRunner().invoke(cli_main, ["analyse", "cost", "--out", str(tmp_path / "no" / "x.csv")])
    assert res.exit_code == 5
