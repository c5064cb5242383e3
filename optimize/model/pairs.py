"""The candidate (product, exporter) pairs of one importer set J, summed from a year's rows in one pass.

Every sum is one ``np.bincount`` over the dense key (product index, exporter code) of the
year's arrays (``yeararrays.YearArrays``: the HS6 index is built once per year), in row
order, so pairs come out sorted by (product, exporter) whatever the input order. kUSD and tonnes.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cached_property

import numpy as np
import pandas as pd

from optimize.model.yeararrays import YearArrays, year_arrays


def in_codes(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``np.isin(values, codes)`` for country codes, by a lookup table when every value is a non-negative int."""
    if values.shape[0] == 0 or values.min() < 0 or (codes.shape[0] and codes.min() < 0):
        return np.isin(values, codes)
    lut = np.zeros(int(max(values.max(), codes.max(initial=0))) + 1, dtype=bool)
    lut[codes] = True
    return lut[values]


@dataclass(frozen=True)
class Pairs:
    """Candidate (product, exporter) pairs sorted by (product, exporter): ``kpos`` indexes the year's
    HS6 codes; sums over the year's rows in kUSD and tonnes (NaN where no row has a quantity)."""

    kpos: np.ndarray
    exporter: np.ndarray  # BACI codes (int64)
    world_kusd: np.ndarray  # e's exports of k to every destination
    world_tonnes: np.ndarray
    x0_kusd: np.ndarray  # J's counted imports today
    x0_tonnes: np.ndarray
    into_j_kusd: np.ndarray  # e's exports of k into J (counted or not)

    def take(self, keep: np.ndarray) -> "Pairs":
        return Pairs(**{f.name: getattr(self, f.name)[keep] for f in fields(self)})

    @cached_property
    def row_kusd(self) -> np.ndarray:
        """e's exports of k to destinations outside J (kUSD)."""
        return np.maximum(self.world_kusd - self.into_j_kusd, 0.0)


def year_rows(flows: pd.DataFrame | YearArrays, year: int) -> YearArrays:
    """``flows``' rows of ``year`` as ``YearArrays`` with tonnes (``YearArrays`` are one year's rows already)."""
    if isinstance(flows, YearArrays):
        return flows
    in_year = flows["t"].to_numpy() == year
    return year_arrays(flows if in_year.all() else flows.loc[in_year], tonnes=True)


def requested_rows(rows: YearArrays, requested: list[str] | None) -> YearArrays:
    """The rows of the ``requested`` HS6 codes (None: all); ``hs6`` stays the year's."""
    if requested is None:
        return rows
    asked = np.isin(rows.hs6, requested)  # per distinct code, then per row
    if asked.all():
        return rows
    keep = asked[rows.kidx]
    return replace(rows, i=rows.i[keep], j=rows.j[keep], kidx=rows.kidx[keep], v=rows.v[keep],
                   q=None if rows.q is None else rows.q[keep])


def pair_sums(rows: YearArrays, to_j: np.ndarray, counted: np.ndarray) -> Pairs:
    """Every (k, i) with world exports > 0, sorted by (k, i): the year's sums (``rows.cells``, built once)
    and sums (``np.bincount``, in row order) over the rows into J (``to_j``) and J's counted imports
    (``counted``; the same array as ``to_j`` when every flow into J counts)."""
    cells = rows.cells
    q = np.full(rows.v.shape[0], np.nan) if rows.q is None else rows.q
    into_j = cells.total(to_j, rows.v)
    return Pairs(kpos=cells.key // cells.m, exporter=(cells.key % cells.m).astype(np.int64),
                 world_kusd=cells.world_kusd, world_tonnes=cells.world_tonnes,
                 x0_kusd=into_j if counted is to_j else cells.total(counted, rows.v),
                 x0_tonnes=cells.tonnes(counted, q), into_j_kusd=into_j)


def candidate_pairs(rows: YearArrays, requested: list[str] | None, j_codes: np.ndarray, r_codes: np.ndarray,
                    exclude_intra: bool, member_alt: bool) -> Pairs:
    """``pair_sums`` of the ``requested`` products (None: all) for importer set J (``j_codes``): every
    (k, i) with world exports; ``exclude_intra``: flows between members of J are not counted; without
    ``member_alt`` members of J that are not risk countries (``r_codes``) and do not supply J today are
    not pairs at all."""
    rows = requested_rows(rows, requested)
    to_j = in_codes(rows.j, j_codes)
    counted = to_j & ~in_codes(rows.i, j_codes) if exclude_intra else to_j
    pairs = pair_sums(rows, to_j, counted)
    if member_alt:
        return pairs
    idle_member = in_codes(pairs.exporter, j_codes) & ~in_codes(pairs.exporter, r_codes) & (pairs.x0_kusd <= 0)
    return pairs.take(~idle_member)  # members of J that may not supply J and do not today: not pairs at all


@dataclass(frozen=True)
class Market:
    """J's products (imports T > 0, HS6 codes sorted), each pair's index into them and T (kUSD)."""

    products: np.ndarray
    pair_product: np.ndarray
    total_kusd: np.ndarray


def importer_market(pairs: Pairs, hs6: np.ndarray, requested: list[str] | None, meta: dict) -> tuple[Pairs, Market]:
    """The pairs of the products J imports and those products; ``meta`` gets the products with pairs but
    no imports (``dropped_products``) and those asked for without pairs (``absent_products``)."""
    present = np.bincount(pairs.kpos, minlength=hs6.shape[0]) > 0
    imported = np.bincount(pairs.kpos, weights=pairs.x0_kusd, minlength=hs6.shape[0]) > 0
    meta["dropped_products"] = [str(k) for k in hs6[present & ~imported]]
    meta["absent_products"] = [] if requested is None else sorted(set(requested) - set(hs6[present].tolist()))
    pairs = pairs.take(imported[pairs.kpos])
    pair_product = (np.cumsum(imported) - 1)[pairs.kpos].astype(np.int32)  # the same order as the codes
    products = hs6[imported].astype(str)
    return pairs, Market(products=products, pair_product=pair_product,
                          total_kusd=np.bincount(pair_product, weights=pairs.x0_kusd, minlength=products.shape[0]))
