"""The LP in array form, as the solver layer takes it: min c.x s.t. row bounds on A x (CSR), column bounds.

Model building (``optimize.model.lp``) produces it; ``optimize.solve`` consumes it.
Money columns are kUSD.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

ROW_TOTAL, ROW_JOINT, ROW_EXPORTER_TOTAL, ROW_OBJECTIVE = 0, 1, 2, 3
#: Shortfall cost per kUSD, as a multiple of the largest risk weight (so shortfall is minimised first).
SHORTFALL_PENALTY = 1000.0


@dataclass
class LPArrays:
    """min c.x s.t. row_lower <= A x <= row_upper, col_lower <= x <= col_upper (A in CSR)."""

    c: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_instance: np.ndarray  # (n,) instance index of each column
    col_pair: np.ndarray  # (n,) pair index within the instance; -1 for shortfall columns
    col_product: np.ndarray  # (n,) product index within the instance
    row_kind: np.ndarray  # (m,) ROW_* code
    instance_col_start: np.ndarray  # (len(instances)+1,) first pair column of each instance
    shortfall_penalty: float = 0.0
    meta: dict = field(default_factory=dict)

    @property
    def n_cols(self) -> int:
        return int(self.c.shape[0])

    @property
    def n_rows(self) -> int:
        return int(self.row_lower.shape[0])

    @property
    def n_coupling_rows(self) -> int:
        return int(np.count_nonzero(self.row_kind != ROW_TOTAL))

    def matrix(self) -> sp.csr_matrix:
        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=(self.n_rows, self.n_cols))

    def pair_values(self, x: np.ndarray, which: int) -> np.ndarray:
        """The pair flows (kUSD) of instance ``which`` from a column vector."""
        return x[self.instance_col_start[which]:self.instance_col_start[which + 1]]

    def shortfall_values(self, x: np.ndarray, which: int, n_products: int) -> np.ndarray:
        """(P,) shortfall (kUSD) of instance ``which`` (zeros where not allowed)."""
        out = np.zeros(n_products)
        sel = (self.col_instance == which) & (self.col_pair < 0)
        out[self.col_product[sel]] = x[sel]
        return out
