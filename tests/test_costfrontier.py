"""The exposure-cost frontier against scipy.optimize on small instances, and its shape."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from optimize.analysis.ces import blend_prior, ces_cost_share
from optimize.analysis.costfrontier import min_cost_flows, prepare

LAM = 0.1


def _instance(seed):
    """Two products; pairs (product, risk?) with today's flows, bounds, world exports; sigma per product."""
    rng = np.random.default_rng(seed)
    p = np.array([0, 0, 0, 0, 1, 1, 1])
    risk = np.array([1, 1, 0, 0, 1, 0, 0], dtype=bool)
    x0 = np.array([40, 20, 30, 0, 50, 40, 10], dtype=float) * rng.uniform(0.5, 1.5, 7)
    x0[3] = 0.0
    cap = np.where(risk, 0.0, rng.uniform(5, 40, 7))
    lo = np.where(risk, 0.0, x0)
    hi = x0 + cap
    world = rng.uniform(50, 500, 7)
    total = np.bincount(p, weights=x0)
    sigma = np.array([rng.uniform(1.5, 10), rng.uniform(0.6, 3)])
    w = np.where(risk, 1.0, 0.0)
    return p, x0, lo, hi, w, world, total, sigma


def _cost_kusd(p, x0, x, world, total, sigma):
    b0 = blend_prior(p, x0 / total[p], world, LAM, 2)
    b1 = blend_prior(p, x / total[p], world, LAM, 2)
    return float(np.sum(ces_cost_share(p, b0, b1, sigma, 2) * total))


def _min_exposure(p, x0, lo, hi, w, total):
    risk = w > 0
    room = np.bincount(p, weights=np.where(risk, 0.0, hi - lo))
    r0 = np.bincount(p, weights=np.where(risk, x0, 0.0))
    return float(np.sum(np.maximum(r0 - room, 0.0)))


@pytest.mark.parametrize("seed", range(6))
def test_equals_scipy_at_an_intermediate_level(seed):
    p, x0, lo, hi, w, world, total, sigma = _instance(seed)
    e_min, e_today = _min_exposure(p, x0, lo, hi, w, total), float(np.sum(w * x0))
    level = e_min + 0.4 * (e_today - e_min)
    a = prepare(p, x0, lo, hi, w, world, total, sigma, LAM)
    ours = min_cost_flows(a, [level], e_min)[0]
    assert float(np.sum(w * ours)) <= level + 1e-6
    assert np.bincount(p, weights=ours) == pytest.approx(total, rel=1e-9)
    mine = _cost_kusd(p, x0, ours, world, total, sigma)
    cons = [{"type": "eq", "fun": lambda y, k=k: np.sum(y[p == k]) - total[k]} for k in (0, 1)]
    cons.append({"type": "ineq", "fun": lambda y: level - np.sum(w * y)})
    start = np.clip(x0, lo, hi)
    best = np.inf
    for s in (start, ours * 0.5 + start * 0.5):
        res = minimize(lambda y: _cost_kusd(p, x0, y, world, total, sigma), s, method="SLSQP",
                       bounds=list(zip(lo, hi, strict=True)), constraints=cons,
                       options={"ftol": 1e-14, "maxiter": 2000})
        if res.success and np.sum(w * res.x) <= level + 1e-6:
            best = min(best, res.fun)
    assert np.isfinite(best)
    assert mine <= best * (1 + 1e-6) + 1e-9  # never dearer than the general-purpose solver
    assert mine == pytest.approx(best, rel=1e-6, abs=1e-9)


def test_shape_zero_today_and_falling_with_exposure():
    p, x0, lo, hi, w, world, total, sigma = _instance(11)
    e_min, e_today = _min_exposure(p, x0, lo, hi, w, total), float(np.sum(w * x0))
    levels = np.linspace(e_min, e_today, 6)
    a = prepare(p, x0, lo, hi, w, world, total, sigma, LAM)
    costs = [_cost_kusd(p, x0, x, world, total, sigma) for x in min_cost_flows(a, levels, e_min)]
    assert costs[-1] == pytest.approx(0.0, abs=1e-9)
    assert all(b <= a_ + 1e-9 for a_, b in zip(costs, costs[1:], strict=False))
