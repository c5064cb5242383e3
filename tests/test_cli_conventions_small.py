"""Smaller items of issue #13: USD and one vocabulary in screen/analyse tables, frontier levels once,
--year outside the file, fetch without network, a broken pipe."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kind", ["ec", "geodep", "single"])
def test_screen_tables_are_in_usd(cli_main, energy_parquet, tmp_path, kind):
    out = tmp_path / kind
    res = CliRunner().invoke(cli_main, ["screen", kind, "--baci", str(energy_parquet), "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / f"screen_{kind}.csv", dtype={"k": str})
    assert not [c for c in table.columns if c.endswith("_kusd")]
    assert [c for c in table.columns if c.endswith("_usd")]


def test_screen_single_usd_equals_flows_times_1000(cli_main, energy_parquet, tmp_path):
    out = tmp_path / "single"
    CliRunner().invoke(cli_main, ["screen", "single", "--baci", str(energy_parquet), "--importer", "DEU",
                                  "--out", str(out)])
    table = pd.read_csv(out / "screen_single.csv", dtype={"k": str}).set_index("k")
    flows = pd.read_parquet(energy_parquet)
    into = flows[flows["j"] == 276].groupby("k")["v"].sum()  # independent: DEU's imports in kUSD
    for k in table.index[:5]:
        assert table.loc[k, "total_usd"] == pytest.approx(into[k] * 1000.0, rel=1e-12)


def test_analyse_binding_uses_iso3_exporter_and_usd(cli_main, tmp_path):
    out = tmp_path / "b"
    res = CliRunner().invoke(cli_main, ["analyse", "binding", "--top", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "binding_top.csv")
    assert table["exporter"].str.fullmatch(r"[A-Z][A-Z0-9]{2}").all() and "exporter_code" in table
    assert not [c for c in table.columns if c.endswith("_kusd")]


def test_analyse_frontier_prints_each_level_once(cli_main, tmp_path):
    res = CliRunner().invoke(cli_main, ["analyse", "frontier", "--points", "11"])
    assert res.exit_code == 0, res.output
    rows = [ln.split() for ln in res.output.splitlines() if ln.strip().startswith(("all ", "energy "))]
    seen = [(r[0], r[-3], r[-2]) for r in rows]  # group, exposure_share, hhi
    assert rows and len(seen) == len(set(seen))
    assert "exposure_level_usd" in res.output


def test_year_outside_the_file_names_the_years_it_holds(cli_main, energy_parquet, tmp_path):
    runner = CliRunner()
    for args in (["run", "--baci", str(energy_parquet), "--year", "2020", "--quiet", "--no-figures",
                  "--out", str(tmp_path / "o")],
                 ["screen", "single", "--baci", str(energy_parquet), "--year", "2020"]):
        res = runner.invoke(cli_main, args)
        assert res.exit_code == 2
        assert "2020" in res.output and "holds 2023" in res.output


def test_fetch_without_network_says_the_host_could_not_be_reached(tmp_path):
    from optimize.data.fetch import FetchError, fetch_release

    with pytest.raises(FetchError, match="could not reach nonexistent.invalid"):
        fetch_release("HS22", "202501", base_url="http://nonexistent.invalid/baci", cache_dir=tmp_path,
                      retries=0, stall_s=5)


def test_broken_pipe_exits_quietly(energy_parquet):
    cmd = f"{sys.executable} {ROOT / 'cli.py'} screen single --baci {energy_parquet} --top 30 | true"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=120, check=False,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert "Error" not in proc.stderr and "Broken pipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 0
