"""The one metrics step: solved cells' ``CellTotals`` -> exposure and HHI per cell (and group).

- HHI of a product = sum of squared supplier shares = (sum of squared flows) / total**2
  (``hhi_of_sums``; ``hhi`` computes it from supplier values), 0..1, NaN without imports.
- Basket (or group) HHI = mean of product HHIs weighted by product totals
  (``weighted_hhi``; before totals for before, after totals for after).
- Exposure = risk imports per risk country and all risk (last column), USD, and their
  shares of the basket (before or after).

Run tables (``metrics.compute_tables``), batch rows, sweep rows and the frontier all
use these functions; nothing else computes an HHI or an exposure share.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimize.model.kernel import CellTotals
from optimize.model.mincost import group_shares
from optimize.units import kusd_to_usd


def hhi_of_sums(sumsq, total) -> np.ndarray:
    """HHI (0..1) from a group's sum of squared supplier values and its total (any one unit); NaN where
    the total is not positive."""
    total = np.asarray(total, dtype=float)
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, np.asarray(sumsq, dtype=float) / (safe * safe), np.nan)


def hhi(group: np.ndarray, x: np.ndarray, n_groups: int) -> np.ndarray:
    """(G,) Herfindahl-Hirschman index (0..1) of each group's supplier values ``x`` (any unit):
    the sum of squared shares of the group's total; NaN where the total is not positive.
    The one HHI of the package (metrics, frontier, screens, batch cells)."""
    g = np.asarray(group, dtype=np.int64)
    share, tot = group_shares(g, x, n_groups)  # shares first: no under/overflow
    return hhi_of_sums(np.bincount(g, weights=share * share, minlength=n_groups), (tot > 0).astype(float))


def _hhi_sums(hhi_k, total_k, group, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group: (sum of HHI * total, sum of total) over its products (NaN HHIs count as 0)."""
    t = np.asarray(total_k, dtype=float)
    g = np.zeros(t.shape[0], dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
    return (np.bincount(g, weights=np.nan_to_num(np.asarray(hhi_k, dtype=float)) * t, minlength=n_groups),
            np.bincount(g, weights=t, minlength=n_groups))


def _ratio(num, den) -> np.ndarray:
    return np.divide(num, den, out=np.full(np.shape(num), np.nan), where=np.asarray(den) > 0)


def weighted_hhi(hhi_k, total_k, group=None, n_groups: int = 1) -> np.ndarray:
    """(G,) mean of the product HHIs ``hhi_k`` weighted by the product totals ``total_k`` per group
    (``group``: each product's group, None = one group); NaN HHIs count as 0, NaN where no total.
    The one basket-weighted HHI (run tables, sector and stage tables, batch cells, frontier)."""
    return _ratio(*_hhi_sums(hhi_k, total_k, group, n_groups))


def shares(values, basket) -> np.ndarray:
    """``values`` / ``basket`` (broadcast over a last axis), NaN where the basket is not positive."""
    b = np.asarray(basket, dtype=float)
    safe = np.where(b > 0, b, np.nan)
    v = np.asarray(values, dtype=float)
    return v / (safe[:, None] if v.ndim == 2 else safe)


@dataclass(frozen=True)
class CellMetrics:
    """Per cell (or cell x group, index cell * n_groups + group): values USD, HHI and shares 0..1.

    ``risk_*_usd``: (n, R+1), per risk country in ``risk_codes`` order, then all risk. With priced
    totals (``CellTotals.cost_kusd``): ``cost_usd`` (n, 3) the CES cost central, low, high summed over the
    products with a finite estimate (high inf: some product has no finite high; (n, 1) central only when
    priced without the band) and ``cost_shifted_usd``
    the value shifted in those products (the coverage's numerator); else None.
    """

    risk_codes: tuple[int, ...]
    basket_before_usd: np.ndarray
    basket_after_usd: np.ndarray
    risk_before_usd: np.ndarray
    risk_after_usd: np.ndarray
    shifted_usd: np.ndarray
    hhi_before: np.ndarray
    hhi_after: np.ndarray
    n_products: np.ndarray
    cost_usd: np.ndarray | None = None
    cost_shifted_usd: np.ndarray | None = None

    @property
    def share_before(self) -> np.ndarray:
        return shares(self.risk_before_usd, self.basket_before_usd)

    @property
    def share_after(self) -> np.ndarray:
        return shares(self.risk_after_usd, self.basket_after_usd)


def cell_metrics(totals: CellTotals | Iterable[CellTotals], product_group=None, n_groups: int = 1) -> CellMetrics:
    """Exposure and HHI per cell (and per group of products: ``product_group[product]``) of ``totals``
    (one ``CellTotals`` or several over disjoint cells, e.g. a batch's layers and caps, summed as they come)."""
    parts = [totals] if isinstance(totals, CellTotals) else totals
    acc: dict[str, np.ndarray] = {}
    codes: tuple[int, ...] = ()
    for t in parts:
        codes = t.risk_codes
        g = t.cell * n_groups + (0 if product_group is None else np.asarray(product_group)[t.product])
        n = t.n_cells * n_groups

        def per(values, g=g, n=n):
            return np.bincount(g, weights=values, minlength=n)

        def risk(cols, per=per):
            return np.column_stack([per(cols[:, r]) for r in range(cols.shape[1])] + [per(cols.sum(axis=1))])

        t0, t1 = t.total_before_kusd, t.total_after_kusd
        h0, _ = _hhi_sums(hhi_of_sums(t.sumsq_before, t0), t0, g, n)
        h1, _ = _hhi_sums(hhi_of_sums(t.sumsq_after, t1), t1, g, n)
        for key, value in (("t0", per(t0)), ("t1", per(t1)), ("r0", risk(t.risk_before_kusd)),
                           ("r1", risk(t.risk_after_kusd)), ("shifted", per(t.shifted_kusd)), ("h0", h0),
                           ("h1", h1), ("n", per(np.ones(t0.shape[0])))):
            acc[key] = acc[key] + value if key in acc else value
        for key, value in _cost_sums(t, per).items():
            acc[key] = acc[key] + value if key in acc else value
    cost = "cost" in acc
    return CellMetrics(
        risk_codes=codes, basket_before_usd=kusd_to_usd(acc["t0"]), basket_after_usd=kusd_to_usd(acc["t1"]),
        risk_before_usd=kusd_to_usd(acc["r0"]), risk_after_usd=kusd_to_usd(acc["r1"]),
        shifted_usd=kusd_to_usd(acc["shifted"]), hhi_before=_ratio(acc["h0"], acc["t0"]),
        hhi_after=_ratio(acc["h1"], acc["t1"]), n_products=acc["n"].astype(np.int64),
        cost_usd=kusd_to_usd(acc["cost"]) if cost else None,
        cost_shifted_usd=kusd_to_usd(acc["cost_shifted"]) if cost else None)


def _cost_sums(t: CellTotals, per) -> dict[str, np.ndarray]:
    """Per cell of a priced part (none when unpriced): the cost columns (central, low, high) and the
    shifted value over its products with a finite central estimate, as the run's cost block sums them."""
    if t.cost_kusd is None:
        return {}
    c = np.asarray(t.cost_kusd, dtype=float)
    has = np.isfinite(c[:, 0])
    cols = [per(np.where(has, c[:, 0], 0.0))]
    if c.shape[1] == 3:  # low: NaN as 0 (nansum); high: not finite as inf (no finite bound)
        cols += [per(np.where(has & ~np.isnan(c[:, 1]), c[:, 1], 0.0)),
                 per(np.where(has, np.where(np.isfinite(c[:, 2]), c[:, 2], np.inf), 0.0))]
    return {"cost": np.column_stack(cols), "cost_shifted": per(np.where(has, t.shifted_kusd, 0.0))}


def long_table(m: CellMetrics, labels) -> pd.DataFrame:
    """One row per (cell, risk country then all risk): ``cell``, ``risk`` (``labels``, R+1 of them),
    before/after USD, shares 0..1, and the cell's shifted_usd, HHIs, basket_usd and n_products; priced
    metrics also the cell's cost_usd, cost_pct (% of the basket) and cost_coverage (share of the value
    shifted in products with a finite estimate; NaN: nothing shifted), as the run's cost block."""
    n, rep = m.basket_before_usd.shape[0], len(labels)
    cell = np.repeat(np.arange(n), rep)
    cost = {} if m.cost_usd is None else {
        "cost_usd": m.cost_usd[cell, 0], "cost_pct": (_ratio(m.cost_usd[:, 0], m.basket_before_usd) * 100.0)[cell],
        "cost_coverage": _ratio(m.cost_shifted_usd, m.shifted_usd)[cell]}
    return pd.DataFrame({
        "cell": cell, "risk": np.tile(np.asarray(labels, dtype=object), n),
        "share_before": m.share_before.ravel(), "share_after": m.share_after.ravel(),
        "before_usd": m.risk_before_usd.ravel(), "after_usd": m.risk_after_usd.ravel(),
        "shifted_usd": m.shifted_usd[cell], "hhi_before": m.hhi_before[cell], "hhi_after": m.hhi_after[cell],
        "basket_usd": m.basket_before_usd[cell], "n_products": m.n_products[cell], **cost})
