"""CES (Armington) cost of a re-allocation per product and in total (USD; docs/cost.md).

Per product k with value V (today's imports, kUSD), baseline shares s = x0 / V and shares
after s' = x / sum x, the shares are first smoothed with the new-supplier prior
(``ces.blend_prior``, weight ``lam`` on world-export shares), then priced with
``ces.ces_cost_share`` at the product's sigma: cost_usd = V_after * cost/V. A product with
sigma <= 1 that cuts a supplier to zero has no finite estimate (NaN, reason in ``cost_note``).
Low/high: the same allocation at (sigma_high, lam_high) and (sigma_low, lam_low).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimize.analysis.ces import ces_cost_share, tariff_equivalent
from optimize.model.mincost import blend, group_shares, world_prior
from optimize.model.pairflows import PairArrays
from optimize.units import USD_PER_KUSD

#: New-supplier prior weight lam: central and (low-cost, high-cost) band values.
PRIOR_LAMBDA = 0.1
PRIOR_LAMBDA_BAND = (0.2, 0.05)
NO_FINITE = "sigma <= 1 and a supplier cut to zero: no finite estimate"
NO_SIGMA = "no sigma"
NO_TAU = "risk suppliers cut to zero: no finite tariff equivalent"


@dataclass(frozen=True)
class Shares:
    """Within-product shares of one allocation, computed once for every cost pass (kUSD totals): today's
    ``s0`` and totals ``v0``, after ``s1`` and ``v1`` (negative flows as 0), the world-export ``prior``
    (``mincost.world_prior``) and the products where a supplier is cut to zero (``cut``)."""

    s0: np.ndarray
    v0: np.ndarray
    s1: np.ndarray
    v1: np.ndarray
    prior: tuple[np.ndarray, np.ndarray]
    cut: np.ndarray

    @classmethod
    def of(cls, pa: PairArrays) -> "Shares":
        g, n = pa.group, pa.n_groups
        s0, v0 = group_shares(g, pa.x0, n)
        s1, v1 = group_shares(g, np.maximum(pa.x1, 0.0), n)
        cut = np.bincount(g, weights=((s0 > 0) & (s1 <= 0)).astype(float), minlength=n) > 0
        return cls(s0=s0, v0=v0, s1=s1, v1=v1, prior=world_prior(g, pa.world, n), cut=cut)


def cost_share(pa: PairArrays, sigma: np.ndarray, lam: float, shares: Shares | None = None) -> np.ndarray:
    """(G,) cost / V of each product at ``sigma`` (G,) and prior weight ``lam``; NaN without sigma or
    without a finite estimate (sigma <= 1 and a supplier cut to zero), 0 without imports. ``shares``:
    ``Shares.of(pa)`` when several passes share it."""
    g, n = pa.group, pa.n_groups
    sh = shares if shares is not None else Shares.of(pa)
    sig = np.asarray(sigma, dtype=float)
    ok_sig = np.isfinite(sig) & (sig > 0)
    out = ces_cost_share(g, blend(g, sh.s0, sh.prior, lam), blend(g, sh.s1, sh.prior, lam),
                         np.where(ok_sig, sig, 1.0), n)
    out = np.where(ok_sig & ~(sh.cut & (sig <= 1)), out, np.nan)
    return np.where(sh.v0 > 0, out, 0.0)


def cost_passes(pa: PairArrays, sigma: np.ndarray, lam: float, band: tuple | None = None,
                lam_band: tuple[float, float] = PRIOR_LAMBDA_BAND, shares: Shares | None = None) -> list[np.ndarray]:
    """[(G,) central cost / V] at (``sigma``, ``lam``), and with ``band`` = (sigma_low, sigma_high) also the
    low at (sigma_high, lam_band[0]) and the high at (sigma_low, lam_band[1]); one ``Shares`` for all."""
    sh = shares if shares is not None else Shares.of(pa)
    out = [cost_share(pa, sigma, lam, sh)]
    if band is not None:
        out += [cost_share(pa, band[1], lam_band[0], sh), cost_share(pa, band[0], lam_band[1], sh)]
    return out


def product_cost(pa: PairArrays, sigmas: pd.DataFrame, lam: float = PRIOR_LAMBDA,
                 lam_band: tuple[float, float] = PRIOR_LAMBDA_BAND) -> pd.DataFrame:
    """Per product (rows in instance order): sigma, sigma_source, cost_usd, cost_pct (% of the
    product's imports), tariff_equivalent (0.196 = 19.6 %), cost_low_usd, cost_high_usd, cost_note.
    ``sigmas``: DataFrame[sigma, sigma_low, sigma_high, sigma_source] in the same product order."""
    g, n = pa.group, pa.n_groups
    sh = Shares.of(pa)  # the three passes (central, low, high) share the baseline and the prior
    sig = sigmas["sigma"].to_numpy(dtype=float)
    v_after = sh.v1 * USD_PER_KUSD
    central, low, high = cost_passes(pa, sig, lam, (sigmas["sigma_low"].to_numpy(dtype=float),
                                                    sigmas["sigma_high"].to_numpy(dtype=float)), lam_band, sh)
    r0 = np.bincount(g, weights=np.where(pa.is_risk, pa.x0, 0.0), minlength=n)
    r1 = np.bincount(g, weights=np.where(pa.is_risk, np.maximum(pa.x1, 0.0), 0.0), minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = tariff_equivalent(r0 / sh.v0, r1 / sh.v1, np.where(np.isfinite(sig), sig, 1.0))
    note = np.where(~np.isfinite(sig), NO_SIGMA, np.where(np.isnan(central), NO_FINITE,
                                                          np.where((r0 > 0) & (r1 <= 0), NO_TAU, "")))
    return pd.DataFrame({
        "sigma": sig, "sigma_source": sigmas["sigma_source"].to_numpy(),
        "cost_usd": central * v_after, "cost_pct": central * 100.0,
        "tariff_equivalent": np.where((r1 < r0) & np.isfinite(tau), tau, np.nan),
        "cost_low_usd": low * v_after, "cost_high_usd": high * v_after, "cost_note": note.astype(object),
    })


def cost_summary(products: pd.DataFrame, lam: float = PRIOR_LAMBDA, method: str = "ces") -> dict:
    """The summary.json ``cost`` block from a products table with ``cost_*`` and ``shifted_usd`` columns
    (USD): totals over products with a finite estimate; coverage = share of the shifted value they hold."""
    cost = products["cost_usd"].to_numpy(dtype=float)
    shifted = products["shifted_usd"].to_numpy(dtype=float)
    has = np.isfinite(cost)
    high = products["cost_high_usd"].to_numpy(dtype=float)
    tot_shift = float(shifted.sum())
    basket = float(products["total_usd"].sum())
    total = float(cost[has].sum())
    return {
        "method": method,
        "total_usd": total,
        "pct_of_basket": total / basket * 100.0 if basket > 0 else None,
        "low_usd": float(np.nansum(products["cost_low_usd"].to_numpy(dtype=float)[has])),
        "high_usd": float(high[has].sum()) if np.isfinite(high[has]).all() else None,  # None: no finite bound
        "coverage": float(shifted[has].sum() / tot_shift) if tot_shift > 0 else None,
        "prior_lambda": lam,
        "n_no_estimate": int((~has & (shifted > 0)).sum()),
        "sigma_sources": {str(k): int(v) for k, v in products["sigma_source"].value_counts().sort_index().items()},
    }


def _group_costs(products: pd.DataFrame, group: pd.DataFrame, key: str) -> pd.DataFrame:
    """``group`` (by_sector / by_stage) with cost_usd, cost_low_usd, cost_high_usd summed over its products
    (NaN where a product has no finite estimate: the sum would hide it)."""
    cols = ["cost_usd", "cost_low_usd", "cost_high_usd"]
    sums = products.groupby(key)[cols].sum(min_count=1)
    bad = products[cols].isna().groupby(products[key]).any()
    sums = sums.mask(bad)
    return group.join(sums, on=key)


def attach(tables, pa: PairArrays, sigmas: pd.DataFrame, lam: float = PRIOR_LAMBDA, method: str = "ces",
           unit_value: pd.DataFrame | None = None) -> None:
    """Add the cost to a run's tables (in place): products columns (``product_cost``), sector and
    stage sums, and ``tables.cost`` (the summary.json block, ``cost_summary``). ``method``
    "unit-value": the cost columns come from ``unit_value`` (``cost.unit_value_columns``, same
    product order); sigma and sigma_source stay, for information."""
    per = product_cost(pa, sigmas.reset_index(drop=True), lam)
    if method == "unit-value":
        for c in unit_value.columns:
            per[c] = unit_value[c].to_numpy()
    for c in per.columns:
        tables.products[c] = per[c].to_numpy()
    tables.by_sector = _group_costs(tables.products, tables.by_sector, "sector")
    tables.by_stage = _group_costs(tables.products, tables.by_stage, "stage")
    tables.cost = cost_summary(tables.products, lam, method)
