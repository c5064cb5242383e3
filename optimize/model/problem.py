"""The kernel's types: what one ``solve`` is asked (``Problem``: ``PlainSpec``/``ModelSpec`` cells and the
year's rows, ``YearRows``) and what every backend yields (``CellTotals``, kUSD; ``totals_of`` one solved
instance). Read by the backends (``model.batched``, ``model.engine``) and ``model.kernel``, which
re-exports them; nothing here solves.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimize.config.resolve import Features, ModelSpec, solver_features
from optimize.errors import SolverError
from optimize.model.pairflows import PairArrays
from optimize.model.yeararrays import YearArrays

#: The features of the plain model (default rules, no restriction): what a closed-form cell asks.
PLAIN = solver_features(backend="highs", spread="proportional", risk_split="proportional", exporter_total_pp=None)


@dataclass(frozen=True)
class PlainSpec:
    """One importer's cell on the plain model, as a closed-form task knows it (BACI codes, cap basis)."""

    importer_codes: tuple[int, ...]
    risk_codes: tuple[int, ...]
    cap_basis: str
    features: Features = PLAIN


@dataclass(frozen=True)
class YearRows:
    """One year's rows as the LP reads them: ``arrays`` (``yeararrays.YearArrays`` with tonnes; kUSD, every
    importer and exporter of the products analysed) of ``year`` and those HS6 ``products`` (sorted)."""

    arrays: YearArrays
    products: tuple[str, ...]
    year: int


@dataclass(frozen=True)
class Problem:
    """What one ``solve`` is asked: the cells importers x caps of one year and that year's rows.

    Cell g * len(``caps_pp``) + c is importer g at cap c (pp), as ``CellTotals.cell``. ``specs``: per
    importer its resolved ``ModelSpec`` (a ``PlainSpec`` on the closed form's path; every cap replaces its
    ``cap_pp``); all share one risk set and cap basis. ``rows``: ``yeararrays.YearArrays`` (the closed
    form's; a fast task is sent only these) or ``YearRows`` (the same arrays with the year and the products
    analysed: the LP builds each cell's ``Instance`` of them; the closed form reads their arrays).
    ``joint``: the importers of a cap as one coupled LP; ``warm``: an importer's caps re-solved on one
    HiGHS model where the LP offers it (``LPBackend.warm_start``); ``save_lp``: write the LP to this file;
    ``totals``: False leaves the LP's parts without rows, only their ``solved`` pairs (a run makes its
    tables of the pairs: no sums it would not read); ``pairs``: the closed form's parts also carry every
    supplier's flow before and after (``CellTotals.pairs``, the batch's cost).
    """

    specs: tuple[ModelSpec | PlainSpec, ...]
    caps_pp: tuple[float, ...]
    rows: YearArrays | YearRows
    joint: bool = False
    warm: bool = False
    save_lp: str | None = None
    totals: bool = True
    pairs: bool = False

    @property
    def n_cells(self) -> int:
        return len(self.specs) * len(self.caps_pp)

    def check(self, backend) -> None:
        """A ``SolverError`` (a bug: planners choose by ``supports``) when ``backend`` cannot solve every cell
        or the cells do not share one risk set and cap basis."""
        if not all(backend.supports(s.features) for s in self.specs):
            raise SolverError(f"the {backend.name} backend does not support these cells", fix="report this as a bug")
        if len({(tuple(sorted(s.risk_codes)), s.cap_basis) for s in self.specs}) > 1:
            raise SolverError("the cells of one problem differ in risk set or cap basis", fix="report this as a bug")


@dataclass(frozen=True)
class CellTotals:
    """Per (cell, product) totals of solved cells, kUSD (squares in kUSD**2); rows in any order.

    ``cell``: the cell index (0..``n_cells``-1); ``product``: the product index of the
    caller's product list; ``risk_*_kusd``: (n, R) per risk country in ``risk_codes``
    order (their sum is all risk imports). ``pairs``: every supplier's flow before and after, group = row
    (``solve_block(pairs=True)``); ``cost_kusd``: (n, 3) CES cost central, low, high per row, or (n, 1) central (NaN: no
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
    #: per cell of the part, the LP's pair-level result: (instance, allocation), or (None, the ``TradeoptError``
    #: that kept the cell from being built: a joint problem goes on without it); empty from the closed form
    solved: tuple = ()

    @classmethod
    def empty(cls, n_cells: int, risk_codes: tuple[int, ...], solved: tuple = ()) -> CellTotals:
        """A part without rows (no cell of it has imports)."""
        none, no_f, no_r = np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros((0, len(risk_codes)))
        return cls(n_cells=n_cells, risk_codes=risk_codes, cell=none, product=none, total_before_kusd=no_f,
                   total_after_kusd=no_f, risk_before_kusd=no_r, risk_after_kusd=no_r, sumsq_before=no_f,
                   sumsq_after=no_f, shifted_kusd=no_f, solved=solved)


def totals_of(instance, x_after_kusd: np.ndarray, cell: int = 0, n_cells: int = 1, solved: tuple = ()) -> CellTotals:
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
                      shifted_kusd=psum(np.where(risk, 0.0, np.maximum(x1 - x0, 0.0))), solved=solved)
