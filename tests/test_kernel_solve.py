"""One ``solve(problem)`` for both backends (``model.kernel``): the same ``Problem`` through the closed form
and through the LP gives the same exposure and HHI per cell (two independent algorithms: the closed form's
sums against HiGHS plus the tie-break), and a backend refuses cells it does not support."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.analysis.exposure import cell_metrics
from optimize.config.resolve import resolve
from optimize.errors import SolverError
from optimize.model.kernel import CLOSED_FORM, LP, PlainSpec, Problem
from optimize.model.yeararrays import year_arrays
from optimize.runs import pipeline


@pytest.fixture(scope="module")
def prepared():
    return pipeline.prepare("default")


def _specs(prepared, importers, risk, basis):
    return tuple(resolve(pipeline.cell_scenario(prepared.scenario, importer=imp, risk=risk, cap_basis=basis))
                 for imp in importers)


def _metrics(parts):
    m = cell_metrics(parts)
    return np.column_stack([m.share_before, m.share_after, m.shifted_usd, m.hhi_before, m.hhi_after])


@settings(max_examples=6, deadline=None)
@given(importers=st.lists(st.sampled_from(["DEU", "FRA", "JPN", "EU27", "USA"]), min_size=1, max_size=3, unique=True),
       caps=st.lists(st.sampled_from([0.0, 0.5, 2.5, 10.0, 100.0]), min_size=1, max_size=3, unique=True),
       risk=st.sampled_from([["CHN"], ["CHN", "RUS", "USA"], ["G7"]]),
       basis=st.sampled_from(["world-exports", "importer-market", "rest-of-world"]))
def test_both_backends_solve_one_problem_to_the_same_numbers(prepared, importers, caps, risk, basis):
    specs = _specs(prepared, importers, risk, basis)
    problem = Problem(specs, tuple(caps), pipeline.year_rows(prepared))
    lp_parts = list(LP.solve(problem))
    assert [sorted(set(p.cell.tolist())) for p in lp_parts] == [[c] for c in range(problem.n_cells)]  # cell order
    assert all(len(p.solved) == 1 for p in lp_parts)  # each LP cell carries its instance and allocation
    pairs_only = list(LP.solve(replace(problem, totals=False)))
    assert all(len(p.cell) == 0 and p.solved[0][0] is not None for p in pairs_only)
    lp = _metrics(lp_parts)
    closed = _metrics(CLOSED_FORM.solve(problem))  # the closed form reads the YearRows' arrays
    np.testing.assert_allclose(closed, lp, rtol=1e-9, atol=1e-9)
    plain = Problem(tuple(PlainSpec(s.importer_codes, s.risk_codes, s.cap_basis) for s in specs), tuple(caps),
                    year_arrays(prepared.flows))
    np.testing.assert_array_equal(_metrics(CLOSED_FORM.solve(plain)), closed)


def test_a_warm_started_problem_gives_the_cold_numbers(prepared):
    specs = _specs(prepared, ["DEU"], ["CHN", "RUS"], "world-exports")
    cold = Problem(specs, (0.5, 2.0, 5.0), pipeline.year_rows(prepared))
    warm = list(LP.solve(replace(cold, warm=True)))
    assert all("warm start" in p.solved[0][1].solver.algorithm for p in warm[1:])
    np.testing.assert_allclose(_metrics(warm), _metrics(LP.solve(cold)), rtol=1e-9, atol=1e-12)


def test_a_backend_refuses_cells_it_does_not_support(prepared):
    scen = prepared.scenario.update({"alternatives.friends": ["JPN"]})
    problem = Problem((resolve(pipeline.cell_scenario(scen, importer="DEU")),), (5.0,),
                      pipeline.year_rows(prepared))
    with pytest.raises(SolverError, match="closed-form backend does not support"):
        list(CLOSED_FORM.solve(problem))
    plain = Problem((PlainSpec((276,), (156,), "world-exports"),), (5.0,), pipeline.year_rows(prepared))
    with pytest.raises(SolverError, match="ModelSpec"):
        list(LP.solve(plain))
