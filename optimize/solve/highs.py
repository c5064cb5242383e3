"""Solve ``LPArrays`` with highspy: the whole model in one ``passModel`` call.

``algorithm="auto"`` runs dual simplex when the LP has no coupling rows and the
interior-point method with crossover otherwise. The algorithm that actually ran
is read back from the iteration counters (a model solved by presolve alone is
reported as "presolve").
"""
from __future__ import annotations

import logging
import os
import sys
import time

import highspy
import numpy as np

from optimize.errors import SolverError
from optimize.solve.problem import LPArrays
from optimize.solve.status import LPSolution, SolverInfo, Status

log = logging.getLogger("tradeopt.solve")

ALGORITHMS = ("auto", "simplex", "ipm", "pdlp")

_STATUS = {
    highspy.HighsModelStatus.kOptimal: Status.OPTIMAL,
    highspy.HighsModelStatus.kInfeasible: Status.INFEASIBLE,
    highspy.HighsModelStatus.kUnboundedOrInfeasible: Status.INFEASIBLE,
    highspy.HighsModelStatus.kUnbounded: Status.UNBOUNDED,
    highspy.HighsModelStatus.kTimeLimit: Status.TIME_LIMIT,
    highspy.HighsModelStatus.kIterationLimit: Status.TIME_LIMIT,
}


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


def make_highs(lp: LPArrays, *, verbose: bool | None = None, scale_bounds: bool | None = None) -> highspy.Highs:
    """A ``Highs`` object holding ``lp`` (console output only at DEBUG level)."""
    if verbose is None:
        verbose = log.isEnabledFor(logging.DEBUG)
    h = _new_highs(quiet=not verbose)
    h.setOptionValue("output_flag", bool(verbose))
    model = highspy.HighsLp()
    model.num_col_ = lp.n_cols
    model.num_row_ = lp.n_rows
    model.col_cost_ = np.ascontiguousarray(lp.c, dtype=np.float64)
    model.col_lower_ = np.ascontiguousarray(lp.col_lower, dtype=np.float64)
    model.col_upper_ = np.ascontiguousarray(lp.col_upper, dtype=np.float64)
    model.row_lower_ = np.ascontiguousarray(np.where(np.isinf(lp.row_lower), -highspy.kHighsInf, lp.row_lower))
    model.row_upper_ = np.ascontiguousarray(np.where(np.isinf(lp.row_upper), highspy.kHighsInf, lp.row_upper))
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.num_col_ = lp.n_cols
    model.a_matrix_.num_row_ = lp.n_rows
    model.a_matrix_.start_ = np.ascontiguousarray(lp.indptr, dtype=np.int32)
    model.a_matrix_.index_ = np.ascontiguousarray(lp.indices, dtype=np.int32)
    model.a_matrix_.value_ = np.ascontiguousarray(lp.data, dtype=np.float64)
    if scale_bounds is None:
        scale_bounds = lp.n_coupling_rows == 0
    big = _largest_bound(lp) if scale_bounds else 0.0
    if big > BOUND_SCALE_TARGET:
        # Separable models: BACI totals reach 1e9 kUSD while HiGHS's feasibility tolerance is
        # absolute (1e-7), so with every flow fixed (cap 0) the rounding of a product's sum can
        # exceed it. Scale bounds and row sides by a power of two. Coupled models are left
        # unscaled: their per-column values are used as solved and need the absolute accuracy.
        h.setOptionValue("user_bound_scale", -int(np.ceil(np.log2(big / BOUND_SCALE_TARGET))))
    status = h.passModel(model)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the LP arrays (passModel failed)", fix="report this as a bug")
    return h


def _set_algorithm(h: highspy.Highs, algorithm: str, coupled: bool) -> str:
    if algorithm not in ALGORITHMS:
        raise SolverError(f"unknown algorithm {algorithm!r}", fix=f"use one of {', '.join(ALGORITHMS)}")
    chosen = algorithm if algorithm != "auto" else ("ipm" if coupled else "simplex")
    h.setOptionValue("solver", chosen)
    if chosen == "ipm":
        h.setOptionValue("run_crossover", "on")
    return chosen


def solve_highs(lp: LPArrays, *, algorithm: str = "auto", time_limit_s: float | None = None,
                build_s: float = 0.0) -> LPSolution:
    """Solve ``lp``; return x, reduced costs and row duals in the LP's order."""
    t0 = time.perf_counter()
    h = make_highs(lp)
    chosen = _set_algorithm(h, algorithm, lp.n_coupling_rows > 0)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    pass_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    h.run()
    solve_s = time.perf_counter() - t1
    info = h.getInfo()
    model_status = h.getModelStatus()
    status = _STATUS.get(model_status, Status.ERROR)
    ran = ("ipm" + ("+crossover" if info.crossover_iteration_count > 0 else "")) if info.ipm_iteration_count > 0 \
        else "pdlp" if info.pdlp_iteration_count > 0 \
        else "simplex" if info.simplex_iteration_count > 0 else "presolve"
    iterations = int(info.simplex_iteration_count + info.ipm_iteration_count + info.pdlp_iteration_count
                     + max(info.crossover_iteration_count, 0))
    sinfo = SolverInfo(
        backend="highs", algorithm=ran, iterations=iterations, build_s=build_s + pass_s, solve_s=solve_s,
        objective=float(info.objective_function_value) if status.is_ok else float("nan"),
        solver_version=highs_version(), message=h.modelStatusToString(model_status),
    )
    log.info("highs: %s rows x %s cols, requested %s, ran %s, %d iterations, %.3fs, status %s",
             lp.n_rows, lp.n_cols, chosen, ran, iterations, solve_s, sinfo.message)
    if not status.is_ok:
        return LPSolution(status=status, info=sinfo, extra={"requested": chosen})
    sol = h.getSolution()
    return LPSolution(
        status=status, info=sinfo,
        x=np.asarray(sol.col_value, dtype=float),
        col_duals=np.asarray(sol.col_dual, dtype=float) if sol.dual_valid else None,
        row_duals=np.asarray(sol.row_dual, dtype=float) if sol.dual_valid else None,
        extra={"requested": chosen},
    )
