"""``tradeopt trend`` (issue #26 items 1-2): on real BACI flows (2023, and a 2022 built from it in a temporary
folder, never committed) each year of the trend equals ``run`` for that year; the decomposition adds up
exactly (a property test, and against the runs' own shares); years of two HS revisions are refused."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import optimize as to
from optimize.analysis.decompose import decompose_pair
from optimize.analysis.persistence import SCREENS_COLUMNS, persistence, survival
from optimize.errors import DataError
from optimize.runs.trend import TREND_COLUMNS


def _perturbed(frame: pd.DataFrame, year: int, seed: int) -> pd.DataFrame:
    """``frame`` re-labelled as ``year``: values scaled by U(0.5, 1.5), a tenth of the rows dropped."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out["t"] = np.full(len(out), year, dtype=frame["t"].dtype)
    out["v"] = np.round(out["v"].to_numpy() * rng.uniform(0.5, 1.5, len(out)), 3)
    return out.sample(frac=0.9, random_state=seed).sort_values(["t", "i", "j", "k"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def yearly(energy_parquet, tmp_path_factory):
    """A folder of three yearly BACI files: the real 2023 subset and perturbed 2021 and 2022."""
    folder = tmp_path_factory.mktemp("yearly")
    real = pd.read_parquet(energy_parquet)
    real.to_parquet(folder / "BACI_HS22_Y2023_V202501.parquet", index=False)
    _perturbed(real, 2022, 1).to_parquet(folder / "BACI_HS22_Y2022_V202501.parquet", index=False)
    _perturbed(real, 2021, 3).to_parquet(folder / "BACI_HS22_Y2021_V202501.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def trended(yearly):
    return to.trend(data=str(yearly), importer="EU27", products="all")


def test_each_year_equals_run(yearly, trended):
    assert list(trended.table.columns) == list(TREND_COLUMNS)
    assert sorted(trended.table["year"].unique()) == [2021, 2022, 2023]
    for year in (2021, 2022, 2023):
        run = to.run(data=str(yearly), importer="EU27", products="all", year=year)
        rows = trended.table.loc[trended.table["year"] == year].set_index("risk")
        ex = run.tables.exposure.set_index("iso3")
        assert list(rows.index) == list(ex.index)
        s = run.tables.summary
        for col in ("share_before", "share_after"):
            np.testing.assert_allclose(rows[col], ex[col], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(rows["shifted_usd"].drop("ALL"), (ex["before_usd"] - ex["after_usd"]).drop("ALL"),
                                   rtol=1e-9)
        assert rows.loc["ALL", "shifted_usd"] == pytest.approx(s["shifted_usd"], rel=1e-9)
        for col in ("total_usd", "hhi_before", "hhi_after"):
            np.testing.assert_allclose(rows[col], s[col], rtol=1e-9)
        np.testing.assert_allclose(rows["cost_usd"], run.tables.cost["total_usd"], rtol=1e-9)


def test_several_files_give_the_folder_trend(yearly, trended):
    files = sorted(str(p) for p in yearly.glob("BACI_*.parquet"))
    again = to.trend(data=files, importer="EU27", products="all")
    pd.testing.assert_frame_equal(again.table, trended.table, rtol=1e-12)


def test_decomposition_matches_the_observed_change(trended):
    """change = within + composition, and change = the difference of the years' observed risk shares."""
    d = trended.decomposition.loc[trended.decomposition["to_year"] == 2023].set_index("risk")
    pairs = trended.decomposition[["from_year", "to_year"]].drop_duplicates()
    assert sorted(map(tuple, pairs.to_numpy().tolist())) == [(2021, 2022), (2022, 2023)]
    t = trended.table.set_index(["year", "risk"])["share_before"]
    for risk in d.index:
        assert d.loc[risk, "change"] == pytest.approx(t[(2023, risk)] - t[(2022, risk)], abs=1e-12)
    np.testing.assert_allclose(d["within"] + d["composition"], d["change"], atol=1e-14)
    tops = trended.top_products
    assert set(tops["risk"]) == set(d.index) and (tops.groupby(["risk", "to_year"]).size() <= 5).all()
    assert tops["description"].notna().all()


_money = st.floats(0.0, 1e6, allow_nan=False)


@st.composite
def _year(draw, codes):
    keep = draw(st.lists(st.sampled_from(codes), min_size=1, unique=True))
    rows = []
    for k in sorted(keep):
        value = draw(_money)
        a, b = draw(st.floats(0, 1)), draw(st.floats(0, 1))
        rows += [{"risk": "AAA", "k": k, "value_usd": value, "risk_usd": value * a * b},
                 {"risk": "ALL", "k": k, "value_usd": value, "risk_usd": value * a}]
    return pd.DataFrame(rows)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_decomposition_adds_up_exactly(data):
    codes = [f"{n:06d}" for n in range(1, 9)]
    y0, y1 = data.draw(_year(codes)), data.draw(_year(codes))
    rows, _ = decompose_pair(y0, y1, 2020, 2021)

    def level(y, risk):  # the basket's risk share, straight from the values
        g = y.loc[y["risk"] == risk]
        return g["risk_usd"].sum() / g["value_usd"].sum() if g["value_usd"].sum() > 0 else 0.0

    for rec in rows.to_dict("records"):
        assert rec["change"] == pytest.approx(level(y1, rec["risk"]) - level(y0, rec["risk"]), abs=1e-12)
        assert rec["within"] + rec["composition"] == pytest.approx(rec["change"], abs=1e-12)


def test_cli_trend_writes_the_folder(cli_main, yearly, trended, tmp_path):
    out = tmp_path / "trend"
    res = CliRunner().invoke(cli_main, ["trend", "--baci", str(yearly), "--importer", "EU27", "--products", "all",
                                        "--years", "2022-2023", "-o", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "trend.csv")
    assert list(table.columns) == list(TREND_COLUMNS)
    api = trended.table.loc[trended.table["year"] >= 2022, "share_after"]
    np.testing.assert_allclose(table["share_after"], api, rtol=1e-9)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["years"] == [2022, 2023] and summary["settings"]["importer"] == "EU27"
    assert list(pd.read_csv(out / "screens.csv").columns) == list(SCREENS_COLUMNS)
    assert summary["settings"]["hs_revision"].startswith("HS22")
    assert {"decomposition.csv", "summary.md", "datapackage.json"} <= {p.name for p in out.iterdir()}
    assert (out / "figures" / "trend.png").is_file()
    package = json.loads((out / "datapackage.json").read_text())
    fields = {f["name"]: f for r in package["resources"] if r["path"] == "trend.csv" for f in r["schema"]["fields"]}
    assert all(fields[c].get("description") for c in TREND_COLUMNS)


def test_years_of_two_revisions_are_refused(energy_parquet, tmp_path, cli_main):
    real = pd.read_parquet(energy_parquet)
    real.to_parquet(tmp_path / "BACI_HS22_Y2023_V202501.parquet", index=False)
    _perturbed(real, 2022, 2).to_parquet(tmp_path / "BACI_HS17_Y2022_V202501.parquet", index=False)
    with pytest.raises(DataError, match="two HS revisions: BACI_HS17_Y2022.* is HS17, BACI_HS22_Y2023.* is HS22"):
        to.trend(data=str(tmp_path), importer="EU27", products="all")
    with pytest.raises(DataError, match="HS22 file beside a HS17 file"):  # several files: load_trade's refusal
        to.trend(data=[str(p) for p in sorted(tmp_path.glob("BACI_*"))], importer="EU27", products="all")
    res = CliRunner().invoke(cli_main, ["trend", "--baci", str(tmp_path), "-o", str(tmp_path / "out")])
    assert res.exit_code == 2 and "HS revision" in res.output and not (tmp_path / "out").exists()


def test_screen_persistence_identities_on_real_data(yearly, trended):
    """staying + leaving = flagged the year before, staying + entering = flagged now; the flagged counts are
    what ``optimize.screen`` flags on the same data; survival over one year is the one-year survival."""
    s = trended.screens
    assert list(s.columns) == list(SCREENS_COLUMNS) and set(s["screen"]) == {"ec", "geodep", "single"}
    for screen, g in s.groupby("screen"):
        g = g.sort_values("year").reset_index(drop=True)
        assert list(g["year"]) == [2021, 2022, 2023]
        for i in range(1, len(g)):
            assert g.loc[i, "staying"] + g.loc[i, "leaving"] == g.loc[i - 1, "flagged"], screen
            assert g.loc[i, "staying"] + g.loc[i, "entering"] == g.loc[i, "flagged"], screen
    for kind in ("ec", "single"):
        for year in (2021, 2023):
            direct = to.screen(kind, str(yearly), importer="EU27", year=year)
            got = s.loc[(s["screen"] == kind) & (s["year"] == year), "flagged"].iloc[0]
            assert got == int(direct["flagged"].sum()), (kind, year)
    for year in (2021, 2022, 2023):  # GeoDep put together from each year's criteria = the screen on the window
        direct = to.screen("geodep", str(yearly), importer="EU27", years=list(range(2021, year + 1)))
        got = s.loc[(s["screen"] == "geodep") & (s["year"] == year), "flagged"].iloc[0]
        assert got == int(direct["flagged"].sum()), year
    one = trended.survival.loc[trended.survival["years"] == 1].set_index(["screen", "to_year"])["survival"]
    per = s.dropna(subset=["survival_1y"]).set_index(["screen", "year"])["survival_1y"]
    pd.testing.assert_series_equal(one.sort_index(), per.sort_index(), check_names=False, check_index_type=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sets(st.sampled_from([f"{n:06d}" for n in range(12)])), min_size=1, max_size=5))
def test_persistence_identities_hold_for_any_sets(sets):
    flagged = {"x": {2000 + i: s for i, s in enumerate(sets)}}
    table = persistence(flagged).set_index("year")
    for i in range(1, len(sets)):
        row = table.loc[2000 + i]
        assert row["staying"] + row["leaving"] == len(sets[i - 1])
        assert row["staying"] + row["entering"] == len(sets[i])
    surv = survival(flagged)
    assert len(surv) == len(sets) * (len(sets) - 1) // 2
    assert (surv["still_flagged"] <= surv["flagged_from"]).all()


def test_years_on_two_workers_give_the_same_trend(yearly, trended):
    pooled = to.trend(data=str(yearly), importer="EU27", products="all", workers=2)
    pd.testing.assert_frame_equal(pooled.table, trended.table)
    pd.testing.assert_frame_equal(pooled.decomposition, trended.decomposition)
    pd.testing.assert_frame_equal(pooled.screens, trended.screens)


def test_years_not_in_the_data_are_named(yearly, cli_main, tmp_path):
    res = CliRunner().invoke(cli_main, ["trend", "--baci", str(yearly), "--years", "2019-2023", "-o",
                                        str(tmp_path / "t")])
    assert res.exit_code == 2 and "2019, 2020 not in the data (years: [2021, 2022, 2023])" in res.output
    bad = CliRunner().invoke(cli_main, ["backtest", "--baci", str(yearly), "--from", "2020", "--to", "2023", "-o",
                                        str(tmp_path / "b")])
    assert bad.exit_code == 2 and "2020 not in the data" in bad.output and not (tmp_path / "b").exists()


def test_years_on_a_dask_cluster_give_the_same_trend(yearly, trended):
    pytest.importorskip("distributed")
    on_dask = to.trend(data=str(yearly), importer="EU27", products="all", dask_address="local:2")
    pd.testing.assert_frame_equal(on_dask.table, trended.table)
    pd.testing.assert_frame_equal(on_dask.screens, trended.screens)


def test_one_year_says_there_is_no_change_to_decompose():
    """A trend over one year wrote the decomposition section as a table header with no rows."""
    from optimize.output.trend import trend_markdown
    table = pd.DataFrame({"year": [2023], "risk": ["ALL"], "share_before": [0.2], "share_after": [0.1],
                          "total_usd": [1e9], "shifted_usd": [1e8], "hhi_before": [0.3], "hhi_after": [0.25],
                          "cost_usd": [1e6]})
    empty = pd.DataFrame(columns=["risk", "from_year", "to_year", "change", "within", "composition"])
    md = trend_markdown(table, empty, {"years": [2023]}, synthetic=False)
    assert "| from_year |" not in md and "one year" in md.lower()


def _same_trend(got, clean):
    for name in ("table", "decomposition", "top_products", "screens", "survival"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(clean, name), check_dtype=False, obj=name)


def test_an_interrupted_trend_computes_only_the_missing_years(yearly, trended, tmp_path, monkeypatch):
    """Interrupted (Ctrl-C) after two of three years, the trend run again into its folder prepares and solves
    only the third year and gives the clean run's tables; run once more, it computes nothing."""
    from optimize.runs import pipeline

    real, prepared, interrupt = pipeline.prepare_year, [], [2023]

    def counted(scen, year, data=None):
        if year in interrupt:
            interrupt.clear()
            raise KeyboardInterrupt  # the first call's third year: the user pressed Ctrl-C
        prepared.append(year)
        return real(scen, year, data)

    monkeypatch.setattr(pipeline, "prepare_year", counted)
    out = tmp_path / "trend"
    kw = {"data": str(yearly), "importer": "EU27", "products": "all", "out_dir": out, "figures": False}
    with pytest.raises(KeyboardInterrupt):
        to.trend(**kw)
    assert not (out / "trend.csv").exists() and not (out / ".tradeopt-batch.lock").exists()
    assert sorted(p.name for p in (out / "dataset" / "trend_years").iterdir()) == ["year=2021", "year=2022"]
    assert prepared == [2021, 2022]
    prepared[:] = ["resumed"]
    again = to.trend(**kw)
    assert prepared == ["resumed", 2023] and again.computed == [2023]
    _same_trend(again, trended)
    np.testing.assert_allclose(pd.read_csv(out / "trend.csv")["share_after"], trended.table["share_after"], rtol=1e-12)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed_years"] == [2021, 2022]
    once_more = to.trend(**kw)
    assert once_more.computed == [] and prepared == ["resumed", 2023]
    _same_trend(once_more, trended)


def test_another_scenario_does_not_resume_a_trend_folder(yearly, tmp_path):
    out = tmp_path / "trend"
    kw = {"data": str(yearly), "products": "all", "years": "2022-2023", "out_dir": out, "figures": False}
    first = to.trend(importer="EU27", **kw)
    assert first.computed == [2022, 2023]
    from optimize.errors import OutputError
    with pytest.raises(OutputError, match="another batch or trend"):
        to.trend(importer="FRA", **kw)
    other = to.trend(importer="FRA", overwrite=True, **kw)
    assert other.computed == [2022, 2023] and set(other.table["year"]) == {2022, 2023}
    assert json.loads((out / "summary.json").read_text())["settings"]["importer"] == "FRA"


def test_a_killed_trend_resumes_from_the_folder(yearly, trended, tmp_path):
    """``tradeopt trend`` killed (SIGKILL) once its first year is recorded: the re-run takes the dead
    writer's lock over, reads the years recorded before the kill and computes the rest; the table equals a
    clean run's."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "trend"
    args = [sys.executable, str(root / "cli.py"), "trend", "--baci", str(yearly), "--importer", "EU27", "--products",
            "all", "--no-figures", "-q", "-o", str(out)]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(args, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = out / "dataset" / "trend_years"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and not (records.is_dir() and any(records.iterdir())):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = sorted(int(p.name[5:]) for p in records.iterdir()) if records.is_dir() else []
    assert before, "no year was recorded before the kill"
    again = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed_years"] == before and summary["settings"]["years"] == [2021, 2022, 2023]
    np.testing.assert_allclose(pd.read_csv(out / "trend.csv")["share_after"], trended.table["share_after"], rtol=1e-12)
