"""The HiGHS wrapper: the only module that imports highspy.

``HighsModel`` holds one ``Highs`` object built from ``LPArrays`` in one ``passModel``
call; bounds, costs and row sides change in bulk (warm starts re-use the basis);
``run()`` returns an ``LPSolution`` with a ``Status`` from ``HIGHS_MODEL_STATUS``, the
one mapping of HiGHS model-status codes. ``solve_highs`` is build + run in one call.

``algorithm="auto"`` runs dual simplex when the LP has no coupling rows and the
interior-point method with crossover otherwise; ``None`` leaves HiGHS's own choice.
The algorithm that actually ran is read back from the iteration counters (a model
solved by presolve alone is reported as "presolve") and logged.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import highspy
import numpy as np

from optimize.errors import SolverError
from optimize.solve.problem import LPArrays
from optimize.solve.status import LPSolution, SolverInfo, SolverStatus, Status
from optimize.solve.status import TerminationCondition as TC

log = logging.getLogger("tradeopt.solve")

ALGORITHMS = ("auto", "simplex", "ipm", "pdlp")

_OK, _WARN, _ERR = SolverStatus.OK, SolverStatus.WARNING, SolverStatus.ERROR
#: HiGHS model status (by name) -> (solver status, termination condition). The one table.
HIGHS_MODEL_STATUS: dict[str, tuple[SolverStatus, TC]] = {
    "kNotset": (_ERR, TC.NOT_SOLVED),
    "kLoadError": (_ERR, TC.ERROR),
    "kModelError": (_ERR, TC.ERROR),
    "kPresolveError": (_ERR, TC.ERROR),
    "kSolveError": (_ERR, TC.ERROR),
    "kPostsolveError": (_ERR, TC.ERROR),
    "kModelEmpty": (_ERR, TC.EMPTY_MODEL),
    "kOptimal": (_OK, TC.OPTIMAL),
    "kInfeasible": (_WARN, TC.INFEASIBLE),
    "kUnboundedOrInfeasible": (_WARN, TC.INFEASIBLE_OR_UNBOUNDED),
    "kUnbounded": (_WARN, TC.UNBOUNDED),
    "kObjectiveBound": (_WARN, TC.OBJECTIVE_BOUND),
    "kObjectiveTarget": (_WARN, TC.OBJECTIVE_TARGET),
    "kTimeLimit": (_WARN, TC.TIME_LIMIT),
    "kIterationLimit": (_WARN, TC.ITERATION_LIMIT),
    "kUnknown": (_WARN, TC.UNKNOWN),
    "kSolutionLimit": (_WARN, TC.SOLUTION_LIMIT),
    "kInterrupt": (_WARN, TC.INTERRUPTED),
    "kHighsInterrupt": (_WARN, TC.INTERRUPTED),
    "kMemoryLimit": (_ERR, TC.MEMORY_LIMIT),
}


def status_of(model_status) -> Status:
    """``Status`` of a HiGHS model status (an unknown code is an error)."""
    name = getattr(model_status, "name", str(model_status))
    solver, term = HIGHS_MODEL_STATUS.get(name, (_ERR, TC.ERROR))
    return Status(solver, term)


def highs_version() -> str:
    from importlib.metadata import version

    return f"highspy {version('highspy')}"


#: Bounds larger than this (kUSD) are scaled down by HiGHS's ``user_bound_scale`` (see make_highs).
BOUND_SCALE_TARGET = 1e4


def _largest_bound(lp: LPArrays) -> float:
    values = np.concatenate([lp.col_lower, lp.col_upper, lp.row_lower, lp.row_upper])
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else 0.0


def _new_highs(*, quiet: bool) -> highspy.Highs:
    """A ``Highs`` object; with ``quiet``, the copyright banner HiGHS prints to the
    process's stdout (file descriptor 1) on first construction is discarded."""
    if not quiet:
        return highspy.Highs()
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no usable stdout: nothing to protect
        return highspy.Highs()
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _inf(values: np.ndarray) -> np.ndarray:
    """Infinite sides as HiGHS's infinity, contiguous float64."""
    v = np.asarray(values, dtype=np.float64)
    v = np.where(np.isposinf(v), highspy.kHighsInf, np.where(np.isneginf(v), -highspy.kHighsInf, v))
    return np.ascontiguousarray(v)


def _highs_lp(lp: LPArrays) -> highspy.HighsLp:
    model = highspy.HighsLp()
    model.num_col_ = lp.n_cols
    model.num_row_ = lp.n_rows
    model.col_cost_ = np.ascontiguousarray(lp.c, dtype=np.float64)
    model.col_lower_ = np.ascontiguousarray(lp.col_lower, dtype=np.float64)
    model.col_upper_ = np.ascontiguousarray(lp.col_upper, dtype=np.float64)
    model.row_lower_ = _inf(lp.row_lower)
    model.row_upper_ = _inf(lp.row_upper)
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.num_col_ = lp.n_cols
    model.a_matrix_.num_row_ = lp.n_rows
    model.a_matrix_.start_ = np.ascontiguousarray(lp.indptr, dtype=np.int32)
    model.a_matrix_.index_ = np.ascontiguousarray(lp.indices, dtype=np.int32)
    model.a_matrix_.value_ = np.ascontiguousarray(lp.data, dtype=np.float64)
    return model


def make_highs(lp: LPArrays, *, verbose: bool | None = None, scale_bounds: bool | None = None) -> highspy.Highs:
    """A ``Highs`` object holding ``lp`` (console output only at DEBUG level)."""
    if verbose is None:
        verbose = log.isEnabledFor(logging.DEBUG)
    h = _new_highs(quiet=not verbose)
    h.setOptionValue("output_flag", bool(verbose))
    if scale_bounds is None:
        scale_bounds = lp.n_coupling_rows == 0
    big = _largest_bound(lp) if scale_bounds else 0.0
    if big > BOUND_SCALE_TARGET:
        # Separable models: BACI totals reach 1e9 kUSD while HiGHS's feasibility tolerance is
        # absolute (1e-7), so with every flow fixed (cap 0) the rounding of a product's sum can
        # exceed it. Scale bounds and row sides by a power of two. Coupled models are left
        # unscaled: their per-column values are used as solved and need the absolute accuracy.
        h.setOptionValue("user_bound_scale", -int(np.ceil(np.log2(big / BOUND_SCALE_TARGET))))
    status = h.passModel(_highs_lp(lp))
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the LP arrays (passModel failed)", fix="report this as a bug")
    return h


def _set_algorithm(h: highspy.Highs, algorithm: str | None, coupled: bool) -> str:
    if algorithm is None:
        return "choose"
    if algorithm not in ALGORITHMS:
        raise SolverError(f"unknown algorithm {algorithm!r}", fix=f"use one of {', '.join(ALGORITHMS)}")
    chosen = algorithm if algorithm != "auto" else ("ipm" if coupled else "simplex")
    h.setOptionValue("solver", chosen)
    if chosen == "ipm":
        h.setOptionValue("run_crossover", "on")
    return chosen


def _ran(info) -> tuple[str, int]:
    """(algorithm that ran, total iterations) from HiGHS's counters."""
    ran = ("ipm" + ("+crossover" if info.crossover_iteration_count > 0 else "")) if info.ipm_iteration_count > 0 \
        else "pdlp" if info.pdlp_iteration_count > 0 \
        else "simplex" if info.simplex_iteration_count > 0 else "presolve"
    iterations = int(max(info.simplex_iteration_count, 0) + max(info.ipm_iteration_count, 0)
                     + max(info.pdlp_iteration_count, 0) + max(info.crossover_iteration_count, 0))
    return ran, iterations


def _idx(cols) -> np.ndarray:
    return np.ascontiguousarray(cols, dtype=np.int32)


class HighsModel:
    """One HiGHS model of ``lp``: change bounds, costs and row sides in bulk, run, read, write.

    ``algorithm``: one of ``ALGORITHMS`` or None (HiGHS's default choice); ``time_limit_s``
    per ``run()``; ``label`` names the model in the log. Indices are column/row positions in ``lp``.
    """

    def __init__(self, lp: LPArrays, *, algorithm: str | None = "auto", time_limit_s: float | None = None,
                 verbose: bool | None = None, label: str = "highs"):
        t0 = time.perf_counter()
        self.lp = lp
        self.label = label
        self.highs = make_highs(lp, verbose=verbose)
        self.requested = _set_algorithm(self.highs, algorithm, lp.n_coupling_rows > 0)
        if time_limit_s is not None:
            self.highs.setOptionValue("time_limit", float(time_limit_s))
        self.pass_s = time.perf_counter() - t0
        self.runs = 0

    def set_col_bounds(self, cols, lower, upper) -> None:
        """New bounds (kUSD) for columns ``cols``."""
        cols = _idx(cols)
        self.highs.changeColsBounds(cols.shape[0], cols, _inf(lower), _inf(upper))

    def set_col_costs(self, cols, costs) -> None:
        """New objective coefficients for columns ``cols``."""
        cols = _idx(cols)
        self.highs.changeColsCost(cols.shape[0], cols, np.ascontiguousarray(costs, dtype=np.float64))

    def set_row_bounds(self, rows, lower, upper) -> None:
        """New row sides for rows ``rows`` (+-inf allowed)."""
        rows = _idx(rows)
        self.highs.changeRowsBounds(rows.shape[0], rows, _inf(lower), _inf(upper))

    def run(self, *, build_s: float = 0.0) -> LPSolution:
        """Solve from the current basis; x, reduced costs and row duals in ``lp``'s order
        (x whenever HiGHS holds a primal feasible point). ``build_s`` is added to the
        reported build time of the first run (the model's own pass time is included)."""
        h = self.highs
        t1 = time.perf_counter()
        h.run()
        solve_s = time.perf_counter() - t1
        info = h.getInfo()
        model_status = h.getModelStatus()
        status = status_of(model_status)
        ran, iterations = _ran(info)
        sinfo = SolverInfo(
            backend="highs", algorithm=ran, iterations=iterations,
            build_s=build_s + (self.pass_s if self.runs == 0 else 0.0), solve_s=solve_s,
            objective=float(info.objective_function_value) if status.is_ok else float("nan"),
            solver_version=highs_version(), message=h.modelStatusToString(model_status),
        )
        self.runs += 1
        log.info("%s: %s rows x %s cols, requested %s, ran %s, %d iterations, %.3fs, status %s", self.label,
                 self.lp.n_rows, self.lp.n_cols, self.requested, ran, iterations, solve_s, sinfo.message)
        extra = {"requested": self.requested}
        has_x = status.is_ok or info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        if not has_x:
            return LPSolution(status=status, info=sinfo, extra=extra)
        sol = h.getSolution()
        duals = status.is_ok and sol.dual_valid
        return LPSolution(
            status=status, info=sinfo, x=np.asarray(sol.col_value, dtype=float),
            col_duals=np.asarray(sol.col_dual, dtype=float) if duals else None,
            row_duals=np.asarray(sol.row_dual, dtype=float) if duals else None, extra=extra,
        )

    def write(self, path: str | Path) -> bool:
        """Write the model (format from the suffix: .lp or .mps); False when HiGHS reports an error."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return self.highs.writeModel(str(path)) != highspy.HighsStatus.kError


def solve_highs(lp: LPArrays, *, algorithm: str | None = "auto", time_limit_s: float | None = None,
                build_s: float = 0.0) -> LPSolution:
    """Solve ``lp`` once; return x, reduced costs and row duals in the LP's order."""
    return HighsModel(lp, algorithm=algorithm, time_limit_s=time_limit_s).run(build_s=build_s)
