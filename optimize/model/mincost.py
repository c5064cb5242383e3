"""The cheapest exposure-optimal spread (``alternatives.spread = "min-cost"``; docs/cost.md).

Per product the exposure optimum fixes the risk flows and the non-risk total A. Among the
non-risk flows x_a in [lo_a, up_a] summing to A, the CES cost (``optimize.analysis.ces``) of
the prior-smoothed shares b'_e = (1 - lam) x_e / V' + lam w_e against the baseline b_e is
lowest where the CES quantity is highest: a separable concave program. Its KKT conditions
give b'_a = L b_a for every alternative strictly inside its bounds, for every sigma > 0, so

    x_a(L) = clip((L b_a - lam w_a) V' / (1 - lam), lo_a, up_a),  with sum_a x_a(L) = A,

which is monotone in the multiplier L; L is found by bisection on log L, vectorised over
products. Alternatives with b_a = 0 (lam = 0 and no flow today: they add no CES quantity)
take only what the others cannot (in proportion to their room). All values kUSD.
"""
from __future__ import annotations

import numpy as np

#: Bisection steps on log L (the bracket e^-100 .. e^100; 200 * 2^-90 is below 1e-24).
_STEPS = 90


def group_shares(group: np.ndarray, x: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """((N,) each value's share of its group's total, 0 where the total is not positive; (G,) the totals).
    The one within-group share (CES cost, min-cost spread, prior, HHI); any unit."""
    x = np.asarray(x, dtype=float)
    tot = np.bincount(group, weights=x, minlength=n_groups)
    return np.divide(x, tot[group], out=np.zeros_like(x), where=tot[group] > 0), tot


def world_prior(group: np.ndarray, world_kusd: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """The prior of ``blend_prior``: ((N,) each supplier's share of its group's world exports, (G,) the
    group's world exports; NaN and negative exports count as 0; any unit)."""
    w = np.maximum(np.nan_to_num(np.asarray(world_kusd, dtype=float)), 0.0)
    return group_shares(np.asarray(group, dtype=np.int64), w, n_groups)


def blend(group: np.ndarray, s: np.ndarray, prior: tuple[np.ndarray, np.ndarray], lam: float) -> np.ndarray:
    """``blend_prior`` with its ``world_prior`` computed once (several lam, or shares before and after)."""
    if not 0.0 <= lam < 1.0:
        raise ValueError("lam must be in [0, 1)")
    share, tot = prior
    return np.where(tot[group] > 0, (1.0 - lam) * np.asarray(s, dtype=float) + lam * share, s)


def blend_prior(group: np.ndarray, s: np.ndarray, world_kusd: np.ndarray, lam: float, n_groups: int) -> np.ndarray:
    """(N,) shares smoothed towards world market shares: (1 - lam) s + lam w, w_e = supplier e's
    exports of the product to the world / the sum over the group's suppliers (kUSD, any unit).

    The new-supplier prior (docs/cost.md): with lam = 0 a supplier the importer does not buy
    from today has taste weight 0 and adds no CES quantity; with lam > 0 its weight grows with
    its world share, so the cost stays finite and a larger exporter is cheaper to switch to.
    A group without world exports keeps s."""
    if not 0.0 <= lam < 1.0:
        raise ValueError("lam must be in [0, 1)")
    g = np.asarray(group, dtype=np.int64)
    return blend(g, s, world_prior(g, world_kusd, n_groups), lam)


def flows_at_totals(x_of, group: np.ndarray, target: np.ndarray, n_groups: int, lo: float, hi: float,
                    steps: int, *, rising: bool = True) -> np.ndarray:
    """(N,) flows ``x_of(level)`` (level: (G,) one per group) whose group sums equal ``target`` (G,).

    The one root finder of the cost module's water-fillings: bisection on each group's level in
    [lo, hi] for all groups at once (``x_of`` monotone in the level, rising or falling), then a
    linear interpolation between the flows at the bracket's two ends, so the totals are exact where
    the flows are linear between them (piecewise-linear fills). scipy's scalar root finders
    (brentq, bisect) solve one group per call."""
    g = np.asarray(group, dtype=np.int64)
    lo_v, hi_v = np.full(n_groups, float(lo)), np.full(n_groups, float(hi))
    for _ in range(steps):
        mid = 0.5 * (lo_v + hi_v)
        over = np.bincount(g, weights=x_of(mid), minlength=n_groups) > target
        if rising:
            lo_v, hi_v = np.where(over, lo_v, mid), np.where(over, mid, hi_v)
        else:
            lo_v, hi_v = np.where(over, mid, lo_v), np.where(over, hi_v, mid)
    small, big = (x_of(lo_v), x_of(hi_v)) if rising else (x_of(hi_v), x_of(lo_v))
    s_small = np.bincount(g, weights=small, minlength=n_groups)
    s_big = np.bincount(g, weights=big, minlength=n_groups)
    t = np.divide(target - s_small, s_big - s_small, out=np.zeros(n_groups), where=s_big > s_small)
    return small + np.clip(t, 0.0, 1.0)[g] * (big - small)


def min_cost_spread(group: np.ndarray, x0: np.ndarray, world: np.ndarray, is_alt: np.ndarray, fixed: np.ndarray,
                    lo: np.ndarray, up: np.ndarray, amount: np.ndarray, lam: float, n_groups: int) -> np.ndarray:
    """(N,) non-risk flows (0 where ``is_alt`` is False) totalling ``amount`` (G,) per group within [lo, up].

    ``x0``: today's flows of every pair (baseline shares); ``world``: each pair's exporter's world
    exports of the product (prior); ``fixed``: the flows after of the other pairs (risk flows),
    which count in the product's value after V' = fixed + amount."""
    g = np.asarray(group, dtype=np.int64)
    alt = np.asarray(is_alt, dtype=bool)
    s0, _ = group_shares(g, x0, n_groups)
    lam_w = blend_prior(g, np.zeros_like(s0), world, lam, n_groups)  # lam * w (s = 0)
    b = blend_prior(g, s0, world, lam, n_groups)
    v1 = np.bincount(g, weights=np.where(alt, 0.0, fixed), minlength=n_groups) + amount
    scale = v1[g] / (1.0 - lam)
    amt = np.clip(amount, np.bincount(g, weights=np.where(alt, lo, 0.0), minlength=n_groups),
                  np.bincount(g, weights=np.where(alt, up, 0.0), minlength=n_groups))
    live = alt & (b > 0)

    def x_of(log_level: np.ndarray) -> np.ndarray:
        raw = (np.exp(log_level)[g] * b - lam_w) * scale
        return np.where(live, np.clip(raw, lo, up), np.where(alt, lo, 0.0))

    x = flows_at_totals(x_of, g, amt, n_groups, -100.0, 100.0, _STEPS)  # on log L: the bracket e^-100 .. e^100
    rest = amt - np.bincount(g, weights=x, minlength=n_groups)  # > 0 only when the live pairs are full
    dead = alt & ~live
    room = np.where(dead, up - lo, 0.0)
    room_g = np.bincount(g, weights=room, minlength=n_groups)
    frac = np.divide(np.maximum(rest, 0.0), room_g, out=np.zeros(n_groups), where=room_g > 0)
    return np.where(alt, x + room * np.minimum(frac, 1.0)[g], 0.0)
