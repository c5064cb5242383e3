"""Deterministic choice among exposure-optimal solutions (all values kUSD).

Separable model (no joint / exporter-total rows; bans and share limits are
bounds): the optimum fixes, per product, the total of the non-risk flows and of
the risk flows (``lp.separable_totals``). The flows are then a function of these
totals only, so the result is exact and independent of backend and row order:

- risk split — how the remaining risk total is kept among risk suppliers.
  An exposure optimum always cuts a higher-weight risk supplier first, so every
  mode first orders by weight (highest cut first). Within a weight class:
  ``proportional`` every supplier keeps the same fraction of its upper bound
  (= today's flow unless a share limit/ban lowers it), ``priority`` the listed
  codes are cut in list order (unlisted ones last, proportionally), ``weights``
  the same as proportional (ties in weight are cut proportionally).
- spread — how the non-risk total is spread over the alternatives:
  ``proportional`` every alternative uses the same fraction of its room
  (upper - lower, i.e. its cap), ``min-hhi`` water-filling (raise the smallest
  to a common level L, x = clip(L, lower, upper), exact from sorted
  breakpoints), ``min-cost`` the lowest CES cost (``optimize.model.mincost``: every alternative's
  prior-smoothed share grows by the same factor, clipped to its bounds), ``vertex`` for the
  closed form: fill in exporter-code order.

Coupled model (joint / exporter-total rows): the risk split above is still
applied (risk pairs are in no coupling row), but a within-product spread could
break coupling rows. We therefore solve a second-stage LP with exposure fixed
(objective row <= opt * (1 + 1e-9) + 1e-7) that minimises the maximum cap
utilisation z over alternatives (extra_a <= z * cap_a), then check every row.
``vertex`` keeps the first-stage solution as it is.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from optimize.errors import SolverError
from optimize.model.instance import Instance
from optimize.model.mincost import min_cost_spread
from optimize.solve.highs import solve_highs
from optimize.solve.problem import ROW_OBJECTIVE, LPArrays
from optimize.solve.status import LPSolution

RISK_SPLITS = ("proportional", "priority", "weights")
SPREADS = ("proportional", "min-hhi", "min-cost", "vertex")


def fill_ranked(group: np.ndarray, rank: np.ndarray, room: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Pour ``amount[g]`` into the items of group g, lowest rank first; items of
    equal rank share what reaches them in proportion to ``room``. Returns (n,)."""
    n = group.shape[0]
    out = np.zeros(n)
    if n == 0:
        return out
    order = np.lexsort((rank, group))
    g_s, r_s = group[order], rank[order]
    new_cell = np.ones(n, dtype=bool)
    new_cell[1:] = (g_s[1:] != g_s[:-1]) | (r_s[1:] != r_s[:-1])
    cell = np.cumsum(new_cell) - 1
    cell_room = np.bincount(cell, weights=room[order])
    cell_group = g_s[new_cell]
    cum = np.cumsum(cell_room)
    first_cell = np.ones(cell_room.shape[0], dtype=bool)
    first_cell[1:] = cell_group[1:] != cell_group[:-1]
    first_idx = np.maximum.accumulate(np.where(first_cell, np.arange(cell_room.shape[0]), 0))
    group_base = (cum - cell_room)[first_idx]  # room of the group's cells before its first cell
    before = cum - cell_room - group_base
    fill = np.clip(amount[cell_group] - before, 0.0, cell_room)
    frac = np.divide(fill, cell_room, out=np.zeros_like(fill), where=cell_room > 0)
    out[order] = room[order] * frac[cell]
    return out


def water_fill(group: np.ndarray, lower: np.ndarray, upper: np.ndarray, amount: np.ndarray,
               shift: np.ndarray | None = None) -> np.ndarray:
    """x = clip(L[g] - shift, lower, upper) with the sum over group g equal to ``amount[g]``
    (clamped to [sum lower, sum upper]); all (N,) except ``amount`` (G,), kUSD.

    The one water-filling routine (min-HHI spread: shift 0; the frontier's Lagrangian
    step: shift = theta T_k w_e). Exact: f_g(L) = sum clip(L - shift_e, lo_e, hi_e) is
    piecewise linear with breakpoints lo+shift (slope +1) and hi+shift (slope -1); it is
    evaluated at every sorted breakpoint with group-wise cumulative sums and inverted by
    interpolation.
    """
    p = np.asarray(group, dtype=np.int64)
    n = p.shape[0]
    n_p = amount.shape[0]
    if n == 0:
        return np.zeros(0)
    shift = np.zeros(n) if shift is None else np.asarray(shift, dtype=float)
    bp = np.concatenate([lower + shift, upper + shift])
    dslope = np.concatenate([np.ones(n), -np.ones(n)])
    grp = np.concatenate([p, p])
    order = np.lexsort((dslope, bp, grp))
    bp, dslope, grp = bp[order], dslope[order], grp[order]
    m = bp.shape[0]
    start = np.r_[True, grp[1:] != grp[:-1]]
    first_idx = np.flatnonzero(start)
    group_first = np.maximum.accumulate(np.where(start, np.arange(m), 0))
    cs_slope = np.cumsum(dslope)
    slope_after = cs_slope - np.r_[0.0, cs_slope][group_first]
    slope_before = np.r_[0.0, slope_after[:-1]]
    slope_before[start] = 0.0
    gap = np.r_[0.0, np.diff(bp)]
    gap[start] = 0.0
    cs_inc = np.cumsum(slope_before * gap)
    sum_lo = np.bincount(p, weights=lower, minlength=n_p)
    f = sum_lo[grp] + cs_inc - np.r_[0.0, cs_inc][group_first]
    tgt = np.asarray(amount, dtype=float)
    ok = f >= tgt[grp] - 1e-12 * np.maximum(np.abs(tgt[grp]), 1.0)
    last_idx = np.r_[first_idx[1:] - 1, m - 1]
    groups_present = grp[first_idx]
    hit = np.full(n_p, -1, dtype=np.int64)
    hit[groups_present] = last_idx
    pos = np.flatnonzero(ok)
    np.minimum.at(hit, grp[pos], pos)
    level = np.zeros(n_p)
    at_first = np.zeros(n_p, dtype=bool)
    at_first[groups_present] = hit[groups_present] == first_idx
    mid = (~at_first) & (hit >= 0)
    level[at_first] = bp[hit[at_first]]
    h = hit[mid]
    sb = slope_before[h]
    level[mid] = np.where(sb > 0, bp[h - 1] + (tgt[mid] - f[h - 1]) / np.where(sb > 0, sb, 1.0), bp[h])
    return np.clip(level[p] - shift, lower, upper)


def _risk_rank(instance: Instance, mode: str, priority: tuple[int, ...]) -> np.ndarray:
    """Rank for *keeping* risk flows: kept first = cut last (lowest weight first)."""
    if mode not in RISK_SPLITS:
        raise ValueError(f"unknown risk split {mode!r}; use one of {RISK_SPLITS}")
    _, weight_class = np.unique(instance.risk_weight, return_inverse=True)
    rank = weight_class.astype(float) * (len(priority) + 2)  # weight classes dominate
    if mode == "priority" and priority:
        rank = rank + _priority_rank(instance.pair_exporter, priority)
    return rank


def _priority_rank(exporters: np.ndarray, priority: tuple[int, ...]) -> np.ndarray:
    codes = np.asarray(priority, dtype=np.int64)
    keep_rank = len(codes) - np.arange(len(codes), dtype=float)  # first listed -> kept last
    order = np.argsort(codes, kind="stable")
    pos = np.searchsorted(codes[order], exporters)
    pos = np.minimum(pos, len(codes) - 1)
    hit = codes[order][pos] == exporters
    return np.where(hit, keep_rank[order][pos], 0.0)


def split_risk(instance: Instance, risk_after: np.ndarray, mode: str = "proportional",
               priority: tuple[int, ...] = ()) -> np.ndarray:
    """(N,) risk flows after (0 for non-risk pairs) keeping ``risk_after[p]`` per product."""
    sel = np.flatnonzero(instance.is_risk)
    out = np.zeros(instance.n_pairs)
    rank = _risk_rank(instance, mode, priority)[sel]
    out[sel] = fill_ranked(instance.pair_product[sel], rank, instance.upper_kusd[sel], risk_after)
    return out


def spread_nonrisk(instance: Instance, nonrisk_after: np.ndarray, mode: str = "proportional", *,
                   risk_flows: np.ndarray | None = None, prior_lambda: float = 0.1) -> np.ndarray:
    """(N,) non-risk flows after (0 for risk pairs) totalling ``nonrisk_after[p]`` per product.
    ``risk_flows`` (N,) and ``prior_lambda`` are used by ``min-cost`` only (the product's value after
    and the new-supplier prior)."""
    if mode not in SPREADS:
        raise ValueError(f"unknown spread {mode!r}; use one of {SPREADS}")
    sel = np.flatnonzero(~instance.is_risk)
    out = np.zeros(instance.n_pairs)
    lo = instance.lower()[sel]
    up = np.maximum(instance.upper_kusd[sel], lo)
    grp = instance.pair_product[sel]
    if mode == "min-hhi":
        out[sel] = water_fill(grp, lo, up, nonrisk_after)
        return out
    if mode == "min-cost":
        alt = ~np.asarray(instance.is_risk, dtype=bool)
        lo_n, up_n = np.zeros(instance.n_pairs), np.zeros(instance.n_pairs)
        lo_n[sel], up_n[sel] = lo, up
        fixed = np.zeros(instance.n_pairs) if risk_flows is None else risk_flows
        return min_cost_spread(instance.pair_product, np.asarray(instance.x0_kusd, dtype=float),
                               np.asarray(instance.world_exports_kusd, dtype=float), alt, fixed, lo_n, up_n,
                               np.asarray(nonrisk_after, dtype=float), prior_lambda, instance.n_products)
    extra = np.maximum(nonrisk_after - np.bincount(grp, weights=lo, minlength=instance.n_products), 0.0)
    rank = np.zeros(sel.shape[0]) if mode == "proportional" else instance.pair_exporter[sel].astype(float)
    out[sel] = lo + fill_ranked(grp, rank, up - lo, extra)
    return out


def distribute(instance: Instance, nonrisk_after: np.ndarray, risk_after: np.ndarray, *,
               risk_split: str = "proportional", spread: str = "proportional",
               priority: tuple[int, ...] = (), prior_lambda: float = 0.1) -> np.ndarray:
    """(N,) flows after from per-product totals (kUSD), by the rules above."""
    risk = split_risk(instance, risk_after, risk_split, priority)
    return risk + spread_nonrisk(instance, nonrisk_after, spread, risk_flows=risk, prior_lambda=prior_lambda)


def second_stage(lp, x_opt: np.ndarray, instances: list[Instance], *, time_limit_s: float | None = None) -> LPSolution:
    """Coupled models: among solutions with exposure <= the optimum (1e-9 relative +
    1e-7 kUSD), minimise the maximum cap utilisation z of the alternatives.
    Returns the stage-2 solution: its first ``lp.n_cols`` values are the new column
    vector (same order as ``lp``); the caller checks the status and the rows."""
    return solve_highs(_stage2_lp(lp, x_opt, instances), algorithm="auto", time_limit_s=time_limit_s)


def _stage2_lp(lp: LPArrays, x_opt: np.ndarray, instances: list[Instance]) -> LPArrays:
    """``lp`` plus the exposure row (<= optimum) and the utilisation rows x_a - z cap_a <= x0_a; min z."""
    n = lp.n_cols
    opt = float(lp.c @ x_opt)
    grow = np.zeros(n, dtype=bool)
    cap = np.zeros(n)
    x0 = np.zeros(n)
    for i, inst in enumerate(instances):
        s, e = lp.instance_col_start[i], lp.instance_col_start[i + 1]
        grow[s:e] = inst.alternatives() & (inst.cap_kusd > 0)
        cap[s:e] = inst.cap_kusd
        x0[s:e] = inst.x0_kusd
    g = np.flatnonzero(grow)
    a = lp.matrix()
    util = sp.csr_matrix((np.ones(g.shape[0]), (np.arange(g.shape[0]), g)), shape=(g.shape[0], n))
    a2 = sp.vstack([a, sp.csr_matrix(lp.c.reshape(1, -1)), util]).tocsr()
    z_col = sp.csr_matrix((-cap[g], (np.arange(g.shape[0]) + lp.n_rows + 1, np.zeros(g.shape[0], dtype=int))),
                          shape=(a2.shape[0], 1))
    a2 = sp.hstack([a2, z_col]).tocsr()
    a2.sort_indices()
    return LPArrays(
        c=np.concatenate([np.zeros(n), [1.0]]),
        col_lower=np.concatenate([lp.col_lower, [0.0]]), col_upper=np.concatenate([lp.col_upper, [1.0]]),
        indptr=a2.indptr.astype(np.int32), indices=a2.indices.astype(np.int32), data=a2.data.astype(float),
        row_lower=np.concatenate([lp.row_lower, [-np.inf], np.full(g.shape[0], -np.inf)]),
        row_upper=np.concatenate([lp.row_upper, [opt * (1 + 1e-9) + 1e-7], x0[g]]),
        col_instance=np.concatenate([lp.col_instance, [-1]]), col_pair=np.concatenate([lp.col_pair, [-1]]),
        col_product=np.concatenate([lp.col_product, [-1]]),
        row_kind=np.concatenate([lp.row_kind, [ROW_OBJECTIVE], np.full(g.shape[0], ROW_OBJECTIVE, np.int8)]),
        instance_col_start=lp.instance_col_start,
    )


def check_rows(lp, x: np.ndarray, rel: float = 1e-7) -> None:
    """Raise ``SolverError`` when x breaks a row or bound of ``lp`` beyond tolerance."""
    ax = lp.matrix() @ x
    tol = rel * np.maximum(1.0, np.maximum(np.abs(np.where(np.isfinite(lp.row_upper), lp.row_upper, 0)),
                                           np.abs(np.where(np.isfinite(lp.row_lower), lp.row_lower, 0))))
    bad = (ax > lp.row_upper + tol) | (ax < lp.row_lower - tol)
    ctol = rel * np.maximum(1.0, np.abs(lp.col_upper))
    bad_cols = (x > lp.col_upper + ctol) | (x < lp.col_lower - ctol)
    if bad.any() or bad_cols.any():
        raise SolverError(f"solution breaks {int(bad.sum())} rows and {int(bad_cols.sum())} bounds after tie-break",
                          fix="report this as a bug; use spread='vertex' meanwhile")
