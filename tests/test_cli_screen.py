"""`tradeopt screen` and `tradeopt analyse`: exit codes, printed counts and the folder they write
(click's CliRunner)."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner


def test_screen_single_writes_a_folder_like_run(cli_main, energy_parquet, tmp_path):
    out = tmp_path / "single"
    res = CliRunner().invoke(cli_main, ["screen", "single", "--baci", str(energy_parquet), "--importer", "EU27",
                                        "--supplier", "CHN", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert {p.name for p in out.iterdir()} == {"screen_single.csv", "screen_single.parquet", "summary.json",
                                               "datapackage.json", "manifest.json"}
    table = pd.read_csv(out / "screen_single.csv", dtype={"k": str})
    parquet = pd.read_parquet(out / "screen_single.parquet")
    assert list(parquet.columns) == list(table.columns) and parquet["k"].tolist() == table["k"].tolist()
    assert (table["supplier"] == "CHN").all() and (table["supplier_code"] == 156).all()  # ISO3, code beside
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["importer"] == "EU27" and summary["settings"]["supplier"] == "CHN"
    assert summary["settings"]["thresholds"] == {"share": [0.5, 0.7]} and summary["settings"]["years"] == [2023]
    assert summary["settings"]["intra_bloc"] == "include" and summary["counts"]["flagged"] == table["flagged"].sum()
    package = json.loads((out / "datapackage.json").read_text())
    assert {r["path"] for r in package["resources"]} == {"screen_single.csv", "screen_single.parquet"}
    n_flagged = int(table["flagged"].sum())
    assert f"{n_flagged} of {len(table)} rows flagged" in res.output
    # the supplier-restricted screen tests China's share against 0.5
    assert (table["flagged"] == (table["supplier_share"] > 0.5)).all()
    assert table["k"].str.len().eq(6).all()


@pytest.mark.parametrize("kind", ["ec", "geodep"])
def test_screen_ec_geodep_run(cli_main, energy_parquet, tmp_path, kind):
    out = tmp_path / kind
    res = CliRunner().invoke(cli_main, ["screen", kind, "--baci", str(energy_parquet), "--year", "2023",
                                        "--threshold", "0.9", "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / f"screen_{kind}.csv", dtype={"k": str})
    thresholds = json.loads((out / "summary.json").read_text())["settings"]["thresholds"]
    assert thresholds[{"ec": "hhi", "geodep": "hhi_importer"}[kind]] == 0.9
    hhi_col = "hhi_extra" if kind == "ec" else "hhi_importer"
    passed = table["pass_hhi"] if kind == "ec" else table["n_hhi_importer"].astype(bool)  # one year: count 0 or 1
    assert (passed == (table[hhi_col].fillna(0) > 0.9)).all()  # --threshold reached the screen


def test_screen_bad_input_exit_codes(cli_main, energy_parquet, tmp_path):
    runner = CliRunner()
    bad_years = runner.invoke(cli_main, ["screen", "single", "--baci", str(energy_parquet), "--years", "20x"])
    assert bad_years.exit_code == 2 and "--years" in bad_years.output
    missing_year = runner.invoke(cli_main, ["screen", "ec", "--baci", str(energy_parquet), "--year", "1999"])
    assert missing_year.exit_code == 2
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    no_dir = runner.invoke(cli_main, ["screen", "ec", "--baci", str(energy_parquet), "--out", str(blocked / "x")])
    assert no_dir.exit_code == 5
    include = runner.invoke(cli_main, ["screen", "ec", "--baci", str(energy_parquet), "--intra-bloc", "include"])
    assert include.exit_code == 2 and "outside the importer set" in include.output


@pytest.mark.parametrize("kind", ["frontier", "cost", "binding"])
def test_analyse_commands_on_embedded_sample(cli_main, tmp_path, kind):
    out = tmp_path / kind
    own = {"frontier": ["--points", "3"], "binding": ["--top", "2"], "cost": []}[kind]
    res = CliRunner().invoke(cli_main, ["analyse", kind, *own, "--importer", "NLD", "--cap", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "SYNTHETIC" in res.output  # outputs made from the embedded sample say so
    table = pd.read_csv(out / f"{'binding_top' if kind == 'binding' else kind}.csv", dtype={"k": str})
    settings = json.loads((out / "summary.json").read_text())["settings"]
    assert settings["importer"] == "NLD" and settings["cap"].startswith("3 pp") and settings["year"] == "2023"
    if kind == "frontier":
        for _, g in table.groupby("group"):
            assert (g["hhi"].diff().dropna() <= 1e-12).all()  # more exposure allowed never raises min HHI
            assert g["is_knee"].sum() <= 1
        assert "e+" not in res.output  # USD columns printed as whole dollars (were 1.441627e+08)
        for suffix in (".png", ".svg"):  # the frontier figure is inside the folder, under figures/
            fig = out / "figures" / f"frontier{suffix}"
            assert fig.is_file() and fig.stat().st_size > 1000
        assert (out / "figures" / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        bare = tmp_path / "no-figures"
        assert CliRunner().invoke(cli_main, ["analyse", "frontier", "--points", "3", "--no-figures", "-q",
                                             "-o", str(bare)]).stdout.strip() == f"Outputs written to {bare}"
        assert not (bare / "figures").exists()
    elif kind == "binding":
        assert (table["rank"] <= 2).all() and table.groupby("sector")["rank"].apply(lambda r: r.is_unique).all()
    else:
        assert "Extra cost (USD): low" in res.output and table["k"].is_unique


def test_analyse_bad_out_dir(cli_main, tmp_path):
    (tmp_path / "file").write_text("x")
    res = CliRunner().invoke(cli_main, ["analyse", "cost", "--out", str(tmp_path / "file" / "x")])
    assert res.exit_code == 5


def test_screen_reads_a_folder_or_several_files(cli_main, energy_parquet, tmp_path):
    """GeoDep over two years from two files, or from the folder holding them; a year in two files is refused."""
    flows = pd.read_parquet(energy_parquet)
    folder = tmp_path / "baci"
    folder.mkdir()
    files = []
    for year in (2022, 2023):
        files.append(folder / f"BACI_HS22_Y{year}_V202501.parquet")
        flows.assign(t=flows["t"] * 0 + year).to_parquet(files[-1], index=False)
    runner = CliRunner()
    by_files = runner.invoke(cli_main, ["screen", "geodep", "--baci", str(files[0]), "--baci", str(files[1]),
                                        "-o", str(tmp_path / "files")])
    by_folder = runner.invoke(cli_main, ["screen", "geodep", "--baci", str(folder), "-o", str(tmp_path / "folder")])
    assert by_files.exit_code == 0 and by_folder.exit_code == 0, by_files.output + by_folder.output
    a = pd.read_csv(tmp_path / "files" / "screen_geodep.csv", dtype={"k": str})
    b = pd.read_csv(tmp_path / "folder" / "screen_geodep.csv", dtype={"k": str})
    pd.testing.assert_frame_equal(a, b)
    assert (a["years"] == "2022,2023").all()
    twice = runner.invoke(cli_main, ["screen", "geodep", "--baci", str(files[1]), "--baci", str(files[1])])
    assert twice.exit_code == 2 and "year 2023 is in two files" in twice.output
    run_two = runner.invoke(cli_main, ["run", "--baci", str(files[0]), "--baci", str(files[1])])
    assert run_two.exit_code == 2 and "one folder" in run_two.output


def test_screen_summary_states_the_hs_revision_and_its_source(tmp_path):
    """summary.json of a screen gives ``settings.hs_revision`` with its source, as a run's does (it was only inside
    ``data_source``)."""
    import optimize
    from tests.corpus import base_rows, write_csv

    optimize.screen("ec", out_dir=tmp_path / "sample")
    settings = json.loads((tmp_path / "sample" / "summary.json").read_text())["settings"]
    assert settings["hs_revision"] == "HS22 (the embedded sample)"
    src = write_csv(tmp_path / "flows.csv", base_rows())  # no revision in the name: detected from the codes
    optimize.screen("single", data=src, importer="FRA", out_dir=tmp_path / "csv")
    settings = json.loads((tmp_path / "csv" / "summary.json").read_text())["settings"]
    assert settings["hs_revision"].startswith("HS") and settings["hs_revision"].endswith("(detected from the codes)")


def test_every_column_of_the_screen_and_analysis_folders_is_described(tmp_path):
    """datapackage.json describes every column (docs/outputs.md), with its unit where the name gives one."""
    import optimize

    for kind in ("ec", "geodep", "single"):
        optimize.screen(kind, supplier="CHN" if kind == "single" else None, out_dir=tmp_path / kind)
    optimize.frontier(points=3, out_dir=tmp_path / "frontier", figures=False)
    optimize.cost(out_dir=tmp_path / "cost")
    optimize.binding(top=2, out_dir=tmp_path / "binding")
    for folder in tmp_path.iterdir():
        package = json.loads((folder / "datapackage.json").read_text())
        assert package["resources"], folder.name
        for res in package["resources"]:
            blank = [f["name"] for f in res["schema"]["fields"] if not f["description"]]
            assert not blank, f"{res['path']}: undocumented columns {blank}"
            assert all(f.get("unit") == "USD" for f in res["schema"]["fields"] if f["name"].endswith("_usd"))


@pytest.mark.parametrize("kind", ["single", "ec"])
def test_screen_prints_usd_as_whole_dollars(cli_main, tmp_path, kind):
    """The printed top rows showed USD values as 4.286215e+09 (single) or 4593843577.0 (ec)."""
    res = CliRunner().invoke(cli_main, ["screen", kind, *(["--supplier", "CHN"] if kind == "single" else []),
                                        "-o", str(tmp_path / kind)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / kind / f"screen_{kind}.csv", dtype={"k": str})
    value_col = "total_usd" if kind == "single" else "extra_imports_usd"
    flagged = table[table["flagged"]]
    assert len(flagged) and "e+" not in res.output
    assert any(f"{v:,.0f}" in res.output for v in flagged[value_col])
