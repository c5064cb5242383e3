"""One importer's re-allocation problem as flat arrays (no pandas downstream).

An ``Instance`` lists every (product, exporter) *pair* that may carry imports of
the importer (set) J: pairs trading with J today, and pairs whose exporter sells
the product elsewhere (existing capacity) and may become a supplier. Pairs are
sorted by (product code, exporter code), so results never depend on input row
order. All values are thousands of USD (kUSD), as in BACI.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class CapRule:
    """Extra supply an alternative exporter may add, in percentage points.

    ``basis``: "world-exports" (default; p% of e's exports of k to all
    destinations), "importer-market" (p% of J's total imports of k) or
    "rest-of-world" (p% of e's exports of k outside J). In every basis the extra
    is also limited to e's exports of k outside J (no production increase).
    Overrides: per exporter (BACI code -> pp) and per product (hs6 -> pp); a
    product override wins over an exporter override.
    """

    pp: float = 5.0
    basis: str = "world-exports"
    exporter_pp: dict[int, float] = field(default_factory=dict)
    product_pp: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Instance:
    """Arrays of one importer (set) for one year. N pairs, P products.

    Pairs are sorted by (product, exporter). ``pair_product`` indexes
    ``products``; ``pair_exporter`` holds BACI exporter codes.
    """

    importer: str  # label, e.g. "EU27" or "NLD"
    importer_codes: tuple[int, ...]  # BACI codes summed into the importer
    year: int
    risk_codes: tuple[int, ...]  # BACI codes of the risk countries
    products: np.ndarray  # (P,) str, HS6 codes, sorted
    total_kusd: np.ndarray  # (P,) J's imports of each product today (kept fixed)
    pair_product: np.ndarray  # (N,) int32 index into products
    pair_exporter: np.ndarray  # (N,) int32 BACI exporter code
    x0_kusd: np.ndarray  # (N,) imports today
    cap_kusd: np.ndarray  # (N,) extra supply allowed (0 for risk pairs)
    upper_kusd: np.ndarray  # (N,) upper bound of x after (x0 for risk, x0+cap for alternatives; lower under bans/share limits)
    is_risk: np.ndarray  # (N,) bool
    risk_weight: np.ndarray  # (N,) objective weight w[r] (0 for alternatives)
    world_exports_kusd: np.ndarray  # (N,) e's exports of k to every destination
    row_exports_kusd: np.ndarray  # (N,) e's exports of k to destinations outside J
    x0_tonnes: np.ndarray  # (N,) quantity of today's flow, NaN when missing
    world_tonnes: np.ndarray  # (N,) e's world export quantity of k, NaN when unknown
    shortfall_allowed: np.ndarray | None = None  # (P,) bool: product may end short of its total (export bans)
    meta: dict = field(default_factory=dict)

    @property
    def n_pairs(self) -> int:
        return int(self.x0_kusd.shape[0])

    @property
    def n_products(self) -> int:
        return int(self.products.shape[0])
