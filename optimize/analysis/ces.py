"""CES (Armington) cost of moving supplier shares, per product (pure, vectorised; docs/cost.md).

An importer buys one HS6 product from suppliers e with CES preferences of elasticity of
substitution sigma > 0 and taste weights equal to its baseline expenditure shares s (supplier
prices normalised to 1, so the baseline is optimal). Spending the same value V on shares s'
buys less CES quantity; the extra spending that restores it, as a share of V, is

    cost / V = [ sum_e s_e^(1/sigma) s'_e^((sigma-1)/sigma) ]^(sigma/(1-sigma)) - 1
             = 1 / M_r(s'/s; s) - 1,   r = 1 - 1/sigma,

M_r being the s-weighted power mean of order r of s'_e/s_e (over s_e > 0). Power means rise
with r, so the cost is >= 0, 0 when s' = s, and falls as sigma rises; sigma -> 1 gives
exp(sum_e s_e ln(s_e/s'_e)) - 1. With sigma <= 1 a supplier cut to zero makes it infinite
("no finite estimate"). All arrays are per pair (N,) with a group (product) index; results (G,).
"""
from __future__ import annotations

import numpy as np

from optimize.model.mincost import blend_prior  # noqa: F401  (the new-supplier prior, one copy)

#: |1 - 1/sigma| below this is treated as sigma = 1 (the Cobb-Douglas limit).
_R_TOL = 1e-12


def _group_max(group: np.ndarray, v: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.full(n_groups, -np.inf)
    np.maximum.at(out, group, v)
    return out


def log_power_mean(group: np.ndarray, s: np.ndarray, s_after: np.ndarray, sigma: np.ndarray,
                   n_groups: int) -> np.ndarray:
    """(G,) ln M_r(s'/s; s), r = 1 - 1/sigma per group; -inf where it is 0 (a cut supplier, sigma <= 1)."""
    g = np.asarray(group, dtype=np.int64)
    s = np.asarray(s, dtype=float)
    s1 = np.asarray(s_after, dtype=float)
    r = 1.0 - 1.0 / np.asarray(sigma, dtype=float)
    on = s > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(on, np.log(s1) - np.log(np.where(on, s, 1.0)), 0.0)  # ln(s'/s); -inf when s' = 0
    rg = r[g]
    cd = np.abs(r) < _R_TOL
    with np.errstate(invalid="ignore"):
        geo = np.bincount(g, weights=np.where(on & cd[g], s * t, 0.0), minlength=n_groups)  # sigma = 1
        a = np.where(on & ~cd[g], rg * t, -np.inf)
    m = _group_max(g, a, n_groups)
    m_safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        e = np.where(on & ~cd[g], s * np.exp(a - m_safe[g]), 0.0)
        lse = m_safe + np.log(np.bincount(g, weights=e, minlength=n_groups))
    lse = np.where(m == np.inf, np.inf, lse)
    with np.errstate(divide="ignore", invalid="ignore"):
        pm = np.where(cd, geo, lse / np.where(cd, 1.0, r))
    return pm


def ces_cost_share(group: np.ndarray, s: np.ndarray, s_after: np.ndarray, sigma: np.ndarray,
                   n_groups: int) -> np.ndarray:
    """(G,) extra spending / V that keeps the CES quantity when shares move from s to s' (each
    summing to 1 per group; sigma (G,) > 0). inf = no finite estimate (sigma <= 1, a supplier cut to 0)."""
    sig = np.asarray(sigma, dtype=float)
    if np.any(~(sig > 0)):
        raise ValueError("sigma must be > 0 for every group")
    lpm = log_power_mean(group, s, s_after, sig, n_groups)
    with np.errstate(over="ignore"):
        out = np.expm1(-lpm)
    return np.maximum(out, 0.0)  # rounding only: the power mean of s'/s never exceeds 1


def tariff_equivalent(risk_share: np.ndarray, risk_share_after: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """(G,) uniform price wedge tau on the risk set R that moves its share from S_R to S'_R under CES:
    tau = [S'_R (1 - S_R) / (S_R (1 - S'_R))]^(1/(1-sigma)) - 1 (0.196 = 19.6 %). NaN where S_R is 0 or 1
    or sigma = 1 (shares do not respond to prices); inf when S'_R = 0 and sigma > 1."""
    s0 = np.asarray(risk_share, dtype=float)
    s1 = np.asarray(risk_share_after, dtype=float)
    sig = np.asarray(sigma, dtype=float)
    ok = (s0 > 0) & (s0 < 1) & (np.abs(sig - 1.0) > _R_TOL) & (s1 < 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_ratio = np.log(s1) + np.log1p(-s0) - np.log(s0) - np.log1p(-s1)
        tau = np.expm1(log_ratio / (1.0 - sig))
    return np.where(ok, tau, np.nan)
