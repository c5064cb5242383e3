"""The exposure-cost frontier: the lowest CES cost (docs/cost.md) that reaches each exposure level.

Per product k (value T_k kept), flows x_e in [lo_e, hi_e] with sum_e x_e = T_k; exposure
E(x) = sum_e w_e x_e (risk weights, 0 for alternatives). The CES quantity of the prior-smoothed
shares b'_e = (1 - lam) x_e / T_k + lam v_e is concave in x, so min cost s.t. E(x) <= e is solved
by Lagrangian duality: with multipliers theta >= 0 (exposure) and mu_k (value) the maximiser is

    b'_e = b_e (1 / (mu_k + theta w_e))^sigma_k   (up to a common factor absorbed in mu_k),
    x_e  = clip((b'_e - lam v_e) T_k / (1 - lam), lo_e, hi_e),

mu_k by bisection (sum_e x_e falls as mu_k rises) for all products at once, theta by bisection
on the monotone E(theta). theta = 0 gives today's flows (cost 0); a large theta the lowest
exposure. Products without a finite sigma are not in the frontier. Values kUSD.
"""
from __future__ import annotations

import numpy as np

from optimize.analysis.ces import blend_prior, log_power_mean
from optimize.model.mincost import flows_at_totals

_STEPS = 40


def _flows(a: dict, theta: float) -> np.ndarray:
    """(N,) the maximiser at exposure multiplier ``theta`` (bisection on log(mu + theta w) per product)."""
    g, n_p = a["p"], a["total"].shape[0]
    b, lamv, scale, sig = a["b"], a["lamv"], a["scale"], a["sigma"][a["p"]]
    w = a["w"] * a["h"][g]  # the product's own exposure price (its cost gradient's scale)
    live = b > 0
    # x_e(m) with m_k = log(mu_k): b'_e = b_e * (exp(m) + theta w_e)^-sigma, decreasing in m

    def x_of(m):
        with np.errstate(over="ignore", invalid="ignore"):
            target = b * np.exp(-sig * np.log(np.exp(m)[g] + theta * w))
            return np.where(live, np.clip((target - lamv) * scale, a["lo"], a["hi"]), a["lo"])

    return flows_at_totals(x_of, g, a["total"], n_p, -60.0, 60.0, _STEPS, rising=False)


def prepare(p, x0, lo, hi, w, world, total, sigma, lam: float) -> dict:
    """The arrays ``min_cost_flows`` works on (per pair (N,): product index, today, bounds, exposure
    weight, world exports; per product (P,): value, sigma)."""
    p = np.asarray(p, dtype=np.int64)
    n_p = total.shape[0]
    s0 = x0 / np.asarray(total, dtype=float)[p]
    return {"p": p, "x0": x0, "lo": lo, "hi": hi, "w": w, "total": np.asarray(total, dtype=float), "h": np.ones(n_p),
            "sigma": np.asarray(sigma, dtype=float), "b": blend_prior(p, s0, world, lam, n_p),
            "lamv": blend_prior(p, np.zeros_like(s0), world, lam, n_p), "scale": total[p] / (1.0 - lam),
            "world": world, "lam": lam}


def _scale(a: dict, x: np.ndarray) -> np.ndarray:
    """(P,) h_k = M_k^(1 + r_k): the cost gradient of product k is -(b'/b)^(r-1) / (M_k S_k) (up to a
    common factor), so one exposure multiplier theta acts on product k as theta h_k."""
    n_p = a["total"].shape[0]
    b1 = blend_prior(a["p"], x / a["total"][a["p"]], a["world"], a["lam"], n_p)
    lpm = log_power_mean(a["p"], a["b"], b1, a["sigma"], n_p)
    return np.exp((2.0 - 1.0 / a["sigma"]) * lpm)


def min_cost_flows(a: dict, levels, e_min: float, *, rounds: int = 30) -> list[np.ndarray]:
    """Lowest-cost flows (kUSD) reaching each exposure level (kUSD; ``e_min``: the lowest reachable):
    for the per-product scales h_k, bisection on theta; then h_k from the flows found, until they hold."""
    out = []
    a["h"] = np.ones(a["total"].shape[0])
    for e in levels:  # each level starts from the scales of the previous one
        x = None
        for _ in range(rounds):
            x = _at_level(a, e, e_min)
            h = _scale(a, x)
            done = np.allclose(h, a["h"], rtol=1e-9, atol=0.0)
            a["h"] = h
            if done:
                break
        out.append(x)
    return out


def _at_level(a: dict, e: float, e_min: float, *, steps: int = 32) -> np.ndarray:
    """Flows at exposure level ``e`` (kUSD) for the current scales ``a["h"]``: bisection on log theta
    (exposure falls as theta rises), keeping the end that meets the level."""
    def exposure(x):
        return float(np.sum(a["w"] * x))

    tol = 1e-10 * max(float(a["total"].sum()), 1.0)
    if exposure(a["x0"]) <= e + tol:
        return np.asarray(a["x0"], dtype=float).copy()
    hi_l = 0.0
    while exposure(_flows(a, np.exp(hi_l))) > max(e, e_min + tol) and hi_l < 40.0:
        hi_l += 4.0
    lo_l = hi_l - 60.0
    best = _flows(a, np.exp(hi_l))
    for _ in range(steps):
        mid = 0.5 * (lo_l + hi_l)
        x = _flows(a, np.exp(mid))
        if exposure(x) > e:
            lo_l = mid
        else:
            hi_l, best = mid, x
    return best
