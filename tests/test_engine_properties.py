"""Property tests of the engine on random small instances (hypothesis)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.model.engine import EngineOptions, reallocate
from optimize.model.instance import CapRule, build_instance
from optimize.model.lp import closed_form
from optimize.model.tiebreak import fill_ranked, water_fill

IMPORTERS = (1000, 1001)
RISK = (1, 2)


def random_flows(seed: int, n_products: int, n_exporters: int) -> pd.DataFrame:
    """Random flows: exporters 1..n to the importers 1000/1001 and a rest of the world 2000."""
    rng = np.random.default_rng(seed)
    exp = np.arange(1, n_exporters + 1)
    dest = np.array([*IMPORTERS, 2000])
    k, i, j = np.meshgrid(np.arange(n_products), exp, dest, indexing="ij")
    v = rng.lognormal(3, 2, k.size) * (rng.random(k.size) < 0.6)
    df = pd.DataFrame({"t": np.int16(2023), "i": i.ravel().astype("int32"), "j": j.ravel().astype("int32"),
                       "k": [f"{p:06d}" for p in k.ravel()], "v": np.round(v, 3), "q": np.nan})
    return df.loc[df["v"] > 0].reset_index(drop=True)


def make(df, pp=5.0, importer=IMPORTERS[0], **kw):
    return build_instance(df, importer=str(importer), importer_codes=[importer], year=2023, products=None,
                          risk_codes=list(RISK), cap=CapRule(pp=pp), **kw)


cases = dict(seed=st.integers(0, 2**31 - 1), n_products=st.integers(1, 6), n_exporters=st.integers(3, 9))


@settings(max_examples=40, deadline=None)
@given(**cases, pp=st.floats(0, 60), spread=st.sampled_from(["proportional", "min-hhi", "vertex"]))
def test_invariants_and_closed_form(seed, n_products, n_exporters, pp, spread):
    df = random_flows(seed, n_products, n_exporters)
    try:
        inst = make(df, pp)
    except Exception:  # no imports at all in this draw
        return
    (alloc,) = reallocate([inst], EngineOptions(spread=spread))
    x = alloc.x_after_kusd
    scale = max(1.0, float(inst.total_kusd.max()))
    np.testing.assert_allclose(np.bincount(inst.pair_product, x, inst.n_products), inst.total_kusd,
                               rtol=1e-9, atol=1e-9 * scale)
    assert (x >= -1e-9 * scale).all()
    assert (x[inst.is_risk] <= inst.x0_kusd[inst.is_risk] + 1e-9 * scale).all()
    alt = ~inst.is_risk
    assert (x[alt] >= inst.x0_kusd[alt] - 1e-9 * scale).all()
    assert (x[alt] <= inst.x0_kusd[alt] + inst.cap_kusd[alt] + 1e-9 * scale).all()
    # oracle: risk after per product = max(0, R - C)
    R = np.bincount(inst.pair_product, np.where(inst.is_risk, inst.x0_kusd, 0), inst.n_products)
    C = np.bincount(inst.pair_product, inst.cap_kusd, inst.n_products)
    risk_after = np.bincount(inst.pair_product, np.where(inst.is_risk, x, 0), inst.n_products)
    np.testing.assert_allclose(risk_after, np.maximum(0, R - C), rtol=1e-9, atol=1e-7 * scale)
    if spread != "vertex":
        np.testing.assert_allclose(x, closed_form(inst, spread=spread), rtol=1e-9, atol=1e-7 * scale)


@settings(max_examples=30, deadline=None)
@given(**cases, pp=st.floats(0, 40), extra_pp=st.floats(0, 40))
def test_exposure_never_rises_with_larger_cap(seed, n_products, n_exporters, pp, extra_pp):
    df = random_flows(seed, n_products, n_exporters)
    try:
        small, large = make(df, pp), make(df, pp + extra_pp)
    except Exception:
        return
    (a,), (b,) = reallocate([small]), reallocate([large])
    assert b.solver.objective <= a.solver.objective * (1 + 1e-9) + 1e-7


@settings(max_examples=30, deadline=None)
@given(**cases, perm_seed=st.integers(0, 1000), spread=st.sampled_from(["proportional", "min-hhi"]))
def test_row_order_does_not_matter(seed, n_products, n_exporters, perm_seed, spread):
    df = random_flows(seed, n_products, n_exporters)
    try:
        inst = make(df)
    except Exception:
        return
    shuffled = df.sample(frac=1.0, random_state=perm_seed).reset_index(drop=True)
    inst2 = make(shuffled)
    (a,), (b,) = reallocate([inst], EngineOptions(spread=spread)), reallocate([inst2], EngineOptions(spread=spread))
    np.testing.assert_array_equal(inst.pair_exporter, inst2.pair_exporter)
    np.testing.assert_allclose(a.x_after_kusd, b.x_after_kusd, rtol=1e-12, atol=1e-9)


def _brute_level(lo, hi, amount):
    """Bisection oracle for water filling on one group."""
    a, b = lo.min(), hi.max()
    for _ in range(200):
        mid = (a + b) / 2
        if np.clip(mid, lo, hi).sum() < amount:
            a = mid
        else:
            b = mid
    return np.clip((a + b) / 2, lo, hi)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 12), groups=st.integers(1, 4), frac=st.floats(0, 1))
def test_water_fill_matches_bisection(seed, n, groups, frac):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    lo = np.round(rng.random(n) * 10, 1)
    hi = lo + np.round(rng.random(n) * 10, 1) * (rng.random(n) < 0.8)
    G = groups
    lo_sum, hi_sum = np.bincount(g, lo, G), np.bincount(g, hi, G)
    amount = lo_sum + frac * (hi_sum - lo_sum)
    x = water_fill(g, lo, hi, amount)
    np.testing.assert_allclose(np.bincount(g, x, G), amount, atol=1e-9)
    for grp in np.unique(g):
        m = g == grp
        np.testing.assert_allclose(x[m], _brute_level(lo[m], hi[m], amount[grp]), atol=1e-7)


def test_fill_ranked_by_hand():
    group = np.array([0, 0, 0, 1, 1])
    rank = np.array([0, 0, 1, 0, 5])
    room = np.array([2.0, 6.0, 4.0, 3.0, 3.0])
    out = fill_ranked(group, rank, room, np.array([10.0, 4.0]))
    # group 0: rank 0 cell (room 8) filled, 2 left for rank 1; group 1: 3 then 1
    np.testing.assert_allclose(out, [2, 6, 2, 3, 1])
    out = fill_ranked(group, rank, room, np.array([4.0, 0.0]))
    np.testing.assert_allclose(out, [1, 3, 0, 0, 0])
