"""Exposure-vs-HHI frontier: hand numbers (docs/model.md example), a QP oracle (HiGHS QP)
on random small instances, and end points on real data against the engine and an
independent per-product bisection."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_binding import DOC, make_instance

from optimize.analysis.frontier import frontier
from optimize.model.tiebreak import water_fill


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
    """min sum_k (T_k/T) sum_e y_e^2 over shares y = x / T_k s.t. sum_e y_e = 1, bounds,
    sum w T_k y <= e, by HiGHS's QP solver (a different algorithm; tiny instances only)."""
    import highspy

    p, T = inst.pair_product, inst.total_kusd
    n = inst.n_pairs
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", 20.0)
    h.addVars(n, np.asarray(inst.lower(), dtype=float) / T[p], np.asarray(inst.upper_kusd, dtype=float) / T[p])
    for k in range(inst.n_products):
        idx = np.flatnonzero(p == k).astype(np.int32)
        h.addRow(1.0, 1.0, idx.size, idx, np.ones(idx.size))
    e_today = float(np.sum(inst.risk_weight * inst.x0_kusd))
    if e < e_today:  # the row cannot bind at today's exposure
        h.addRow(-highspy.kHighsInf, float(e) / T.sum(), n, np.arange(n, dtype=np.int32),
                 np.asarray(inst.risk_weight, dtype=float) * T[p] / T.sum())
    hess = highspy.HighsHessian()
    hess.dim_ = n
    hess.format_ = highspy.HessianFormat.kTriangular
    hess.start_ = np.arange(n + 1, dtype=np.int32)
    hess.index_ = np.arange(n, dtype=np.int32)
    hess.value_ = 2.0 * T[p] / T.sum()  # objective 0.5 y'Hy = sum (T_k/T) y^2
    h.passHessian(hess)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal, h.modelStatusToString(h.getModelStatus())
    return float(h.getInfo().objective_function_value)


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
        assert row["hhi"] == pytest.approx(oracle, abs=1e-7)


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
    from optimize.model.engine import reallocate

    f = frontier(inst, n_points=6)
    alloc = reallocate([inst])[0]
    plain_exposure = float(np.sum(inst.risk_weight * alloc.x_after_kusd))
    assert f.iloc[0]["exposure_kusd"] == pytest.approx(plain_exposure, rel=1e-9)
    assert f.iloc[-1]["hhi"] == pytest.approx(_bisect_min_hhi(inst), rel=1e-7)
    assert f["is_knee"].sum() <= 1


def test_end_points_real_energy(energy_parquet):
    from optimize.data.countries import EU27
    from optimize.model.instance import build_instance

    flows = pd.read_parquet(energy_parquet)
    inst = build_instance(flows, importer="EU27", importer_codes=EU27, year=2023, products=None,
                          risk_codes=[156, 842, 643])
    _check_end_points(inst)
    sectors = pd.DataFrame({"k": inst.products,
                            "sector": np.where(pd.Series(inst.products).str[:2] == "85", "ICT", "energy")})
    f = frontier(inst, n_points=4, sectors=sectors)
    assert set(f["group"]) == {"all", "ICT", "energy"}
    assert f.groupby("group")["n_products"].first().to_dict() == {"all": 32, "ICT": 10, "energy": 22}


def test_end_points_embedded_sample():
    from optimize.data.baci import read_baci
    from optimize.data.countries import EU27
    from optimize.errors import DataError
    from optimize.model.instance import build_instance

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
    x = water_fill(np.array([0, 0, 1]), np.array([0.0, 5.0, 2.0]), np.array([10.0, 6.0, 2.0]),
                   np.array([12.0, 2.0]), shift=np.zeros(3))
    np.testing.assert_allclose(x, [6.0, 6.0, 2.0])


def _min_max_share(inst) -> float:
    """Independent oracle for the separable proxy: per product the smallest level M with
    sum clip(M, lower, upper) >= T_k (scalar bisection), value-weighted M / T_k."""
    lo, hi, p, T = inst.lower(), inst.upper_kusd, inst.pair_product, inst.total_kusd
    acc = 0.0
    for k in range(inst.n_products):
        m = p == k
        a, b = float(lo[m].max()), float(T[k])
        for _ in range(200):
            mid = 0.5 * (a + b)
            if np.minimum(np.maximum(mid, lo[m]), hi[m]).sum() < T[k]:
                a = mid
            else:
                b = mid
        acc += b  # (T_k / T) * (M_k / T_k) = M_k / T
    return acc / T.sum()


def test_coupled_proxy_worked_example():
    from optimize.analysis.frontier import frontier_coupled

    f = frontier_coupled([make_instance(DOC)], n_points=4)
    # free end: A's lowest possible largest supplier: level M with clip(M) summing to 100 -> 32.5;
    # B: level 30 (Norway cannot fall below 30; Russia 10, UK 10) -> (32.5 + 30) / 150
    assert f.iloc[-1]["max_share"] == pytest.approx((32.5 + 30) / 150)
    # minimum exposure 35 (as the plain run); then A's largest is Germany at 40 and B's is
    # Norway at 35 (UK at its 15 cap): (40 + 35) / 150 = 0.5
    assert f.iloc[0]["exposure_kusd"] == pytest.approx(35.0)
    assert f.iloc[0]["max_share"] == pytest.approx(0.5)
    assert (np.diff(f["max_share"]) <= 1e-9).all()


def test_coupled_proxy_real_energy(energy_parquet):
    from optimize.analysis.frontier import frontier_coupled
    from optimize.data.countries import EU27
    from optimize.model.engine import EngineOptions, reallocate
    from optimize.model.instance import build_instance

    flows = pd.read_parquet(energy_parquet)
    inst = build_instance(flows, importer="EU27", importer_codes=EU27, year=2023, products=None,
                          risk_codes=[156, 842, 643])
    free = frontier_coupled([inst], n_points=2)
    assert free.iloc[-1]["max_share"] == pytest.approx(_min_max_share(inst), rel=1e-7)
    # an exporter-total cap of 0.5 pp couples the products; the frontier starts at the engine's optimum
    f = frontier_coupled([inst], n_points=3, exporter_total_pp=0.5)
    alloc = reallocate([inst], EngineOptions(exporter_total_pp=0.5))[0]
    assert f.iloc[0]["exposure_kusd"] == pytest.approx(float(np.sum(inst.risk_weight * alloc.x_after_kusd)), rel=1e-7)
    assert (f["exposure_kusd"] <= f["exposure_level_kusd"] * (1 + 1e-8)).all()
    assert (np.diff(f["max_share"]) <= 1e-9).all()
