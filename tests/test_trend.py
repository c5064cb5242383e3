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
    """A folder of two yearly BACI files: the real 2023 subset and a perturbed 2022."""
    folder = tmp_path_factory.mktemp("yearly")
    real = pd.read_parquet(energy_parquet)
    real.to_parquet(folder / "BACI_HS22_Y2023_V202501.parquet", index=False)
    _perturbed(real, 2022, 1).to_parquet(folder / "BACI_HS22_Y2022_V202501.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def trended(yearly):
    return to.trend(data=str(yearly), importer="EU27", products="all")


def test_each_year_equals_run(yearly, trended):
    assert list(trended.table.columns) == list(TREND_COLUMNS)
    assert sorted(trended.table["year"].unique()) == [2022, 2023]
    for year in (2022, 2023):
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
    d = trended.decomposition.set_index("risk")
    t = trended.table.set_index(["year", "risk"])["share_before"]
    for risk in d.index:
        assert d.loc[risk, "change"] == pytest.approx(t[(2023, risk)] - t[(2022, risk)], abs=1e-12)
    np.testing.assert_allclose(d["within"] + d["composition"], d["change"], atol=1e-14)
    tops = trended.top_products
    assert set(tops["risk"]) == set(d.index) and (tops.groupby("risk").size() <= 5).all()
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
    np.testing.assert_allclose(table["share_after"], trended.table["share_after"], rtol=1e-9)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["years"] == [2022, 2023] and summary["settings"]["importer"] == "EU27"
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
