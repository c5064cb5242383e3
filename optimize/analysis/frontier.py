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

from optimize.analysis.exposure import hhi, weighted_hhi
from optimize.errors import ScenarioError
from optimize.model.instance import Instance
from optimize.model.lp import closed_form
from optimize.model.tiebreak import water_fill
from optimize.solve.status import raise_for_status
from optimize.units import USD_PER_KUSD


# ------------------------------------------------------------------ helpers on an instance
def _arrays(instance: Instance, mask_products: np.ndarray | None = None, x_min: np.ndarray | None = None) -> dict:
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
        "hi": np.maximum(np.asarray(instance.upper_kusd, dtype=float)[keep],
                         np.asarray(instance.lower(), dtype=float)[keep]),
        "x0": np.asarray(instance.x0_kusd, dtype=float)[keep],
        "world": np.asarray(instance.world_exports_kusd, dtype=float)[keep],
        "old": old,
        # a minimum-exposure allocation: the plain run's closed form
        "x_min": (closed_form(instance) if x_min is None else x_min)[keep],
        "risk": risk,
        "w": w,
    }


def _basket_hhi(p: np.ndarray, x: np.ndarray, total: np.ndarray) -> float:
    """Value-weighted mean HHI of flows ``x`` (``exposure.weighted_hhi`` of the product HHIs)."""
    return float(weighted_hhi(hhi(p, x, total.shape[0]), total)[0])


def _solve_theta(a: dict, theta: float) -> np.ndarray:
    shift = theta * a["total"][a["p"]] * a["w"]
    return water_fill(a["p"], a["lo"], a["hi"], a["total"], shift=shift)


def _exposure(a: dict, x: np.ndarray) -> float:
    return float(np.sum(a["w"] * x))


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


# ------------------------------------------------------------------ the frontier
def frontier_points(a: dict, exposure_levels: np.ndarray, *, rel_tol: float = 1e-10,
                    max_iter: int = 200) -> list[np.ndarray]:
    """Min-HHI flows (kUSD) for each exposure level (kUSD) by bisection on theta."""
    total = float(a["total"].sum())
    x_free = _solve_theta(a, 0.0)
    e_free = _exposure(a, x_free)
    e_min = _exposure(a, a["x_min"])
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


def _cost_usd(a: dict, x: np.ndarray, sigma: np.ndarray | None, lam: float) -> float:
    """CES cost (USD) of flows ``x`` of the group ``a`` (``armington.cost_share``); NaN without sigma."""
    if sigma is None:
        return float("nan")
    from optimize.analysis.armington import PairArrays, cost_share

    pa = PairArrays(a["p"], a["x0"], x, a["risk"], a["world"], int(a["total"].shape[0]))
    share = cost_share(pa, np.asarray(sigma, dtype=float)[a["old"]], lam)
    return float(np.sum(share * a["total"]) * USD_PER_KUSD)


def _cost_min(a: dict, levels: np.ndarray, e_min: float, sigma: np.ndarray | None, lam: float) -> np.ndarray:
    """The lowest CES cost (USD) reaching each exposure level (``costfrontier``); NaN without every sigma."""
    sig = None if sigma is None else np.asarray(sigma, dtype=float)[a["old"]]
    if sig is None or not (np.isfinite(sig) & (sig > 0)).all():
        return np.full(levels.shape[0], np.nan)
    from optimize.analysis import costfrontier

    c = costfrontier.prepare(a["p"], a["x0"], a["lo"], a["hi"], a["w"], a["world"], a["total"], sig, lam)
    return np.array([_cost_usd(a, x, sigma, lam) for x in costfrontier.min_cost_flows(c, levels, e_min)])


def frontier(instance: Instance, *, n_points: int = 11, sectors: pd.DataFrame | None = None,
             allocation=None, sigma: np.ndarray | None = None, prior_lambda: float = 0.1) -> pd.DataFrame:
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
    the plain re-allocation); with ``sigma`` (P,) per product also cost_usd (the CES cost of the
    point's min-HHI allocation, docs/cost.md), cost_min_usd (group "all": the lowest CES cost reaching
    the level, the exposure-cost frontier, ``costfrontier``) and cost_plain_usd (of the plain re-allocation).
    """
    if n_points < 2:
        raise ScenarioError(f"n_points={n_points}", field="n_points", fix="use at least 2 points")
    groups: list[tuple[str, np.ndarray | None]] = [("all", None)]
    if sectors is not None:
        smap = sectors.drop_duplicates("k").set_index("k")["sector"].astype(str)
        sec = pd.Series(np.asarray(instance.products)).map(smap).fillna("other").to_numpy()
        groups += [(str(s), sec == s) for s in sorted(pd.unique(sec))]
    x_closed = closed_form(instance)  # the plain re-allocation, default rules
    x_plain_all = np.asarray(allocation.x_after_kusd, dtype=float) if allocation is not None else x_closed
    frames = []
    for name, mask in groups:
        a = _arrays(instance, mask, x_closed)
        keep = np.ones(instance.n_pairs, dtype=bool) if mask is None else mask[instance.pair_product]
        x_plain = x_plain_all[keep]
        total = float(a["total"].sum())
        e_today = _exposure(a, a["x0"])
        e_min = _exposure(a, a["x_min"])
        e_free = _exposure(a, _solve_theta(a, 0.0))
        grid = np.linspace(e_min, e_today, n_points)
        levels = np.unique(np.r_[grid, e_free]) if e_min < e_free < e_today else grid
        xs = frontier_points(a, levels)
        ex = np.array([_exposure(a, x) for x in xs])
        hh = np.array([_basket_hhi(a["p"], x, a["total"]) for x in xs])
        n_p = a["total"].shape[0]
        h0, h_plain = hhi(a["p"], a["x0"], n_p), hhi(a["p"], x_plain, n_p)
        frames.append(pd.DataFrame({
            "group": name,
            "point": np.arange(levels.shape[0]),
            "exposure_level_kusd": levels,
            "exposure_kusd": ex,
            "exposure_share": ex / total if total > 0 else np.nan,
            "hhi": hh,
            "is_knee": _knee(levels, hh),
            "is_free_minimum": np.isclose(levels, e_free, rtol=1e-12, atol=0.0),
            "hhi_today": _basket_hhi(a["p"], a["x0"], a["total"]),
            "exposure_share_today": e_today / total if total > 0 else np.nan,
            "hhi_plain": _basket_hhi(a["p"], x_plain, a["total"]),
            "n_products": int(a["total"].shape[0]),
            "n_hhi_rises": int(np.sum(h_plain > h0 + 1e-12)),
            "cost_usd": [_cost_usd(a, x, sigma, prior_lambda) for x in xs],
            "cost_min_usd": _cost_min(a, levels, e_min, sigma if name == "all" else None, prior_lambda),
            "cost_plain_usd": _cost_usd(a, x_plain, sigma, prior_lambda),
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
        rows.append((float(w @ x), float(sol[n:] @ totals) / grand, _basket_hhi(gprod, x, totals)))
    ex, ms, hh = (np.array(v) for v in zip(*rows, strict=True))
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
