"""The solver layer: one HiGHS status table, terminations of real LPs, bulk changes, and
highspy confined to ``optimize/solve/``."""
from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import highspy
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.errors import InfeasibleError, SolverError
from optimize.solve.highs import HIGHS_MODEL_STATUS, HighsModel, solve_highs, status_of
from optimize.solve.problem import ROW_OBJECTIVE, ROW_TOTAL, LPArrays
from optimize.solve.status import SolverStatus, Status, TerminationCondition, raise_for_status

ROOT = Path(__file__).resolve().parents[1]


def lp_of(c, lo, up, a, row_lo, row_up, kind=ROW_TOTAL) -> LPArrays:
    """LPArrays of min c.x s.t. row_lo <= A x <= row_up, lo <= x <= up (A dense, one instance)."""
    a = sp.csr_matrix(np.asarray(a, dtype=float).reshape(len(row_lo), len(c)))
    n = len(c)
    return LPArrays(c=np.asarray(c, float), col_lower=np.asarray(lo, float), col_upper=np.asarray(up, float),
                    indptr=a.indptr.astype(np.int32), indices=a.indices.astype(np.int32), data=a.data,
                    row_lower=np.asarray(row_lo, float), row_upper=np.asarray(row_up, float),
                    col_instance=np.zeros(n, np.int32), col_pair=np.arange(n, dtype=np.int32),
                    col_product=np.zeros(n, np.int32), row_kind=np.full(len(row_lo), kind, np.int8),
                    instance_col_start=np.array([0, n]))


# ------------------------------------------------------------------ the mapping table
@pytest.mark.parametrize("name", list(highspy.HighsModelStatus.__members__))
def test_every_highs_model_status_maps(name):
    assert name in HIGHS_MODEL_STATUS, f"HiGHS model status {name} is missing from HIGHS_MODEL_STATUS"
    s = status_of(highspy.HighsModelStatus.__members__[name])
    assert isinstance(s.status, SolverStatus) and isinstance(s.termination, TerminationCondition)
    assert s.is_ok == (name == "kOptimal")  # only a proven optimum is ok
    assert s.value == s.termination.value and str(s) == s.value


def test_distinct_limits_and_infeasibility_stay_distinct():
    hs = highspy.HighsModelStatus
    assert status_of(hs.kIterationLimit).termination is TerminationCondition.ITERATION_LIMIT
    assert status_of(hs.kTimeLimit).termination is TerminationCondition.TIME_LIMIT
    assert status_of(hs.kUnboundedOrInfeasible).termination is TerminationCondition.INFEASIBLE_OR_UNBOUNDED
    assert status_of(hs.kInfeasible).is_infeasible and status_of(hs.kUnboundedOrInfeasible).is_infeasible
    assert not status_of(hs.kUnbounded).is_infeasible
    assert status_of(hs.kSolveError).status is SolverStatus.ERROR


# ------------------------------------------------------------------ real LPs end with the right termination
def test_optimal_lp():
    # min x0 + 2 x1, x0 + x1 = 3, x0 <= 2 -> x = (2, 1), objective 4
    sol = solve_highs(lp_of([1, 2], [0, 0], [2, 10], [[1, 1]], [3], [3]))
    assert sol.status == Status.OPTIMAL and sol.status.is_ok and sol.has_solution
    np.testing.assert_allclose(sol.x, [2, 1], atol=1e-9)
    assert sol.info.objective == pytest.approx(4.0)


@pytest.mark.parametrize("algorithm", ["simplex", "ipm", None])
def test_infeasible_lp(algorithm):
    # x0 + x1 >= 5 with both in [0, 2]
    sol = solve_highs(lp_of([1, 1], [0, 0], [2, 2], [[1, 1]], [5], [np.inf], kind=ROW_OBJECTIVE), algorithm=algorithm)
    assert not sol.status.is_ok and sol.status.is_infeasible and sol.status.status is SolverStatus.WARNING
    with pytest.raises(InfeasibleError) as err:
        raise_for_status(sol.status, what="the test LP", detail=sol.info.message, fix_infeasible="relax", fix="-")
    assert err.value.exit_code == 3
    assert "the test LP is infeasible" in str(err.value) and "relax" in str(err.value)


def test_unbounded_lp():
    sol = solve_highs(lp_of([-1, 0], [0, 0], [np.inf, 1], [[0, 1]], [0], [1]), algorithm="simplex")
    assert sol.status.termination in (TerminationCondition.UNBOUNDED, TerminationCondition.INFEASIBLE_OR_UNBOUNDED)
    assert not sol.status.is_ok


def _big_lp(n=400, seed=0) -> LPArrays:
    """A dense random feasible LP large enough that HiGHS needs many iterations."""
    rng = np.random.default_rng(seed)
    a = rng.random((n, n))
    x_feas = rng.random(n)
    b = a @ x_feas
    return lp_of(-rng.random(n), np.zeros(n), np.full(n, 10.0), a, np.full(n, -np.inf), b, kind=ROW_OBJECTIVE)


def test_iteration_limit_is_not_a_time_limit():
    model = HighsModel(_big_lp(), algorithm="simplex")
    model.highs.setOptionValue("simplex_iteration_limit", 3)
    model.highs.setOptionValue("presolve", "off")
    sol = model.run()
    assert sol.status == Status.ITERATION_LIMIT and not sol.status.is_ok
    with pytest.raises(SolverError, match="iteration_limit"):
        raise_for_status(sol.status, what="the test LP", fix_infeasible="-", fix="raise the limit")
    assert SolverError("x").exit_code == 4


def test_time_limit_lp():
    model = HighsModel(_big_lp(), algorithm="simplex", time_limit_s=0.0)
    model.highs.setOptionValue("presolve", "off")
    sol = model.run()
    assert sol.status == Status.TIME_LIMIT and not sol.status.is_ok
    assert sol.col_duals is None  # no duals without a proven optimum
    with pytest.raises(SolverError, match="time_limit"):
        raise_for_status(sol.status, what="the test LP", fix_infeasible="-", fix="raise time_limit_s")


def test_ok_status_does_not_raise():
    raise_for_status(Status.OPTIMAL, what="x", fix_infeasible="-", fix="-")


# ------------------------------------------------------------------ bulk changes = a fresh model of the changed arrays
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 8))
def test_bulk_changes_equal_a_fresh_solve(seed, n):
    rng = np.random.default_rng(seed)
    total = float(rng.uniform(5, 20))
    base = lp_of(rng.random(n), np.zeros(n), rng.uniform(1, 10, n) + total / n, np.ones((1, n)), [total], [total])
    model = HighsModel(base, algorithm="simplex")
    assert model.run().status.is_ok
    cols = np.sort(rng.choice(n, size=max(1, n // 2), replace=False))
    up = base.col_upper.copy()
    up[cols] = rng.uniform(total / n, 10, cols.shape[0])
    cost = base.c.copy()
    cost[cols] = rng.random(cols.shape[0])
    row_hi = total * 1.5
    model.set_col_bounds(cols, base.col_lower[cols], up[cols])
    model.set_col_costs(cols, cost[cols])
    model.set_row_bounds([0], [total], [row_hi])
    warm = model.run()
    fresh = solve_highs(replace(base, col_upper=up, c=cost, row_upper=np.array([row_hi])), algorithm="simplex")
    assert warm.status == fresh.status
    if fresh.status.is_ok:
        assert float(cost @ warm.x) == pytest.approx(float(cost @ fresh.x), rel=1e-9, abs=1e-9)
        assert np.all(warm.x <= up + 1e-9) and total - 1e-9 <= warm.x.sum() <= row_hi + 1e-9


# ------------------------------------------------------------------ only optimize/solve/ talks to HiGHS
def _python_files():
    for folder in ("optimize", "bench", "scripts"):
        yield from sorted((ROOT / folder).rglob("*.py"))
    yield ROOT / "cli.py"


def test_only_solve_imports_highspy():
    offenders = []
    for path in _python_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("optimize/solve/"):
            continue
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(nm == "highspy" or nm.startswith("highspy.") for nm in names):
                offenders.append(f"{rel}:{node.lineno}")
        if "kOptimal" in text or "getModelStatus" in text:
            offenders.append(f"{rel}: checks HiGHS statuses by hand")
    assert not offenders, f"only optimize/solve/ may use highspy: {offenders}"
