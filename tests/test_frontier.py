"""Exposure-vs-HHI frontier: hand numbers (docs/model.md example), a QP oracle (scipy SLSQP)
on random small instances, and end points on real data against the engine and an
independent per-product bisection."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from optimize.frontier import frontier, level_fill
from test_binding import DOC, make_instance


def test_worked_example_end_points():
    f = frontier(make_instance(DOC), n_points=10)
    # minimum exposure: A keeps 70 - 35 = 35 of risk, B none. Among those allocations the
    # lowest HHI: A alternatives at cap (40, 20, 5), risk water-filled from the top:
    # China 25, USA 10 -> HHI_A = (25^2+10^2+40^2+20^2+5^2)/100^2 = 0.275;
    # B: Norway 35, UK 15 -> 0.58. Value-weighted (100*0.275 + 50*0.58) / 150 = 0.376667
    first = f.iloc[0]
    assert first["exposure_kusd"] == pytest.approx(35.0)
    assert first["hhi"] == pytest.approx((100 * 0.275 + 50 * 0.58) / 150)
    # exposure free: A at common level 32.5 (China 32.5, USA 10, Germany 32.5, Japan 20, Korea 5),
    # HHI_A = (2*32.5^2 + 10^2 + 20^2 + 5^2)/100^2 = 0.26375, exposure 42.5; B stays as today
    # (Russia 10, Norway 30, UK 10; HHI 0.44). Total exposure 52.5, HHI (26.375 + 22)/150 = 0.3225
    last = f.iloc[-1]
    assert last["exposure_level_kusd"] == pytest.approx(80.0)  # today's exposure
    assert last["hhi"] == pytest.approx(0.3225)
    free = f[f["is_free_minimum"]].iloc[0]
    assert free["exposure_kusd"] == pytest.approx(52.5) and free["hhi"] == pytest.approx(0.3225)
    # knee by its definition: farthest point of (e, hhi(e)) from the chord, axes scaled to [0, 1]
    u = (f["exposure_level_kusd"] - 35.0) / (80.0 - 35.0)
    v = (f["hhi"] - 0.3225) / (first["hhi"] - 0.3225)
    dist = np.abs(1.0 - u - v) / np.sqrt(2.0)  # chord from (0, 1) to (1, 0)
    assert f["is_knee"].sum() == 1 and f["is_knee"].to_numpy()[int(np.argmax(dist))]
    assert 35.0 < f.loc[f["is_knee"], "exposure_kusd"].iloc[0] <= 52.5  # a bend, not an end point
    # today: (0.42*100 + 0.44*50)/150; the plain proportional run raises B's HHI (0.44 -> 0.6588)
    assert first["hhi_today"] == pytest.approx((42 + 22) / 150)
    assert first["n_hhi_rises"] == 1


def _qp_oracle(inst, e):
    """min sum_k sum_e x^2/(T T_k) s.t. totals, bounds, sum w x <= e, by SLSQP."""
    p, T = inst.pair_product, inst.total_kusd
    scale = T.sum() * T[p]
    lo, hi = inst.lower(), inst.upper_kusd
    cons = [{"type": "eq", "fun": lambda x, k=k: np.sum(x[p == k]) - T[k]} for k in range(inst.n_products)]
    cons.append({"type": "ineq", "fun": lambda x: e - np.sum(inst.risk_weight * x)})
    res = minimize(lambda x: np.sum(x * x / scale), inst.x0_kusd * 0 + (lo + hi) / 2, jac=lambda x: 2 * x / scale,
                   bounds=list(zip(lo, hi)), constraints=cons, method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
    return res.fun


pair = st.tuples(st.integers(0, 50), st.integers(1, 400))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.lists(pair, min_size=1, max_size=2), st.lists(pair, min_size=1, max_size=3)),
                min_size=1, max_size=2))
def test_frontier_matches_qp_oracle(products):
    rows = []
    for n, (risks, alts) in enumerate(products):
        k = f"{n + 1:06d}"
        rows += [(k, 100 + m, float(x0), float(max(w, x0)), True) for m, (x0, w) in enumerate(risks)]
        rows += [(k, 500 + m, float(x0), float(max(w, x0)), False) for m, (x0, w) in enumerate(alts)]
    inst = make_instance(rows, cap_pp=20.0)
    if inst.total_kusd.min() <= 0:
        return
    f = frontier(inst, n_points=5)
    assert (f["exposure_kusd"] <= f["exposure_level_kusd"] + 1e-7 * inst.total_kusd.sum()).all()
    h = f["hhi"].to_numpy()
    assert (np.diff(h) <= 1e-12).all()  # more exposure allowed never raises the minimum HHI
    assert ((h > 0) & (h <= 1 + 1e-12)).all()
    for _, row in f.iterrows():
        oracle = _qp_oracle(inst, row["exposure_level_kusd"])
        assert row["hhi"] <= oracle + 1e-7  # exact solution is never worse than a numerical solver
        assert row["hhi"] == pytest.approx(oracle, abs=1e-5)


def _bisect_min_hhi(inst) -> float:
    """Independent oracle: per product, scalar bisection on the water level nu with
    x = clip(nu, lower, upper) summing to T_k (loop per product; test code only)."""
    lo, hi, p, T = inst.lower(), inst.upper_kusd, inst.pair_product, inst.total_kusd
    sq = 0.0
    for k in range(inst.n_products):
        m = p == k
        a, b = 0.0, float(T[k]) + float(hi[m].max())
        for _ in range(200):
            mid = 0.5 * (a + b)
            if np.clip(mid, lo[m], hi[m]).sum() < T[k]:
                a = mid
            else:
                b = mid
        x = np.clip(b, lo[m], hi[m])
        sq += np.sum(x * x) / T[k]
    return sq / T.sum()


def _check_end_points(inst):
    from optimize.engine import reallocate

    f = frontier(inst, n_points=6)
    alloc = reallocate([inst])[0]
    plain_exposure = float(np.sum(inst.risk_weight * alloc.x_after_kusd))
    assert f.iloc[0]["exposure_kusd"] == pytest.approx(plain_exposure, rel=1e-9)
    assert f.iloc[-1]["hhi"] == pytest.approx(_bisect_min_hhi(inst), rel=1e-7)
    assert f["is_knee"].sum() <= 1


def test_end_points_real_energy(energy_parquet):
    from optimize.countries import EU27
    from optimize.instance import build_instance

    flows = pd.read_parquet(energy_parquet)
    inst = build_instance(flows, importer="EU27", importer_codes=EU27, year=2023, products=None,
                          risk_codes=[156, 842, 643])
    _check_end_points(inst)
    sectors = pd.DataFrame({"k": inst.products, "sector": np.where(pd.Series(inst.products).str[:2] == "85", "ICT", "energy")})
    f = frontier(inst, n_points=4, sectors=sectors)
    assert set(f["group"]) == {"all", "ICT", "energy"}
    assert f.groupby("group")["n_products"].first().to_dict() == {"all": 32, "ICT": 10, "energy": 22}


def test_end_points_embedded_sample():
    from optimize.baci import read_baci
    from optimize.countries import EU27
    from optimize.errors import DataError
    from optimize.instance import build_instance

    try:
        data = read_baci()
    except DataError as exc:
        if "not found" not in str(exc):
            raise
        pytest.skip(f"embedded sample not generated yet: {exc}")
    inst = build_instance(data.flows, importer="EU27", importer_codes=EU27, year=data.years[-1], products=None,
                          risk_codes=[156, 842, 643])
    _check_end_points(inst)


def test_level_fill_hits_targets():
    # two products; product 0: bounds [0,10],[5,6], shift 0 -> target 12: nu = 6 -> (6, 6)
    # product 1: one pair [2, 2] (fixed) target 2
    x = level_fill(np.array([0, 0, 1]), np.array([0.0, 5.0, 2.0]), np.array([10.0, 6.0, 2.0]),
                   np.zeros(3), np.array([12.0, 2.0]))
    np.testing.assert_allclose(x, [6.0, 6.0, 2.0])
