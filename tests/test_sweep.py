"""Cap sweep: exposure non-increasing in the cap; each cap equals a fresh single run (embedded SYNTHETIC sample)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optimize.runs.sweep as sw
from optimize.runs import pipeline


@pytest.fixture(scope="module")
def prepared():
    return pipeline.prepare("default")


def _cell(prepared, **cell):
    """``prepared`` with its scenario's cell changed (importer, risk, ...): what a sweep of it sweeps."""
    return replace(prepared, scenario=pipeline.cell_scenario(prepared.scenario, **cell))


@settings(max_examples=4, deadline=None)
@given(caps=st.lists(st.floats(0, 30, allow_nan=False).map(lambda c: round(c, 2)), min_size=2, max_size=4, unique=True),
       importer=st.sampled_from(["EU27", "DEU", "NLD"]))
def test_sweep_equals_fresh_runs_and_is_monotone(prepared, caps, importer):
    res = sw.sweep(None, caps, prepared=_cell(prepared, importer=importer), plot=False)
    assert res.warm
    t = res.table
    for cap in sorted(set(caps)):
        fresh = pipeline.solve_cell(prepared, importer=importer, cap_pp=cap).tables
        got = t[t.cap_pp == cap].set_index("risk")
        exp = fresh.exposure.set_index("iso3")
        np.testing.assert_allclose(got.loc[exp.index, "share_after"], exp["share_after"], rtol=0, atol=1e-9)
        assert got.loc["ALL", "shifted_usd"] == pytest.approx(fresh.summary["shifted_usd"], rel=1e-9, abs=1.0)
    for _, g in t.groupby("risk"):
        if g.risk.iloc[0] == "ALL":
            assert (np.diff(g.sort_values("cap_pp")["share_after"].to_numpy()) <= 1e-12).all()


def test_marginal_reduction_by_hand(prepared, tmp_path):
    res = sw.sweep(None, [0, 2, 5], prepared=_cell(prepared, importer="EU27"), out_dir=tmp_path, plot=True)
    a = res.table[res.table.risk == "ALL"].set_index("cap_pp")
    hand = (a.loc[2.0, "share_after"] - a.loc[5.0, "share_after"]) * 100 / 3
    assert a.loc[5.0, "reduction_pp_per_pp"] == pytest.approx(hand)
    assert np.isnan(a.loc[0.0, "reduction_pp_per_pp"])
    assert (tmp_path / "sweep.csv").is_file() and (tmp_path / "sweep.png").is_file()


def test_sweep_folder_states_its_settings(tmp_path):
    """The sweep folder held only sweep.csv, the figure and manifest.json: it now has summary.json (the run's
    settings and the caps swept) and datapackage.json describing every column, as screens and analyses do."""
    import json

    import optimize

    optimize.sweep_caps(caps_pp="0,3", importer="FRA", risk="CHN", products="850440,854143", cap_basis="importer-market",
                        plot=False, out_dir=tmp_path / "s")
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    st = summary["settings"]
    assert st["importer"] == "FRA" and st["risk"] == "CHN" and st["caps_pp"] == [0.0, 3.0]
    assert st["cap"] == "swept, pp of importer-market" and st["intra_bloc"].startswith("include")
    assert st["year"] == "2023" and st["hs_revision"] == "HS22 (the embedded sample)" and "SYNTHETIC" in st["data_source"]
    assert summary["synthetic"] is True
    package = json.loads((tmp_path / "s" / "datapackage.json").read_text())
    assert {r["path"] for r in package["resources"]} == {"sweep.csv", "sweep.parquet"}
    for res in package["resources"]:
        blank = [f["name"] for f in res["schema"]["fields"] if not f["description"]]
        assert not blank, f"{res['path']}: undocumented columns {blank}"
    listed = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert "summary.json" in json.dumps(listed) and "datapackage.json" in json.dumps(listed)


def test_cold_fallback_matches_warm(prepared):
    warm = sw.sweep(None, [1, 3], prepared=_cell(prepared, importer="FRA"), plot=False)
    cold = sw.sweep(None, [1, 3], prepared=_cell(prepared, importer="FRA"), plot=False, warm=False)
    assert warm.warm and not cold.warm
    np.testing.assert_allclose(warm.table["share_after"], cold.table["share_after"], atol=1e-9)


def test_cold_sweep_reports_the_run_tables_numbers_bit_for_bit(prepared):
    """The sweep reads exposure from the metrics step alone; the numbers are those of the full run's tables."""
    caps = [0.5, 4.0]
    t = sw.sweep(None, caps, prepared=_cell(prepared, importer="DEU", risk=["CHN", "RUS"]), plot=False,
                 warm=False).table
    for cap in caps:
        tables = pipeline.solve_cell(prepared, importer="DEU", risk=["CHN", "RUS"], cap_pp=cap).tables
        order = tables.exposure["iso3"].astype(str).tolist()
        got = t[t.cap_pp == cap].set_index("risk")
        assert sorted(got.index) == sorted(order)
        got = got.loc[order]
        for col in ("share_before", "share_after", "before_usd", "after_usd"):
            assert got[col].tolist() == tables.exposure[col].astype(float).tolist(), col
        assert set(got["shifted_usd"]) == {tables.summary["shifted_usd"]}
        assert set(got["hhi_after"]) == {tables.summary["hhi_after"]}


def test_sweep_builds_no_result_tables(prepared, monkeypatch):
    """Work done once: a sweep computes neither the run's tables nor its CES cost (it reports exposure only)."""
    import optimize.analysis.armington as armington
    import optimize.analysis.metrics as metrics

    def refuse(*args, **kwargs):
        raise AssertionError("the sweep computed a table it does not report")

    monkeypatch.setattr(metrics, "compute_tables", refuse)
    monkeypatch.setattr(armington, "attach", refuse)
    assert len(sw.sweep(None, [1, 2], prepared=prepared, plot=False).table) > 0
