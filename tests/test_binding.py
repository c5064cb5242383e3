"""Binding caps against hand numbers (docs/model.md worked example) and finite differences
(re-solve the LP with +1 pp of cap for one exporter using scipy's linprog as the oracle)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from optimize.analysis.binding import binding_caps, top_binding_exporters
from optimize.model.instance import Instance

CHN, USA, RUS, DEU, JPN, KOR, NOR, GBR = 156, 842, 643, 276, 392, 410, 579, 826


def make_instance(rows, *, cap_pp=5.0, weights=None):
    """rows: (hs6, exporter, x0, world_exports, is_risk); caps on the world-exports basis,
    limited by exports outside the importer (world - x0)."""
    df = pd.DataFrame(rows, columns=["k", "e", "x0", "world", "risk"]).sort_values(["k", "e"]).reset_index(drop=True)
    prods = np.array(sorted(df["k"].unique()))
    pp = np.searchsorted(prods, df["k"]).astype(np.int32)
    x0 = df["x0"].to_numpy(float)
    world = df["world"].to_numpy(float)
    risk = df["risk"].to_numpy(bool)
    row = np.maximum(world - x0, 0.0)
    cap = np.where(risk, 0.0, np.minimum(cap_pp / 100 * world, row))
    w = np.where(risk, df["e"].map(weights or {}).fillna(1.0).to_numpy(float), 0.0)
    return Instance(
        importer="J", importer_codes=(1,), year=2023, risk_codes=tuple(sorted(set(df.loc[risk, "e"]))),
        products=prods, total_kusd=np.bincount(pp, weights=x0, minlength=len(prods)), pair_product=pp,
        pair_exporter=df["e"].to_numpy(np.int32), x0_kusd=x0, cap_kusd=cap,
        upper_kusd=np.where(risk, x0, x0 + cap), is_risk=risk, risk_weight=w, world_exports_kusd=world,
        row_exports_kusd=row, x0_tonnes=np.full(len(df), np.nan), world_tonnes=np.full(len(df), np.nan),
        meta={"cap_basis": "world-exports", "cap_pp": cap_pp},
    )


def lp_exposure(inst: Instance, upper=None) -> float:
    """Minimum weighted risk imports by scipy's LP (independent of tradeopt's engine)."""
    up = inst.upper_kusd if upper is None else upper
    n = inst.n_pairs
    a_eq = np.zeros((inst.n_products, n))
    a_eq[inst.pair_product, np.arange(n)] = 1.0
    lo = np.where(inst.is_risk, 0.0, inst.x0_kusd)
    res = linprog(inst.risk_weight, A_eq=a_eq, b_eq=inst.total_kusd, bounds=list(zip(lo, up, strict=False)), method="highs")
    assert res.status == 0
    return float(res.fun)


DOC = [
    ("00000A", CHN, 60, 600, True), ("00000A", USA, 10, 100, True), ("00000A", DEU, 20, 400, False),
    ("00000A", JPN, 10, 200, False), ("00000A", KOR, 0, 100, False),
    ("00000B", RUS, 10, 100, True), ("00000B", NOR, 30, 1000, False), ("00000B", GBR, 10, 100, False),
]


def test_worked_example_binding():
    t = binding_caps(make_instance(DOC)).set_index(["k", "exporter"])
    # product A: R = 70 > C = 20 + 10 + 5 = 35, so every cap binds; 1 pp of world exports:
    # Germany 400 -> 4, Japan 200 -> 2, Korea 100 -> 1 kUSD, all below the 35 kUSD left
    assert t.loc[("00000A", DEU), "binds"] and t.loc[("00000A", KOR), "binds"]
    assert t.loc[("00000A", DEU), "removed_per_pp_kusd"] == pytest.approx(4.0)
    assert t.loc[("00000A", JPN), "removed_per_pp_exact_kusd"] == pytest.approx(2.0)
    assert t.loc[("00000A", KOR), "removed_per_pp_exact_kusd"] == pytest.approx(1.0)
    # product B: Russia's 10 fits in 55 of caps -> no cap binds, nothing more to remove
    assert not t.loc["00000B", "binds"].any()
    assert (t.loc["00000B", "removed_per_pp_kusd"] == 0).all()
    top = top_binding_exporters(t.reset_index(), pd.DataFrame({"k": ["00000A", "00000B"], "sector": ["x", "y"]}))
    assert top["exporter"].tolist() == [DEU, JPN, KOR] and top["rank"].tolist() == [1, 2, 3]


def test_weighted_marginal_uses_highest_remaining_weight():
    # risk CHN weight 2 (x0 30), USA weight 1 (x0 30); one alternative cap 5% x 200 = 10.
    # LP cuts CHN first: CHN 20, USA 30 left; +1 pp (2 kUSD) removes 2 kUSD of CHN = 4 weighted
    inst = make_instance([("000001", CHN, 30, 300, True), ("000001", USA, 30, 300, True),
                          ("000001", DEU, 0, 200, False)], weights={CHN: 2.0, USA: 1.0})
    x_after = np.array([20.0, 10.0, 30.0])  # pairs sorted by exporter: CHN 156, DEU 276, USA 842
    from optimize.model.engine import Allocation
    from optimize.solve.status import SolverInfo, Status

    t = binding_caps(inst, Allocation(inst, x_after, Status.OPTIMAL, SolverInfo("highs", "hand"))).iloc[0]
    assert t["marginal"] == pytest.approx(2.0) and t["removed_per_pp_exact_kusd"] == pytest.approx(4.0)
    up = inst.upper_kusd.copy()
    up[1] += 2.0
    assert lp_exposure(inst) - lp_exposure(inst, up) == pytest.approx(4.0)


pair = st.tuples(st.floats(0, 100), st.floats(1, 2000))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.lists(pair, min_size=1, max_size=2), st.lists(pair, min_size=1, max_size=4)),
             min_size=1, max_size=3),
    st.floats(1, 20),
    st.data(),
)
def test_finite_difference_one_more_pp(products, cap_pp, data):
    rows = []
    for n, (risks, alts) in enumerate(products):
        k = f"{n + 1:06d}"
        rows += [(k, 100 + m, x0, max(world, x0), True) for m, (x0, world) in enumerate(risks)]
        rows += [(k, 500 + m, x0, max(world, x0), False) for m, (x0, world) in enumerate(alts)]
    inst = make_instance(rows, cap_pp=cap_pp)
    if inst.total_kusd.min() <= 0:
        return
    table = binding_caps(inst)
    assert (table["removed_per_pp_exact_kusd"] <= table["removed_per_pp_kusd"] + 1e-9).all()
    if table.empty:
        return
    i = data.draw(st.integers(0, len(table) - 1))
    row = table.iloc[i]
    # re-solve with +1 pp for this exporter of this product (cap still limited by its other exports)
    mask = (inst.products[inst.pair_product] == row["k"]) & (inst.pair_exporter == row["exporter"])
    world = inst.world_exports_kusd[mask][0]
    new_cap = min((cap_pp + 1) / 100 * world, inst.row_exports_kusd[mask][0])
    up = inst.upper_kusd.copy()
    up[mask] = inst.x0_kusd[mask] + new_cap
    removed = lp_exposure(inst) - lp_exposure(inst, up)
    assert removed == pytest.approx(row["removed_per_pp_exact_kusd"], rel=1e-6, abs=1e-6)
    # the linear estimate (marginal x 1 % of the basis) is exact when the step fits
    if row["binds"] and removed < row["one_pp_kusd"] - 1e-6:
        assert row["removed_per_pp_kusd"] >= removed - 1e-9
    elif row["binds"]:
        assert row["removed_per_pp_kusd"] == pytest.approx(removed, rel=1e-6, abs=1e-6)
    else:
        assert removed == pytest.approx(0.0, abs=1e-6)


def test_engine_marginals_and_exporter_pp_resolve(energy_parquet):
    """Real energy subset, EU27: the engine's duals match the recomputed marginals, and
    re-running build_instance + reallocate with +1 pp for the top binding exporter removes
    exactly the sum of its per-product exact estimates."""
    from optimize.data.countries import EU27
    from optimize.model.engine import reallocate
    from optimize.model.instance import CapRule, build_instance

    flows = pd.read_parquet(energy_parquet)

    def run(cap):
        inst = build_instance(flows, importer="EU27", importer_codes=EU27, year=2023, products=None,
                              risk_codes=[CHN, USA, RUS], cap=cap)
        alloc = reallocate([inst])[0]
        exposure = float(np.sum(inst.risk_weight * alloc.x_after_kusd))
        return inst, alloc, exposure

    inst, alloc, exposure = run(CapRule())
    recomputed = binding_caps(inst)
    from_engine = binding_caps(inst, alloc)
    assert (recomputed["binds"] == from_engine["binds"]).all()
    if alloc.cap_marginal is not None:
        np.testing.assert_allclose(from_engine["marginal"], recomputed["marginal"], atol=1e-9)
    top = top_binding_exporters(recomputed, n=1).iloc[0]
    _, _, exposure_plus = run(CapRule(exporter_pp={int(top["exporter"]): 6.0}))
    assert exposure - exposure_plus == pytest.approx(top["removed_per_pp_exact_kusd"], rel=1e-6)
