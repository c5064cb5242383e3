"""One year's flow rows as flat arrays with the HS6 index built once per year.

The one input of both in-memory paths: ``instance.build_instance`` (one importer, with
tonnes) and the batched closed form ``batched.solve_block`` (every importer). The
(product, exporter) cells with their world sums (``YearArrays.cells``) are built once too,
so each further importer or cap of the year only sums its own rows. Values are
thousands of USD (kUSD) and tonnes, as in BACI.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from optimize.data.frame import hs6_index


@dataclass(frozen=True)
class YearArrays:
    """One year's rows [i, j, k, v, q] as arrays (what a fast task is sent; ``Prepared.arrays``).

    ``i``/``j``: exporter/importer BACI codes (int32); ``kidx``: each row's index into
    ``hs6`` (int32; the distinct HS6 codes, sorted); ``v``: value (kUSD, float64); ``q``:
    quantity (tonnes, float64, NaN when missing; None when not taken); ``cost``: what the batch
    cells' CES cost needs (None: no cost).
    """

    i: np.ndarray
    j: np.ndarray
    kidx: np.ndarray
    v: np.ndarray
    hs6: np.ndarray
    q: np.ndarray | None = None
    cost: CostInputs | None = None

    @cached_property
    def distinct(self) -> bool:
        """True when the rows are in strictly increasing (exporter, importer, product) order (BACI's;
        checked, not assumed), so no two rows share a key."""
        m = int(max(self.i.max(initial=0), self.j.max(initial=0))) + 1
        key = (self.i.astype(np.int64) * m + self.j) * self.hs6.shape[0] + self.kidx
        return bool(np.all(key[1:] > key[:-1]))

    @property
    def n_products(self) -> int:
        return int(self.hs6.shape[0])

    @cached_property
    def cells(self) -> Cells:
        """The rows' (product, exporter) cells and world sums, built once (``Cells.of``)."""
        return Cells.of(self)


@dataclass(frozen=True)
class Cells:
    """The (product, exporter) cells of a year's rows with world exports > 0: ``key`` = k * m + i (sorted; k the
    HS6 index, m the largest exporter code + 1), each row's position among them (``row_cell``; rows of
    other cells: one spare position past the last) and the world exports of each cell (kUSD, tonnes: NaN
    where no row has a quantity)."""

    key: np.ndarray
    m: int
    row_cell: np.ndarray
    world_kusd: np.ndarray
    world_tonnes: np.ndarray

    @classmethod
    def of(cls, rows: YearArrays) -> Cells:
        m = int(rows.i.max(initial=0)) + 1
        size = rows.n_products * m
        wide = np.int64 if size >= 2**31 else np.int32
        key = rows.kidx.astype(wide) * m + rows.i
        world = np.bincount(key, weights=rows.v, minlength=size)
        cells = np.flatnonzero(world > 0)
        slot = np.full(size, cells.shape[0], dtype=wide)
        slot[cells] = np.arange(cells.shape[0])
        out = cls(key=cells, m=m, row_cell=slot[key], world_kusd=world[cells], world_tonnes=world[cells])
        q = np.full(rows.v.shape[0], np.nan) if rows.q is None else rows.q
        return replace(out, world_tonnes=out.tonnes(None, q))

    def total(self, sel: np.ndarray | None, values: np.ndarray) -> np.ndarray:
        """Sums of ``values`` per cell over the rows ``sel`` (bool; None: every row), in row order."""
        idx, w = (self.row_cell, values) if sel is None else (self.row_cell[sel], values[sel])
        return np.bincount(idx, weights=w, minlength=self.key.shape[0] + 1)[:-1]

    def tonnes(self, sel: np.ndarray | None, q: np.ndarray) -> np.ndarray:
        """Tonnes ``q`` per cell over the rows ``sel`` (None: every row), NaN where none has a quantity."""
        known = ~np.isnan(q)
        has = np.bincount(self.row_cell[known if sel is None else sel & known], minlength=self.key.shape[0] + 1)
        return np.where(has[:-1] > 0, self.total(sel, np.where(known, q, 0.0)), np.nan)


@dataclass(frozen=True)
class CostInputs:
    """The cells' CES cost settings: ``sigmas`` DataFrame[sigma, sigma_low, sigma_high, sigma_source] per
    HS6 code of ``YearArrays.hs6`` (same order), the new-supplier prior weight and the band caps (pp; empty:
    no bands)."""

    sigmas: pd.DataFrame
    prior_lambda: float
    band_caps_pp: tuple[float, ...] = ()


def year_arrays(flows: pd.DataFrame, *, tonnes: bool = False) -> YearArrays:
    """``YearArrays`` of one year's BACI rows [i, j, k, v(, q)] (kUSD; ``tonnes``: keep q)."""
    kidx, hs6 = hs6_index(flows["k"])
    return YearArrays(i=flows["i"].to_numpy(dtype=np.int32), j=flows["j"].to_numpy(dtype=np.int32),
                      kidx=kidx.astype(np.int32), v=flows["v"].to_numpy(dtype=np.float64), hs6=hs6,
                      q=flows["q"].to_numpy(dtype=np.float64) if tonnes else None)
