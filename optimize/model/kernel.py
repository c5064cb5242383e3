"""One kernel, two backends behind one interface, one result type.

Backends (each declares what it ``supports`` against a cell's ``Features``):

- ``CLOSED_FORM``: the separable model's exact optimum for every importer and cap of a
  year at once, in arrays (``model.batched``); plain models only (see ``supports``).
- ``LP``: the exposure LP solved by HiGHS (Pyomo as cross-check) through ``engine``;
  every model. Capabilities: non-risk columns merged per product (``merges``) and a
  warm start over bound changes (``warm_start``, ``engine.WarmStart``).

Both give ``CellTotals``: per (cell, product) the totals before and after, risk
imports before and after per risk country, sums of squared supplier flows and the
shifted imports (kUSD). ``analysis.metrics`` turns them into exposure and HHI.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimize.config.resolve import Features
from optimize.model.pairflows import PairArrays


@dataclass(frozen=True)
class CellTotals:
    """Per (cell, product) totals of solved cells, kUSD (squares in kUSD**2); rows in any order.

    ``cell``: the cell index (0..``n_cells``-1); ``product``: the product index of the
    caller's product list; ``risk_*_kusd``: (n, R) per risk country in ``risk_codes``
    order (their sum is all risk imports). ``pairs``: every supplier's flow before and after, group = row
    (``solve_block(pairs=True)``); ``cost_kusd``: (n, 3) CES cost central, low, high per row (NaN: no
    finite estimate; ``analysis.batchcost``).
    """

    n_cells: int
    risk_codes: tuple[int, ...]
    cell: np.ndarray
    product: np.ndarray
    total_before_kusd: np.ndarray
    total_after_kusd: np.ndarray
    risk_before_kusd: np.ndarray
    risk_after_kusd: np.ndarray
    sumsq_before: np.ndarray
    sumsq_after: np.ndarray
    shifted_kusd: np.ndarray
    pairs: PairArrays | None = None
    cost_kusd: np.ndarray | None = None


class ClosedFormBackend:
    """The batched closed form (``model.batched.solve_block``): importers x caps of one year in arrays."""

    name = "closed-form"

    def supports(self, f: Features) -> bool:
        """Separable, proportional spread and risk split, one weight per risk country, no bans, share
        limits, friends lists, cap overrides or intra-bloc exclusion."""
        return (not f.coupled and f.spread == "proportional" and f.risk_split in ("proportional", "weights")
                and not (f.risk_weights or f.share_limit or f.cap_overrides or f.ban or f.friends
                         or f.intra_bloc_excluded or f.self_supply))


class LPBackend:
    """The exposure LP (``engine.reallocate``): every model."""

    name = "lp"

    def supports(self, f: Features) -> bool:
        return True

    def merges(self, f: Features, joint_importers: int = 1) -> bool:
        """Non-risk columns may be merged per product (``lp.merge_nonrisk``, exact): HiGHS, a separable
        model (no coupling rows) and a tie-break that spreads the merged value."""
        return f.backend == "highs" and f.spread != "vertex" and not f.coupled and joint_importers <= 1

    def warm_start(self, f: Features) -> bool:
        """One HiGHS model re-solved after bound changes gives each cap's exact result (``engine.WarmStart``):
        the merged LP without a share limit (its infeasible products change the bounds per cap)."""
        return self.merges(f) and not f.share_limit


CLOSED_FORM = ClosedFormBackend()
LP = LPBackend()


def totals_of(instance, x_after_kusd: np.ndarray, cell: int = 0, n_cells: int = 1) -> CellTotals:
    """``CellTotals`` of one solved instance (flows after ``x_after_kusd``, kUSD, pair order)."""
    p = np.asarray(instance.pair_product, dtype=np.int64)
    n_prod = instance.n_products
    x0 = np.asarray(instance.x0_kusd, dtype=float)
    x1 = np.asarray(x_after_kusd, dtype=float)
    risk = np.asarray(instance.is_risk, dtype=bool)
    codes = tuple(sorted({int(c) for c in instance.risk_codes}))
    exporter = np.asarray(instance.pair_exporter, dtype=np.int64)

    def psum(values):
        return np.bincount(p, weights=values, minlength=n_prod)

    def per_risk(x):
        return np.column_stack([psum(np.where(risk & (exporter == c), x, 0.0)) for c in codes]) if codes \
            else np.zeros((n_prod, 0))

    return CellTotals(n_cells=n_cells, risk_codes=codes, cell=np.full(n_prod, cell, dtype=np.int64),
                      product=np.arange(n_prod, dtype=np.int64), total_before_kusd=psum(x0),
                      total_after_kusd=psum(x1), risk_before_kusd=per_risk(x0), risk_after_kusd=per_risk(x1),
                      sumsq_before=psum(x0 * x0), sumsq_after=psum(x1 * x1),
                      shifted_kusd=psum(np.where(risk, 0.0, np.maximum(x1 - x0, 0.0))))
