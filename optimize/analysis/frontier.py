"""Exposure-vs-concentration frontier: the lowest supplier concentration reachable at each
level of risk exposure (epsilon-constraint), per basket and per sector.

Model (separable, the plain re-allocation's bounds): x_e in [lower_e, upper_e] per
(product, exporter) pair, sum_e x_e = T_k per product. Exposure E(x) = sum_r w_r x_r
(kUSD, risk pairs); concentration H(x) = sum_k (T_k/T) HHI_k, the value-weighted mean
HHI, = sum_k sum_e x_e^2 / (T T_k). For each e in [E_min, E_today] the convex problem
min H s.t. E <= e is solved exactly by Lagrangian duality: with multiplier theta >= 0
the minimiser is x_e = clip(nu_k - theta T_k w_e, lower_e, upper_e) (water-filling with
risk pairs shifted down), nu_k found exactly per product from the sorted breakpoints of
the piecewise-linear sum, and theta by bisection on the monotone E(theta). theta = 0 is
the unconstrained minimum HHI (exposure free); theta -> large is the plain run's minimum
exposure with the lowest HHI among exposure-optimal allocations.
Coupled models (shared caps, exporter totals) are not separable and are not handled here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from optimize.errors import ScenarioError
from optimize.model.instance import Instance
from optimize.solve.status import raise_for_status


# ------------------------------------------------------------------ exact level fill
def level_fill(pair_product: np.ndarray, lower: np.ndarray, upper: np.ndarray, shift: np.ndarray,
               target: np.ndarray) -> np.ndarray:
    """x = clip(nu_k - shift, lower, upper) with nu_k chosen so that sum_k x = target_k.

    Exact: f_k(nu) = sum clip(nu - shift_e, lo_e, hi_e) is piecewise linear with
    breakpoints lo+shift (slope +1) and hi+shift (slope -1); it is evaluated at every
    sorted breakpoint with group-wise cumulative sums and inverted by interpolation.
    Targets outside [sum lo, sum hi] give the nearest bound. All arrays (N,) / (P,).
    """
    p = np.asarray(pair_product, dtype=np.int64)
    n = p.shape[0]
    n_p = target.shape[0]
    if n == 0:
        return np.zeros(0)
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
    inc = slope_before * gap
    cs_inc = np.cumsum(inc)
    sum_lo = np.bincount(p, weights=lower, minlength=n_p)
    f = sum_lo[grp] + cs_inc - np.r_[0.0, cs_inc][group_first]
    tgt = np.asarray(target, dtype=float)
    ok = f >= tgt[grp] - 1e-12 * np.maximum(np.abs(tgt[grp]), 1.0)
    last_idx = np.r_[first_idx[1:] - 1, m - 1]
    groups_present = grp[first_idx]
    hit = np.full(n_p, -1, dtype=np.int64)
    hit[groups_present] = last_idx
    pos = np.flatnonzero(ok)
    np.minimum.at(hit, grp[pos], pos)
    nu = np.zeros(n_p)
    at_first = np.zeros(n_p, dtype=bool)
    at_first[groups_present] = hit[groups_present] == first_idx
    mid = (~at_first) & (hit >= 0)
    nu[at_first] = bp[hit[at_first]]
    h = hit[mid]
    sb = slope_before[h]
    nu[mid] = np.where(sb > 0, bp[h - 1] + (tgt[mid] - f[h - 1]) / np.where(sb > 0, sb, 1.0), bp[h])
    return np.clip(nu[p] - shift, lower, upper)


# ------------------------------------------------------------------ helpers on an instance
def _arrays(instance: Instance, mask_products: np.ndarray | None = None) -> dict:
    if instance.shortfall_allowed is not None and np.any(instance.shortfall_allowed):
        raise ScenarioError("the frontier does not support export bans (products may end short)", field="ban",
                            fix="run the frontier without bans")
    keep = np.ones(instance.n_pairs, dtype=bool) if mask_products is None else mask_products[instance.pair_product]
    old = np.flatnonzero(np.bincount(instance.pair_product[keep], minlength=instance.n_products) > 0)
    remap = np.full(instance.n_products, -1, dtype=np.int64)
    remap[old] = np.arange(old.shape[0])
    p = remap[instance.pair_product[keep]]
    risk = np.asarray(instance.is_risk, dtype=bool)[keep]
    w = np.where(risk, np.asarray(instance.risk_weight, dtype=float)[keep], 0.0)
    return {
        "p": p,
        "products": np.asarray(instance.products)[old],
        "total": np.asarray(instance.total_kusd, dtype=float)[old],
        "lo": np.asarray(instance.lower(), dtype=float)[keep],
        "hi": np.maximum(np.asarray(instance.upper_kusd, dtype=float)[keep], np.asarray(instance.lower(), dtype=float)[keep]),
        "x0": np.asarray(instance.x0_kusd, dtype=float)[keep],
        "risk": risk,
        "w": w,
    }


def product_hhi(p: np.ndarray, x: np.ndarray, total: np.ndarray) -> np.ndarray:
    """(P,) HHI of each product's suppliers (0..1) for flows x (kUSD)."""
    sq = np.bincount(p, weights=x * x, minlength=total.shape[0])
    return np.divide(sq, total * total, out=np.full(total.shape[0], np.nan), where=total > 0)


def weighted_hhi(p: np.ndarray, x: np.ndarray, total: np.ndarray) -> float:
    """Value-weighted mean HHI: sum_k (T_k / T) HHI_k."""
    tot = float(total.sum())
    return float(np.nansum(product_hhi(p, x, total) * total) / tot) if tot > 0 else float("nan")


def _solve_theta(a: dict, theta: float) -> np.ndarray:
    shift = theta * a["total"][a["p"]] * a["w"]
    return level_fill(a["p"], a["lo"], a["hi"], shift, a["total"])


def _exposure(a: dict, x: np.ndarray) -> float:
    return float(np.sum(a["w"] * x))


def min_exposure_kusd(a: dict) -> float:
    """Plain run's minimum weighted risk imports: per product cut D = min(R, C) from the
    highest-weight risk pairs first (exact, vectorised)."""
    p, risk = a["p"], a["risk"]
    n_p = a["total"].shape[0]
    room = np.where(~risk, a["hi"] - a["lo"], 0.0)
    c_k = np.bincount(p, weights=room, minlength=n_p)
    r_idx = np.flatnonzero(risk)
    order = r_idx[np.lexsort((-a["w"][r_idx], p[r_idx]))]
    vol = a["hi"][order]
    pg = p[order]
    cs = np.cumsum(vol)
    start = np.r_[True, pg[1:] != pg[:-1]] if pg.size else np.zeros(0, dtype=bool)
    gf = np.maximum.accumulate(np.where(start, np.arange(pg.size), 0)) if pg.size else np.zeros(0, dtype=np.int64)
    before = cs - vol - np.r_[0.0, cs][gf]
    cut = np.clip(c_k[pg] - before, 0.0, vol)
    return float(np.sum(a["w"][order] * (vol - cut)))


def _knee(exposure: np.ndarray, hhi: np.ndarray) -> np.ndarray:
    """Point farthest from the chord between the end points (axes scaled to their ranges)."""
    flag = np.zeros(exposure.shape[0], dtype=bool)
    if exposure.shape[0] < 3:
        return flag
    ex = exposure.max() - exposure.min()
    hy = np.nanmax(hhi) - np.nanmin(hhi)
    if ex <= 0 or hy <= 0:
        return flag
    u, v = (exposure - exposure.min()) / ex, (hhi - np.nanmin(hhi)) / hy
    du, dv = u[-1] - u[0], v[-1] - v[0]
    dist = np.abs(dv * (u - u[0]) - du * (v - v[0])) / max(np.hypot(du, dv), 1e-300)
    if dist.max() > 1e-9:
        flag[int(np.argmax(dist))] = True
    return flag


def plain_after(instance: Instance) -> np.ndarray:
    """Flows after the plain re-allocation with the default rules (proportional cut and spread)."""
    from optimize.analysis.binding import _x_after

    return _x_after(instance, None)


# ------------------------------------------------------------------ the frontier
def frontier_points(a: dict, exposure_levels: np.ndarray, *, rel_tol: float = 1e-10, max_iter: int = 200) -> list[np.ndarray]:
    """Min-HHI flows (kUSD) for each exposure level (kUSD) by bisection on theta."""
    total = float(a["total"].sum())
    x_free = _solve_theta(a, 0.0)
    e_free = _exposure(a, x_free)
    e_min = min_exposure_kusd(a)
    tol = rel_tol * max(total, 1.0)
    theta_hi = 1.0
    x_hi = _solve_theta(a, theta_hi)
    while _exposure(a, x_hi) > e_min + tol and theta_hi < 1e30:
        theta_hi *= 4.0
        x_hi = _solve_theta(a, theta_hi)
    out = []
    for e in exposure_levels:
        if e >= e_free - tol:
            out.append(x_free)
            continue
        if e <= e_min + tol:
            out.append(x_hi)
            continue
        lo, hi = 0.0, theta_hi
        x_best = x_hi
        for _ in range(max_iter):
            mid = 0.5 * (lo + hi)
            x = _solve_theta(a, mid)
            ex = _exposure(a, x)
            if ex > e:
                lo = mid
            else:
                hi, x_best = mid, x
                if e - ex <= tol:
                    break
        out.append(x_best)
    return out


def frontier(instance: Instance, *, n_points: int = 11, sectors: pd.DataFrame | None = None,
             allocation=None) -> pd.DataFrame:
    """Exposure-vs-concentration frontier for the basket ("all") and each sector.

    ``n_points`` exposure levels e evenly spaced from the plain run's minimum to today's
    exposure, plus the exposure of the unconstrained HHI minimum (``is_free_minimum``;
    above it the frontier is flat). ``sectors``: DataFrame[k, sector]. Columns: group,
    point (0 = minimum exposure), exposure_level_kusd (e), exposure_kusd (reached, <= e),
    exposure_share (of the group's imports), hhi (value-weighted mean HHI of the min-HHI
    allocation), is_knee (the point of hhi(e) farthest from the chord between the end
    points, both axes scaled to their ranges), and per group hhi_today,
    exposure_share_today, hhi_plain (after the plain re-allocation: ``allocation`` or the
    default proportional rules), n_products, n_hhi_rises (products whose HHI rises in
    the plain re-allocation).
    """
    if n_points < 2:
        raise ScenarioError(f"n_points={n_points}", field="n_points", fix="use at least 2 points")
    groups: list[tuple[str, np.ndarray | None]] = [("all", None)]
    if sectors is not None:
        smap = sectors.drop_duplicates("k").set_index("k")["sector"].astype(str)
        sec = pd.Series(np.asarray(instance.products)).map(smap).fillna("other").to_numpy()
        groups += [(str(s), sec == s) for s in sorted(pd.unique(sec))]
    x_plain_all = np.asarray(allocation.x_after_kusd, dtype=float) if allocation is not None else plain_after(instance)
    frames = []
    for name, mask in groups:
        a = _arrays(instance, mask)
        keep = np.ones(instance.n_pairs, dtype=bool) if mask is None else mask[instance.pair_product]
        x_plain = x_plain_all[keep]
        total = float(a["total"].sum())
        e_today = _exposure(a, a["x0"])
        e_min = min_exposure_kusd(a)
        e_free = _exposure(a, _solve_theta(a, 0.0))
        grid = np.linspace(e_min, e_today, n_points)
        levels = np.unique(np.r_[grid, e_free]) if e_min < e_free < e_today else grid
        xs = frontier_points(a, levels)
        ex = np.array([_exposure(a, x) for x in xs])
        hh = np.array([weighted_hhi(a["p"], x, a["total"]) for x in xs])
        h0 = product_hhi(a["p"], a["x0"], a["total"])
        h_plain = product_hhi(a["p"], x_plain, a["total"])
        frames.append(pd.DataFrame({
            "group": name,
            "point": np.arange(levels.shape[0]),
            "exposure_level_kusd": levels,
            "exposure_kusd": ex,
            "exposure_share": ex / total if total > 0 else np.nan,
            "hhi": hh,
            "is_knee": _knee(levels, hh),
            "is_free_minimum": np.isclose(levels, e_free, rtol=1e-12, atol=0.0),
            "hhi_today": weighted_hhi(a["p"], a["x0"], a["total"]),
            "exposure_share_today": e_today / total if total > 0 else np.nan,
            "hhi_plain": weighted_hhi(a["p"], x_plain, a["total"]),
            "n_products": int(a["total"].shape[0]),
            "n_hhi_rises": int(np.sum(h_plain > h0 + 1e-12)),
        }))
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------ coupled models: linear proxy
def frontier_coupled(instances: list[Instance], *, n_points: int = 11, joint: bool = False,
                     exporter_total_pp: float | None = None) -> pd.DataFrame:
    """Exposure-vs-concentration frontier when caps couple products or importers.

    Linear proxy solved with HiGHS: the concentration of product k is its largest supplier
    share m_k (x_e <= m_k T_k for every pair), minimised as sum_k (T_k/T) m_k subject to
    the engine's LP rows (``lp.build_lp``: totals, shared caps, exporter totals) and
    exposure sum w x <= e, for ``n_points`` levels e from the minimum exposure to today's.
    Columns: point, exposure_level_kusd, exposure_kusd, exposure_share, max_share (the
    value-weighted mean largest share, 0..1), hhi (of the LP's solution, vertex-dependent,
    for information), is_knee (on max_share).
    """
    import scipy.sparse as sp

    from optimize.model.lp import ROW_OBJECTIVE, LPArrays, build_lp
    from optimize.solve.highs import HighsModel

    if n_points < 2:
        raise ScenarioError(f"n_points={n_points}", field="n_points", fix="use at least 2 points")
    base = build_lp(instances, joint=joint, exporter_total_pp=exporter_total_pp)
    if np.any(base.col_pair < 0):
        raise ScenarioError("the frontier does not support export bans (products may end short)", field="ban",
                            fix="run the frontier without bans")
    n = base.n_cols
    prod_start = np.r_[0, np.cumsum([inst.n_products for inst in instances])]
    gprod = (prod_start[base.col_instance] + base.col_product).astype(np.int64)
    totals = np.concatenate([np.asarray(inst.total_kusd, dtype=float) for inst in instances])
    n_p = totals.shape[0]
    grand = float(totals.sum())
    w = base.c.copy()
    x0 = np.concatenate([np.asarray(inst.x0_kusd, dtype=float) for inst in instances])

    def solve(model: HighsModel) -> np.ndarray:
        sol = model.run()
        raise_for_status(sol.status, what="the frontier LP", detail=sol.info.message,
                         fix_infeasible="check the instance (the plain run must be feasible)",
                         fix="check the instance (the plain run must be feasible)")
        return sol.x

    x_min = solve(HighsModel(base, algorithm=None, verbose=False, label="frontier"))
    e_min = float(w @ x_min)
    e_today = float(w @ x0)

    a = sp.csr_matrix((base.data, base.indices, base.indptr), shape=(base.n_rows, n))
    share_rows = sp.hstack([sp.identity(n, format="csr"), sp.csr_matrix((-totals[gprod], (np.arange(n), gprod)),
                                                                          shape=(n, n_p))], format="csr")
    exp_row = sp.csr_matrix(np.r_[w, np.zeros(n_p)][None, :])
    aug = sp.vstack([sp.hstack([a, sp.csr_matrix((base.n_rows, n_p))], format="csr"), share_rows, exp_row],
                    format="csr")
    aug.sort_indices()
    lp = LPArrays(
        c=np.r_[np.zeros(n), totals / grand], col_lower=np.r_[base.col_lower, np.zeros(n_p)],
        col_upper=np.r_[base.col_upper, np.ones(n_p)], indptr=aug.indptr.astype(np.int32),
        indices=aug.indices.astype(np.int32), data=aug.data.astype(float),
        row_lower=np.r_[base.row_lower, np.full(n + 1, -np.inf)], row_upper=np.r_[base.row_upper, np.zeros(n), e_today],
        col_instance=np.r_[base.col_instance, np.zeros(n_p, dtype=np.int32)],
        col_pair=np.r_[base.col_pair, np.full(n_p, -1, dtype=np.int32)],
        col_product=np.r_[base.col_product, np.arange(n_p, dtype=np.int32)],
        row_kind=np.r_[base.row_kind, np.full(n + 1, ROW_OBJECTIVE, dtype=np.int8)],
        instance_col_start=base.instance_col_start,
    )
    model = HighsModel(lp, algorithm=None, verbose=False, label="frontier")
    exp_row_idx = base.n_rows + n
    levels = np.linspace(e_min, e_today, n_points)
    slack = 1e-9 * max(grand, 1.0)
    rows = []
    for e in levels:
        model.set_row_bounds([exp_row_idx], [-np.inf], [float(e) + slack])
        sol = solve(model)
        x = sol[:n]
        rows.append((float(w @ x), float(sol[n:] @ totals) / grand, weighted_hhi(gprod, x, totals)))
    ex, ms, hh = (np.array(v) for v in zip(*rows))
    return pd.DataFrame({
        "point": np.arange(n_points),
        "exposure_level_kusd": levels,
        "exposure_kusd": ex,
        "exposure_share": ex / grand if grand > 0 else np.nan,
        "max_share": ms,
        "hhi": hh,
        "is_knee": _knee(levels, ms),
        "joint": joint,
        "exporter_total_pp": exporter_total_pp,
    })
