"""The min-cost spread: KKT water-filling against scipy.optimize on small random instances, never
dearer than other exposure-optimal splits (hypothesis), and on the real energy subset."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from optimize.analysis.ces import blend_prior, ces_cost_share
from optimize.model.mincost import flows_at_totals, min_cost_spread


def _cost(x0, x1, world, lam, sigma):
    """CES cost / V of one product (the cost the spread minimises), from the analysis formula."""
    g = np.zeros(len(x0), dtype=np.int64)
    b0 = blend_prior(g, x0 / x0.sum(), world, lam, 1)
    b1 = blend_prior(g, x1 / x1.sum(), world, lam, 1)
    return float(ces_cost_share(g, b0, b1, np.array([sigma]), 1)[0])


def _instance(rng, n_alt):
    """One product: a risk supplier (fixed after its cut) and ``n_alt`` alternatives, some new."""
    x0 = np.r_[rng.uniform(20, 80), rng.uniform(0, 30, n_alt) * (rng.random(n_alt) < 0.7)]
    world = np.r_[rng.uniform(50, 500), rng.uniform(10, 1000, n_alt)]
    cap = rng.uniform(0, 40, n_alt)
    lo = x0[1:]
    up = lo + cap
    cut = rng.uniform(0.2, 0.9) * min(x0[0], cap.sum())
    fixed = x0[0] - cut
    amount = lo.sum() + cut
    return x0, world, lo, up, fixed, amount


def _ours(x0, world, lo, up, fixed, amount, lam):
    n = len(x0)
    alt = np.r_[False, np.ones(n - 1, dtype=bool)]
    x = min_cost_spread(np.zeros(n, dtype=np.int64), x0, world, alt, np.r_[fixed, np.zeros(n - 1)],
                        np.r_[0.0, lo], np.r_[0.0, up], np.array([amount]), lam, 1)
    return x[1:]


@pytest.mark.parametrize("seed", range(12))
def test_equals_scipy_optimum(seed):
    rng = np.random.default_rng(seed)
    x0, world, lo, up, fixed, amount = _instance(rng, int(rng.integers(2, 6)))
    lam = float(rng.choice([0.05, 0.1, 0.3]))
    sigma = float(rng.choice([0.7, 1.0, 3.0, 8.0, 20.0]))
    ours = _ours(x0, world, lo, up, fixed, amount, lam)
    assert ours.sum() == pytest.approx(amount, rel=1e-12)
    assert (ours >= lo - 1e-9).all() and (ours <= up + 1e-9).all()

    def f(y):
        return _cost(x0, np.r_[fixed, y], world, lam, sigma)

    start = lo + (up - lo) * (amount - lo.sum()) / (up - lo).sum()  # the proportional split
    scale = 1.0 / max(f(start), 1e-12)  # SLSQP stops on absolute changes: give it an objective of order 1
    res = minimize(lambda y: f(y * amount) * scale, start / amount, method="SLSQP",
                   bounds=list(zip(lo / amount, up / amount, strict=True)),
                   constraints=[{"type": "eq", "fun": lambda y: y.sum() - 1.0}],
                   options={"ftol": 1e-15, "maxiter": 2000})
    theirs = res.x * amount
    assert res.success
    assert f(ours) <= f(theirs) + 1e-12  # never dearer than the general-purpose solver
    assert f(ours) == pytest.approx(f(theirs), rel=1e-6, abs=1e-12)
    assert np.abs(ours - theirs).max() <= 1e-6 * amount  # flows agree to 1e-6 of the amount spread


def test_kkt_conditions_hold_exactly():
    rng = np.random.default_rng(99)
    x0, world, lo, up, fixed, amount = _instance(rng, 6)
    lam = 0.1
    x = _ours(x0, world, lo, up, fixed, amount, lam)
    g = np.zeros(len(x0), dtype=np.int64)
    b = blend_prior(g, x0 / x0.sum(), world, lam, 1)[1:]
    b1 = blend_prior(g, np.r_[fixed, x] / (fixed + amount), world, lam, 1)[1:]
    ratio = b1 / b
    inside = (x > lo + 1e-9) & (x < up - 1e-9)
    if inside.sum() >= 2:
        assert ratio[inside] == pytest.approx(np.full(inside.sum(), ratio[inside][0]), rel=1e-9)
    level = ratio[inside][0] if inside.any() else None
    if level is not None:
        assert (ratio[x >= up - 1e-9] <= level + 1e-9).all()  # at the cap: would take more
        assert (ratio[x <= lo + 1e-9] >= level - 1e-9).all()  # at today's flow: would take less


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 6), st.sampled_from([0.5, 1.0, 2.0, 8.0]),
       st.sampled_from([0.0, 0.1, 0.3]))
def test_never_dearer_than_any_other_split(seed, n_alt, sigma, lam):
    rng = np.random.default_rng(seed)
    x0, world, lo, up, fixed, amount = _instance(rng, n_alt)
    ours = _ours(x0, world, lo, up, fixed, amount, lam)
    mine = _cost(x0, np.r_[fixed, ours], world, lam, sigma)
    # other exposure-optimal splits: proportional to room, and random points of the same simplex slice
    splits = [lo + (up - lo) * (amount - lo.sum()) / (up - lo).sum()]
    for _ in range(5):
        w = rng.random(n_alt) * (up - lo)
        room = amount - lo.sum()
        y = lo + np.minimum(w / w.sum() * room, up - lo) if w.sum() > 0 else lo.copy()
        short = amount - y.sum()
        free = up - y
        y = y + free * (short / free.sum()) if free.sum() > 0 else y
        splits.append(y)
    for y in splits:
        assert mine <= _cost(x0, np.r_[fixed, y], world, lam, sigma) + 1e-10


def test_vectorised_over_products_matches_one_by_one():
    rng = np.random.default_rng(5)
    parts = [_instance(rng, k) for k in (2, 4, 3)]
    group, x0s, worlds, alts, fixeds, los, ups, amounts = [], [], [], [], [], [], [], []
    for gi, (x0, world, lo, up, fixed, amount) in enumerate(parts):
        n = len(x0)
        group += [gi] * n
        x0s.append(x0)
        worlds.append(world)
        alts.append(np.r_[False, np.ones(n - 1, dtype=bool)])
        fixeds.append(np.r_[fixed, np.zeros(n - 1)])
        los.append(np.r_[0.0, lo])
        ups.append(np.r_[0.0, up])
        amounts.append(amount)
    x = min_cost_spread(np.asarray(group), np.concatenate(x0s), np.concatenate(worlds), np.concatenate(alts),
                        np.concatenate(fixeds), np.concatenate(los), np.concatenate(ups), np.asarray(amounts),
                        0.1, 3)
    g = np.asarray(group)
    for gi, part in enumerate(parts):
        assert x[g == gi][1:] == pytest.approx(_ours(*part, 0.1), rel=1e-12, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 6))
def test_flows_at_totals_meets_each_total_rising_or_falling(seed, n_groups):
    """The one bisection of the cost module: clipped linear fills reach any total between their bounds,
    exactly (interpolated), whether the flows rise or fall with the level; scipy's brentq per group agrees."""
    from scipy.optimize import brentq

    rng = np.random.default_rng(seed)
    g = np.sort(rng.integers(0, n_groups, 5 * n_groups))
    b = rng.uniform(0.1, 3.0, g.shape[0])
    lo = rng.uniform(0.0, 1.0, g.shape[0])
    up = lo + rng.uniform(0.0, 5.0, g.shape[0])
    s_lo, s_up = np.bincount(g, lo, n_groups), np.bincount(g, up, n_groups)
    target = s_lo + rng.uniform(0.0, 1.0, n_groups) * (s_up - s_lo)

    def rising(level):
        return np.clip(level[g] * b, lo, up)

    x_up = flows_at_totals(rising, g, target, n_groups, -100.0, 100.0, 70)
    x_down = flows_at_totals(lambda level: rising(-level), g, target, n_groups, -100.0, 100.0, 70, rising=False)
    for x in (x_up, x_down):
        np.testing.assert_allclose(np.bincount(g, x, n_groups), target, rtol=1e-12, atol=1e-12)
        assert np.all(x >= lo - 1e-12) and np.all(x <= up + 1e-12)
    for k in np.unique(g):
        m = g == k
        if s_up[k] - s_lo[k] > 1e-9 and s_lo[k] < target[k] < s_up[k]:
            level = brentq(lambda t, m=m, k=k: np.clip(t * b[m], lo[m], up[m]).sum() - target[k], -100.0, 100.0,
                           xtol=1e-14)
            np.testing.assert_allclose(x_up[m], np.clip(level * b[m], lo[m], up[m]), atol=1e-9)
