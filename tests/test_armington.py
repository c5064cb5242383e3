"""CES cost of a run: per product by hand, the run's tables and summary on the real energy subset,
and the --elasticities option."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from optimize import api
from optimize.analysis.armington import NO_FINITE, NO_SIGMA, PairArrays, product_cost


def _pairs(x0, x1, world=None, group=None, risk=None):
    x0 = np.asarray(x0, float)
    g = np.zeros(len(x0), np.int64) if group is None else np.asarray(group, np.int64)
    return PairArrays(g, x0, np.asarray(x1, float), np.asarray(risk if risk is not None else [True] + [False] * (
        len(x0) - 1)), np.asarray(world if world is not None else np.ones(len(x0)), float), int(g.max()) + 1)


def _sig(values, low=None, high=None, source="ProTEE"):
    v = np.asarray(values, float)
    return pd.DataFrame({"sigma": v, "sigma_low": v if low is None else low, "sigma_high": v if high is None else high,
                         "sigma_source": source})


def test_hand_value_in_usd_without_prior():
    # 60/40 kUSD -> 30/70 at sigma 8: 2.3525 % of 100 kUSD = 2352.5 USD; risk share 0.6 -> 0.3: tau 19.60 %
    got = product_cost(_pairs([60, 40], [30, 70]), _sig([8.0]), lam=0.0, lam_band=(0.0, 0.0)).iloc[0]
    assert got["cost_usd"] == pytest.approx(0.02352531018412506 * 100_000, rel=1e-12)
    assert got["cost_pct"] == pytest.approx(2.352531018412506, rel=1e-12)
    assert got["tariff_equivalent"] == pytest.approx(0.19598024562548086, rel=1e-12)
    assert got["cost_note"] == ""


def test_band_brackets_central_and_missing_estimates_say_why():
    pa = _pairs([60, 40, 50, 50, 10, 0], [30, 70, 0, 100, 5, 5], group=[0, 0, 1, 1, 2, 2],
                risk=[True, False, True, False, True, False])
    sig = _sig([8.0, 0.8, np.nan], low=[4.0, 0.5, np.nan], high=[16.0, 1.2, np.nan],
               source=["ProTEE", "ProTEE", "no sigma table for HS92: pass --elasticities FILE"])
    got = product_cost(pa, sig)
    assert got["cost_low_usd"][0] <= got["cost_usd"][0] <= got["cost_high_usd"][0]
    assert np.isnan(got["cost_usd"][1]) and got["cost_note"][1] == NO_FINITE  # sigma <= 1, supplier cut to zero
    assert np.isnan(got["cost_usd"][2]) and got["cost_note"][2] == NO_SIGMA


def test_nothing_moves_costs_nothing():
    got = product_cost(_pairs([60, 40, 0], [60, 40, 0]), _sig([3.0]))
    assert got["cost_usd"][0] == pytest.approx(0.0, abs=1e-9) and np.isnan(got["tariff_equivalent"][0])


@pytest.fixture(scope="module")
def energy_run(energy_parquet):
    return api.run(None, energy_parquet, importer="EU27", cap_pp=5, products="all")


def test_real_energy_subset_sigma_and_cost_bounds(energy_run, shared_data):
    p = energy_run.tables.products.set_index("k")
    raw = pd.read_csv(shared_data / "elasticities" / "ProTEE_0_1.csv", dtype={"HS6": str}).set_index("HS6")
    for code in ("761300", "280410"):
        assert p.loc[code, "sigma"] == pytest.approx(-raw.loc[code, "sigma"], abs=1e-6)
        assert p.loc[code, "sigma_source"] == "ProTEE"
    assert p["sigma"].gt(0).all()
    shifted = p["shifted_usd"].to_numpy()
    cost = p["cost_usd"].to_numpy()
    assert np.isfinite(cost).all()
    assert (cost <= shifted + 1e-6).all()  # every product's cost at most the value it shifts
    assert (cost[shifted <= 0] == pytest.approx(0.0, abs=1e-6))
    assert (p["cost_low_usd"] <= p["cost_usd"] + 1e-9).all() and (p["cost_usd"] <= p["cost_high_usd"] + 1e-9).all()


def test_real_energy_summary_block_and_groups(energy_run, tmp_path):
    t = energy_run.tables
    block = t.cost
    assert block["method"] == "ces" and block["coverage"] == pytest.approx(1.0)
    assert block["total_usd"] == pytest.approx(t.products["cost_usd"].sum())
    assert block["low_usd"] <= block["total_usd"] <= block["high_usd"]
    assert block["pct_of_basket"] == pytest.approx(100 * block["total_usd"] / t.products["total_usd"].sum())
    for table in (t.by_sector, t.by_stage):
        assert table["cost_usd"].sum() == pytest.approx(block["total_usd"])
    out = tmp_path / "out"
    energy_run.write(out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cost"]["total_usd"] == pytest.approx(block["total_usd"])
    assert "Cost of shifting (ces" in (out / "summary.md").read_text()
    prod = pd.read_csv(out / "products.csv", dtype={"k": str})
    assert {"sigma", "sigma_source", "cost_usd", "cost_pct", "tariff_equivalent"} <= set(prod.columns)


def test_elasticities_option_overrides_and_bad_file_exits_2(cli_main, energy_parquet, tmp_path):
    good = tmp_path / "sigma.csv"
    good.write_text("k,sigma\n761300,2.5\n")
    out = tmp_path / "run"
    res = CliRunner().invoke(cli_main, ["run", "--baci", str(energy_parquet), "--products", "761300,280410",
                                        "--elasticities", str(good), "--no-figures", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    prod = pd.read_csv(out / "products.csv", dtype={"k": str}).set_index("k")
    assert prod.loc["761300", "sigma"] == 2.5 and prod.loc["761300", "sigma_source"] == "file"
    assert prod.loc["280410", "sigma_source"] == "ProTEE"
    cost_line = next(ln for ln in (out / "summary.md").read_text().splitlines() if ln.startswith("- Cost:"))
    assert "sigma.csv for its codes" in cost_line  # the settings name the user's file
    bad = tmp_path / "bad.csv"
    bad.write_text("k,sigma\n761300,-3\n")
    res = CliRunner().invoke(cli_main, ["run", "--baci", str(energy_parquet), "--products", "761300",
                                        "--elasticities", str(bad), "--no-figures", "--out", str(tmp_path / "r2")])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and str(bad) in lines[0] and "field 'sigma'" in lines[0]


def test_real_energy_min_cost_spread_is_never_dearer(energy_run, energy_parquet):
    cheap = api.run(None, energy_parquet, importer="EU27", cap_pp=5, products="all", spread="min-cost")
    a, b = energy_run.tables, cheap.tables
    # the same exposure optimum (risk flows unchanged), a cheaper or equal spread of the alternatives
    assert b.summary["risk_after_usd"] == pytest.approx(a.summary["risk_after_usd"], rel=1e-9)
    assert b.summary["shifted_usd"] == pytest.approx(a.summary["shifted_usd"], rel=1e-9)
    pa, pb = a.products.set_index("k"), b.products.set_index("k")
    assert (pb["cost_usd"] <= pa["cost_usd"] * (1 + 1e-9) + 1e-6).all()
    assert b.cost["total_usd"] < a.cost["total_usd"]


def test_real_energy_frontier_carries_the_cost(energy_run, energy_parquet):
    table, result = api.frontier(None, data=energy_parquet, importer="EU27", cap_pp=5, products="all", points=4)
    assert np.isfinite(table["cost_usd"]).all() and (table["cost_usd"] >= 0).all()
    plain = table.loc[table["group"] == "all", "cost_plain_usd"].unique()
    assert plain == pytest.approx([energy_run.tables.cost["total_usd"]], rel=1e-9)  # the run's own cost


def test_sigma_table_follows_the_runs_revision_not_the_file_name():
    # a DataFrame has no file name: its revision is detected from the codes (HS22 for the sample); the
    # cost must use that revision's sigma table, as summary.json states it, never "HS revision unknown"
    from optimize.runs.pipeline import prepare

    flows = prepare(None).trade.flows
    r = api.run(None, flows)
    assert r.meta.hs_revision == "HS22"
    src = r.tables.products["sigma_source"]
    assert not src.str.contains("revision unknown").any()
    assert r.tables.products["sigma"].notna().all()


def test_cost_line_says_what_the_number_and_its_range_are():
    from optimize.output.costlines import cost_lines

    block = {"method": "ces", "total_usd": 2e9, "low_usd": 1e9, "high_usd": 4e9, "pct_of_basket": 0.5, "coverage": 1.0}
    line = cost_lines(block)[0]
    assert "same CES quantity at unchanged supplier prices" in line
    assert "range over each product's sigma band and the new-supplier weight USD 1.00 bn - USD 4.00 bn" in line
    uv = cost_lines(block | {"method": "unit-value"})[0]
    assert "world unit values" in uv and "low/high unit values USD 1.00 bn" in uv
