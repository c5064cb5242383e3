"""One kernel, two backends behind one interface, one result type.

Backends (each declares what it ``supports`` against a cell's ``Features``):

- ``CLOSED_FORM``: the separable model's exact optimum for every importer and cap of a
  year at once, in arrays (``model.batched``); plain models only (see ``supports``).
- ``LP``: the exposure LP solved by HiGHS (Pyomo as cross-check) through ``engine``;
  every model. Capabilities: non-risk columns merged per product (``merges``) and a
  warm start over bound changes (``warm_start``, ``engine.WarmStart``).

Both read one ``Problem`` (the cells importers x caps of one year and that year's rows)
through one method, ``solve(problem)``, and yield ``CellTotals``: per (cell, product) the
totals before and after, risk imports before and after per risk country, sums of squared
supplier flows and the shifted imports (kUSD); the LP's parts also carry each cell's
instance and allocation (``solved``: pair-level tables). ``analysis.exposure`` turns them
into exposure and HHI. Planners choose a backend by ``supports`` and call ``solve``.
"""
from __future__ import annotations

from collections.abc import Iterator

from optimize.config.resolve import Features, ModelSpec
from optimize.errors import SolverError
from optimize.model.problem import PLAIN, CellTotals, PlainSpec, Problem, YearRows, totals_of

__all__ = ["CLOSED_FORM", "LP", "PLAIN", "CellTotals", "PlainSpec", "Problem", "YearRows", "totals_of"]


class ClosedFormBackend:
    """The batched closed form (``model.batched.solve_block``): importers x caps of one year in arrays."""

    name = "closed-form"

    def solve(self, problem: Problem) -> Iterator[CellTotals]:
        """Every cell of ``problem`` (``solve_block``'s parts: one per cap and layer of importers)."""
        from optimize.model.batched import solve_block

        problem.check(self)
        rows = problem.rows.arrays if isinstance(problem.rows, YearRows) else problem.rows
        first = problem.specs[0]
        return solve_block(rows, [s.importer_codes for s in problem.specs], first.risk_codes, first.cap_basis,
                           problem.caps_pp, pairs=problem.pairs)

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

    def solve(self, problem: Problem) -> Iterator[CellTotals]:
        """Every cell of ``problem`` (``engine.solve_cells``), one part per cell in cell order, each with its
        instance and allocation (``solved``)."""
        from optimize.model.engine import solve_cells

        problem.check(self)
        if not all(isinstance(s, ModelSpec) for s in problem.specs):
            raise SolverError("the LP backend builds its cells from resolved ModelSpecs", fix="report this as a bug")
        risk_codes = tuple(sorted({int(c) for c in problem.specs[0].risk_codes}))
        for cell, (instance, allocation) in enumerate(solve_cells(problem)):
            if instance is None or not problem.totals:  # pairs only, or not built (joint; ``allocation``: its error)
                yield CellTotals.empty(problem.n_cells, risk_codes, ((instance, allocation),))
            else:
                yield totals_of(instance, allocation.x_after_kusd, cell, problem.n_cells, ((instance, allocation),))

    def merges(self, f: Features, joint_importers: int = 1) -> bool:
        """Non-risk columns may be merged per product (``engine.lp_merges``)."""
        from optimize.model.engine import lp_merges

        return lp_merges(f, joint_importers)

    def warm_start(self, f: Features) -> bool:
        """A warm start over bound changes gives each cap's exact result (``engine.lp_warm_start``)."""
        from optimize.model.engine import lp_warm_start

        return lp_warm_start(f)


CLOSED_FORM = ClosedFormBackend()
LP = LPBackend()
