"""Cost of shifting: hand-computed unit-value costs, winsorising, coverage, and the
cost-aware LPs (cheapest exposure-optimal, exposure under a budget)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_binding import make_instance

from optimize.analysis.cost import shift_cost, winsorise
from optimize.model.engine import Allocation
from optimize.solve.status import SolverInfo, Status

CHN, RUS, DEU, JPN, NOR, GBR = 156, 643, 276, 392, 579, 826


def _with_tonnes(inst, tonnes_by_exporter_product):
    t = np.array([tonnes_by_exporter_product.get((str(inst.products[pp]), int(e)), np.nan)
                  for pp, e in zip(inst.pair_product, inst.pair_exporter, strict=True)])  # test set-up only (8 pairs)
    return replace(inst, world_tonnes=t)


def _alloc(inst, after_by_exporter):
    x = np.array([after_by_exporter[(str(inst.products[pp]), int(e))]
                  for pp, e in zip(inst.pair_product, inst.pair_exporter, strict=True)], dtype=float)
    return Allocation(inst, x, Status.OPTIMAL, SolverInfo("highs", "hand"))


ROWS = [
    ("00000A", CHN, 60, 600, True), ("00000A", DEU, 20, 400, False), ("00000A", JPN, 10, 200, False),
    ("00000B", RUS, 10, 100, True), ("00000B", NOR, 30, 1000, False), ("00000B", GBR, 10, 100, False),
]
TONNES = {("00000A", CHN): 60, ("00000A", DEU): 20, ("00000A", JPN): 40,  # uv 10, 20, 5 kUSD/t
          ("00000B", RUS): 10, ("00000B", GBR): 20}  # uv 10, 5; Norway has no quantity
AFTER = {("00000A", CHN): 30, ("00000A", DEU): 40, ("00000A", JPN): 20,
         ("00000B", RUS): 0, ("00000B", NOR): 38, ("00000B", GBR): 12}


def test_hand_cost_and_range():
    inst = _with_tonnes(make_instance(ROWS), TONNES)
    per, summary = shift_cost(inst, _alloc(inst, AFTER))
    a = per.set_index("k").loc["00000A"]
    # A: China cut 30 kUSD at 10 kUSD/t = 3 t; alternatives' value-weighted unit value
    # raw (20*20 + 10*5)/30 = 15, ratio 1.5 -> extra 30*(1.5 - 1)/1.5 = 10 kUSD = 10,000 USD (value caps: the
    # 30 kUSD spent with the alternatives buy 2 t, the premium on them over China's price is 30 - 2*10)
    assert a["extra_cost_usd_raw"] == pytest.approx(10_000)
    assert a["tonnes_shifted"] == pytest.approx(3.0)
    # 5-95 winsorising over (5, 10, 20): p5 = 5.5, p95 = 19 -> (20*19 + 10*5.5)/30 = 14.5 -> 30*(1 - 10/14.5) kUSD
    assert a["extra_cost_usd"] == pytest.approx(30_000 * 4.5 / 14.5)
    # 25-75: p25 = 7.5, p75 = 15 -> (20*15 + 10*7.5)/30 = 12.5 -> 30*(1 - 10/12.5) = 6 kUSD
    assert a["extra_cost_usd_w25_75"] == pytest.approx(6_000)
    # B: Russia 10 kUSD at 10 kUSD/t; only the UK (uv 5) usable, cheaper: the lost 1 t costs 5 kUSD,
    # raw 10*(5/10 - 1) = -5 kUSD;
    # 5-95 over (5, 10): 5.25 and 9.75 -> 10*(5.25/9.75 - 1)
    b = per.set_index("k").loc["00000B"]
    assert b["extra_cost_usd_raw"] == pytest.approx(-5_000)
    assert b["extra_cost_usd"] == pytest.approx(10_000 * (5.25 / 9.75 - 1))
    # coverage of B: usable Russia 10 + UK 2 of (10 cut + 10 added) = 0.6; basket (30*1 + 10*0.6)/40 = 0.9
    assert b["coverage"] == pytest.approx(0.6)
    assert summary["coverage"] == pytest.approx(0.9)
    assert summary["shifted_usd"] == pytest.approx(40_000)
    # B at 25-75 over (5, 10): 6.25 and 8.75 -> 10*(6.25/8.75 - 1) kUSD
    assert b["extra_cost_usd_w25_75"] == pytest.approx(10_000 * (6.25 / 8.75 - 1))
    totals = [10_000 - 5_000, 30_000 * 4.5 / 14.5 + 10_000 * (5.25 / 9.75 - 1), 6_000 + 10_000 * (6.25 / 8.75 - 1)]
    assert summary["extra_cost_usd"]["central"] == pytest.approx(totals[1])
    assert summary["extra_cost_usd"]["low"] == pytest.approx(min(totals))
    assert summary["extra_cost_usd"]["high"] == pytest.approx(max(totals))


def test_coverage_zero_without_quantities():
    inst = make_instance(ROWS)  # no tonnes at all
    per, summary = shift_cost(inst, _alloc(inst, AFTER))
    assert summary["coverage"] == 0.0
    assert summary["n_products_without_estimate"] == 2
    assert per["extra_cost_usd"].isna().all()


def test_no_shift_no_cost():
    inst = _with_tonnes(make_instance(ROWS), TONNES)
    per, summary = shift_cost(inst, Allocation(inst, inst.x0_kusd.copy(), Status.OPTIMAL, SolverInfo("highs", "hand")))
    assert summary["shifted_usd"] == 0 and (per["extra_cost_usd"] == 0).all()


def test_winsorise_clips_to_quantiles():
    # one product, values 1..101: p5 = 6, p95 = 96
    uv = np.arange(1.0, 102.0)
    out = winsorise(np.zeros(101, dtype=np.int64), uv, 0.05, 0.95)
    assert out.min() == pytest.approx(6.0) and out.max() == pytest.approx(96.0)
    assert np.isnan(winsorise(np.zeros(2, dtype=np.int64), np.array([np.nan, 3.0]), 0.05, 0.95)[0])


def test_real_energy_cost_invariants(energy_parquet):
    import pandas as pd

    from optimize.data.countries import EU27
    from optimize.model.engine import reallocate
    from optimize.model.instance import build_instance

    flows = pd.read_parquet(energy_parquet)
    inst = build_instance(flows, importer="EU27", importer_codes=EU27, year=2023, products=None,
                          risk_codes=[156, 842, 643])
    alloc = reallocate([inst])[0]
    per, summary = shift_cost(inst, alloc)
    assert 0.0 <= summary["coverage"] <= 1.0
    lo, mid, hi = (summary["extra_cost_usd"][k] for k in ("low", "central", "high"))
    assert lo <= mid <= hi
    # shifted value equals the engine's cut of risk imports (kUSD -> USD)
    cut_kusd = float(np.sum(np.where(inst.is_risk, inst.x0_kusd - alloc.x_after_kusd, 0.0)))
    assert summary["shifted_usd"] == pytest.approx(cut_kusd * 1000.0)
    assert per["k"].is_unique and per["coverage"].dropna().between(0, 1 + 1e-12).all()
    # never above the value shifted (the 2023 subset had 14 products above it with bilateral unit values)
    for col in ("extra_cost_usd_raw", "extra_cost_usd_w05_95", "extra_cost_usd_w25_75"):
        v = per[col].to_numpy()
        ok = np.isfinite(v)
        assert (np.abs(v[ok]) <= per["shifted_usd"].to_numpy()[ok] * (1 + 1e-12)).all(), col


def test_outlier_ratio_is_excluded_from_the_central_figure_and_counted():
    # product C: China 10 kUSD at 1 kUSD/t; the only alternative (USA) at 20 kUSD/t: ratio 20 > 3 -> outlier
    rows = ROWS + [("00000C", 842, 5, 100, False), ("00000C", CHN, 10, 50, True)]
    tonnes = {**TONNES, ("00000C", CHN): 50, ("00000C", 842): 5}
    inst = _with_tonnes(make_instance(rows), tonnes)
    after = {**AFTER, ("00000C", CHN): 5, ("00000C", 842): 10}
    per, summary = shift_cost(inst, _alloc(inst, after))
    c = per.set_index("k").loc["00000C"]
    # central treatment (5-95 winsorised over 1 and 20): 19.05 / 1.95
    assert c["price_ratio"] == pytest.approx(19.05 / 1.95) and bool(c["outlier"]) and c["estimate"] == "outlier"
    assert c["extra_cost_usd_raw"] == pytest.approx(5_000 * 19 / 20)  # 5 kUSD x (20 - 1)/20: at most the value shifted
    assert summary["n_outliers"] == 1 and summary["outlier_shifted_usd"] == pytest.approx(5_000)
    # the central figure is the same as without product C (hand numbers of test_hand_cost_and_range)
    assert summary["extra_cost_usd"]["central"] == pytest.approx(30_000 * 4.5 / 14.5 + 10_000 * (5.25 / 9.75 - 1))
    assert summary["extra_cost_usd"]["high"] == pytest.approx(10_000 - 5_000)


def test_no_quantities_gives_no_estimate_never_zero():
    inst = make_instance(ROWS)  # a file without quantities
    per, summary = shift_cost(inst, _alloc(inst, AFTER))
    assert summary["extra_cost_usd"] == {"low": None, "central": None, "high": None}
    assert set(per["estimate"]) == {"no quantities"}


def test_cli_prints_no_estimate_without_quantities(cli_main, tmp_path):
    import pandas as pd
    from click.testing import CliRunner

    from optimize.data.baci import read_baci

    flows = read_baci(None).flows.assign(q=np.nan)  # the sample without quantities
    path = tmp_path / "BACI_HS22_Y2023_V202501.parquet"
    pd.DataFrame(flows).to_parquet(path, index=False)
    res = CliRunner().invoke(cli_main, ["analyse", "cost", "--baci", str(path), "--set", "basket.sectors=[\"energy\"]"])
    assert res.exit_code == 0, res.output
    assert "no estimate" in res.output and "central 0" not in res.output


def test_unit_value_method_in_a_run(energy_parquet):
    from optimize import api

    scen = api.load_scenario(None, importer="EU27", cap_pp=5, products="all").update({"cost.method": "unit-value"})
    uv = api.run(scen, energy_parquet)
    block = uv.tables.cost
    assert block["method"] == "unit-value"
    p = uv.tables.products
    has = np.isfinite(p["cost_usd"].to_numpy())
    assert block["total_usd"] == pytest.approx(p["cost_usd"][has].sum())
    assert (np.abs(p["cost_usd"][has]) <= p["shifted_usd"][has] * (1 + 1e-12)).all()
    assert (p["cost_low_usd"][has] <= p["cost_usd"][has] + 1e-6).all()
    assert (p["cost_usd"][has] <= p["cost_high_usd"][has] + 1e-6).all()
    assert (p.loc[~has, "cost_note"].str.startswith("unit-value: ")).all()
