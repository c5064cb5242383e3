"""Outputs meant for others (issue #23): bloc members among the beneficiaries, the export-ban headline,
the data package's sources and licences, xlsx formats. Hand-made tables; values kUSD in, USD out."""
from __future__ import annotations

import json

import numpy as np
import pytest
from test_metrics import CHN, COUNTRIES, DEU, JPN, NOR, PRODUCT_INFO, USA, make_allocation, make_instance
from test_report import META

from optimize.analysis.metrics import compute_tables
from optimize.output.plots import plot_beneficiaries
from optimize.output.report import render_summary_md, write_outputs
from optimize.output.settings import run_settings


def _tables(**kw):
    # product 000001: CHN 60 -> 30; DEU (a member of the importing bloc DEU+FRA) +10, NOR +20 (thousand USD x 1e3)
    inst, _ = make_instance([
        ("000001", CHN, 60e3, 0), ("000001", DEU, 30e3, 10e3), ("000001", NOR, 10e3, 20e3),
        ("000002", USA, 50e3, 0), ("000002", JPN, 50e3, 0),
    ])
    after = {CHN: 30e3, DEU: 40e3, NOR: 30e3, USA: 50e3, JPN: 50e3}
    x1 = np.array([after[int(e)] for e in inst.pair_exporter])
    return compute_tables(inst, make_allocation(inst, x1), PRODUCT_INFO, COUNTRIES, **kw)


@pytest.mark.parametrize("exclude", [False, True])
def test_bloc_members_marked_and_totals_split(exclude, tmp_path):
    t = _tables(exclude_members=exclude)
    meta = dict(META, scenario_resolved={"report": {"exclude_bloc_members": exclude}}, importer_iso3=["DEU", "FRA"])
    md = render_summary_md(t, meta)
    # members take 10,000 kUSD = USD 10 m of the 30 m shifted, non-members 20 m, whether listed or not
    assert "- Of which to bloc members: USD 10.00 m; to non-members: USD 20.00 m" in md
    assert f"report.exclude_bloc_members = {str(exclude).lower()}" in run_settings(meta)["bloc_members"]
    assert "Bloc members among beneficiaries:" in md
    rows = [ln for ln in md.splitlines() if ln.startswith("| 2 | Germany")]
    assert rows == [] if exclude else rows == ["| 2 | Germany | DEU | USD 10.00 m | yes | Energy | 15.0% | 20.0% |"]
    svg = plot_beneficiaries(t, tmp_path / "b")[1].read_text()
    assert ("<pattern" in svg) is (not exclude)  # members hatched (and in the legend) only when listed
    assert ("member of the importing bloc" in svg) is (not exclude)


def test_beneficiaries_csv_has_bloc_member(tmp_path):
    out = write_outputs(_tables(), META, tmp_path / "run", figures=False)
    csv = (out / "beneficiaries.csv").read_text().splitlines()
    assert csv[0].split(",")[5] == "bloc_member" and csv[2].split(",")[:2] == ["2", "DEU"]
    assert csv[2].split(",")[5] == "True"
    s = json.loads((out / "summary.json").read_text())["totals"]
    assert (s["shifted_to_members_usd"], s["shifted_to_non_members_usd"]) == pytest.approx((1e7, 2e7))
