"""One year's flow rows as flat arrays with the HS6 index built once per year.

The one input of both in-memory paths: ``instance.build_instance`` (one importer, with
tonnes) and the batched closed form ``batched.solve_block`` (every importer). Values are
thousands of USD (kUSD) and tonnes, as in BACI.
"""
from __future__ import annotations

from dataclasses import dataclass
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
