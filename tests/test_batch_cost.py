"""The batch cell table's CES cost and bands (docs/batch.md "Cost and bands"): every closed-form cell
against ``optimize.run`` of that cell alone (the run's own cost and bands, an independent path through
an instance, the LP and the per-product tables), on the embedded sample and on real BACI flows."""
from __future__ import annotations

import numpy as np
import pytest

import optimize
import optimize.runs.batch as b
from optimize.config.scenario import load_scenario
from optimize.model import pairflows
from optimize.runs.pipeline import cell_scenario

RISK = ("CHN", "RUS", "USA")


def _close(got: float, want, scale: float) -> bool:
    """Equal to 1e-9 relative (NaN = None = no value); ``scale`` bounds the rounding noise of a zero cost."""
    want = np.nan if want is None else float(want)
    if np.isnan(want) or np.isnan(got):
        return bool(np.isnan(want) and np.isnan(got))
    return abs(got - want) <= 1e-9 * abs(want) + 1e-13 * scale


def _check_cells(cells, scen, data, basis, risk):
    checked = 0
    for r in cells.loc[cells["status"] == "optimal"].itertuples():
        res = optimize.run(scen, data, importer=r.importer, cap_pp=r.cap_pp, cap_basis=basis, risk=list(risk))
        c = res.tables.cost
        assert _close(r.cost_usd, c["total_usd"], r.basket_usd), (r.importer, r.cap_pp, r.cost_usd, c)
        assert _close(r.cost_pct, c["pct_of_basket"], 100.0), (r.importer, r.cap_pp)
        assert _close(r.cost_coverage, c["coverage"], 1.0), (r.importer, r.cap_pp)
        checked += 1
    return checked


@pytest.mark.parametrize("basis", ["world-exports", "importer-market", "rest-of-world"])
def test_batch_cell_cost_equals_the_run_of_that_cell(basis, tmp_path, monkeypatch):
    """Blocs and single countries, an importer that is a risk country, caps 0 (no cost), 2.5 and 100;
    importer-market lists its idle alternatives in many small chunks of rows here (PAIR_CHUNK)."""
    monkeypatch.setattr(pairflows, "PAIR_CHUNK", 64)
    scen = load_scenario("default")
    grid = b.Grid(importers=("EU27", "DEU", "CHN", "JPN"), years=(2023,), caps_pp=(0.0, 2.5, 100.0),
                  cap_bases=(basis,), risk_sets=(RISK,))
    res = b.run_batch(scen, grid, tmp_path / "o", b.BatchOptions(workers=1, quiet=True))
    assert res.cells["cost_usd"].gt(0).sum() >= 6  # the check is not vacuous
    assert _check_cells(res.cells, scen, None, basis, RISK) == len(res.cells)


@pytest.mark.parametrize("basis", ["world-exports", "importer-market"])
def test_batch_cell_cost_on_real_flows(basis, energy_parquet, tmp_path):
    scen = cell_scenario(load_scenario("default"), products="all")
    grid = b.Grid(importers=("EU27", "USA", "IND"), years=(2023,), caps_pp=(1.0, 5.0), cap_bases=(basis,),
                  risk_sets=(("CHN",),))
    res = b.run_batch(scen, grid, tmp_path / "o", b.BatchOptions(workers=1, quiet=True), data=energy_parquet)
    assert res.cells["cost_usd"].gt(0).all() and res.cells["cost_coverage"].gt(0).all()
    assert _check_cells(res.cells, scen, energy_parquet, basis, ("CHN",)) == len(res.cells)


def test_batch_bands_equal_the_run_with_bands_of_that_cell(tmp_path):
    """With ``--bands`` each cell's low/high of the exposure after (per risk country and all risk) and of the
    cost span its cap and the band caps (2.5 lies inside the band caps, 7 outside), as a run with bands."""
    scen = cell_scenario(load_scenario("default"), bands=True)
    grid = b.Grid(importers=("EU27", "JPN"), years=(2023,), caps_pp=(2.5, 7.0), risk_sets=(RISK,))
    res = b.run_batch(scen, grid, tmp_path / "o", b.BatchOptions(workers=1, quiet=True))
    table = res.table.set_index(["importer", "cap_pp", "risk"])
    for r in res.cells.itertuples():
        run = optimize.run(scen, importer=r.importer, cap_pp=r.cap_pp, risk=list(RISK)).tables.bands
        band = run.set_index(["measure", "risk"])
        cost = band.loc[("cost_usd", "")]
        assert _close(r.cost_low_usd, cost["low"], r.basket_usd) and _close(r.cost_high_usd, cost["high"], r.basket_usd)
        assert cost["low"] < r.cost_usd < cost["high"]
        for risk in (*RISK, "ALL"):
            want = band.loc[("exposure_after", risk)]
            got = table.loc[(r.importer, r.cap_pp, risk)]
            assert _close(got["share_after_low"], want["low"], 1.0), (r.importer, r.cap_pp, risk)
            assert _close(got["share_after_high"], want["high"], 1.0), (r.importer, r.cap_pp, risk)
        assert r.share_after_low == table.loc[(r.importer, r.cap_pp, "ALL"), "share_after_low"]


def test_fast_and_pipeline_cells_give_the_same_cost_and_band_columns(tmp_path):
    scen = cell_scenario(load_scenario("default"), bands=True)
    grid = b.Grid(importers=("DEU", "CHN"), years=(2023,), caps_pp=(5.0,), risk_sets=(RISK,))
    fast = b.run_batch(scen, grid, tmp_path / "f", b.BatchOptions(workers=1, quiet=True))
    slow = b.run_batch(scen, grid, tmp_path / "s", b.BatchOptions(workers=1, quiet=True, fast=False))
    cols = ["cost_usd", "cost_pct", "cost_coverage", "cost_low_usd", "cost_high_usd", "share_after_low",
            "share_after_high"]
    np.testing.assert_allclose(fast.cells[cols].to_numpy(float), slow.cells[cols].to_numpy(float), rtol=1e-9)
    np.testing.assert_allclose(fast.table[["share_after_low", "share_after_high"]].to_numpy(float),
                               slow.table[["share_after_low", "share_after_high"]].to_numpy(float), rtol=1e-9)


def test_batch_cli_takes_bands_and_elasticities_as_docs_batch_md_says(tmp_path):
    """`tradeopt batch --bands --elasticities FILE` (docs/batch.md): the band columns in the cell table, and the
    user's sigma used (a sigma file of one value for every product gives another cost than the shipped table)."""
    import pandas as pd
    from click.testing import CliRunner

    import cli

    sigma = tmp_path / "sigma.csv"
    codes = optimize.run().tables.products["k"]
    sigma.write_text("k,sigma\n" + "".join(f"{k},2.5\n" for k in codes))
    cells = {}
    for name, extra in (("shipped", []), ("user", ["--elasticities", str(sigma)])):
        res = CliRunner().invoke(cli.main, ["batch", "--importers", "DEU", "--caps", "5", "--bands", "-q",
                                            "--out", str(tmp_path / name), *extra])
        assert res.exit_code == 0, res.output
        cells[name] = pd.read_parquet(tmp_path / name / "dataset" / "cells").iloc[0]
    for row in cells.values():
        assert row["cost_low_usd"] <= row["cost_usd"] <= row["cost_high_usd"]
        assert row["share_after_low"] <= row["share_after"] <= row["share_after_high"]
    assert cells["user"]["cost_usd"] != pytest.approx(cells["shipped"]["cost_usd"], rel=1e-6)
