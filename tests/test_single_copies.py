"""The single copies of shared algorithms and parsers, each against an independent oracle."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.analysis.exposure import hhi
from optimize.errors import ScenarioError
from optimize.model.tiebreak import water_fill
from optimize.output.manifest import jsonable
from optimize.solve.status import Status
from optimize.tokens import number_list, parse_years, split_tokens


def _level_by_bisection(lo, hi, shift, target):
    """Scalar oracle: L with sum clip(L - shift, lo, hi) = target (clamped), by bisection."""
    target = min(max(target, lo.sum()), hi.sum())
    a, b = float((lo + shift).min()) - 1.0, float((hi + shift).max()) + 1.0
    for _ in range(200):
        mid = 0.5 * (a + b)
        if np.clip(mid - shift, lo, hi).sum() < target:
            a = mid
        else:
            b = mid
    return np.clip(b - shift, lo, hi)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 100_000), n_groups=st.integers(1, 4), shifted=st.booleans())
def test_water_fill_matches_a_bisection_oracle(seed, n_groups, shifted):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(n_groups, 12))
    group = np.sort(np.r_[np.arange(n_groups), rng.integers(0, n_groups, n - n_groups)])
    lo = np.round(rng.uniform(0, 5, n), 1) * (rng.random(n) < 0.7)
    hi = lo + np.round(rng.uniform(0, 5, n), 1) * (rng.random(n) < 0.8)
    shift = np.round(rng.uniform(-3, 3, n), 1) if shifted else np.zeros(n)
    amount = rng.uniform(-1, 1.2, n_groups) * np.bincount(group, weights=hi, minlength=n_groups) + 0.5
    x = water_fill(group, lo, hi, amount, shift=shift if shifted else None)
    for g in range(n_groups):
        m = group == g
        np.testing.assert_allclose(x[m], _level_by_bisection(lo[m], hi[m], shift[m], amount[g]), atol=1e-7)


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.tuples(st.integers(0, 3), st.floats(0, 1e6, allow_nan=False)), min_size=1, max_size=20))
def test_hhi_is_the_sum_of_squared_shares(values):
    group = np.array([g for g, _ in values])
    x = np.array([v for _, v in values])
    got = hhi(group, x, 4)
    for g in range(4):
        v = x[group == g]
        if v.sum() > 0:
            assert got[g] == pytest.approx(sum((vi / v.sum()) ** 2 for vi in v), rel=1e-12)
        else:
            assert math.isnan(got[g])


def test_hhi_of_no_flows_is_an_empty_float_array():
    out = hhi(np.zeros(0, dtype=np.int64), np.zeros(0), 2)
    assert out.dtype == float and np.isnan(out).all()


def test_split_tokens_every_form():
    assert split_tokens(" CHN, USA ,,RUS") == ["CHN", "USA", "RUS"]
    assert split_tokens(156) == ["156"] and split_tokens(None) == []
    assert split_tokens(["CHN", "USA,RUS", 842]) == ["CHN", "USA", "RUS", "842"]
    assert split_tokens("CHN;CHN,RUS", ";") == ["CHN", "CHN,RUS"]


def test_number_lists_and_years():
    assert number_list("0-10:2.5", "caps") == [0.0, 2.5, 5.0, 7.5, 10.0]
    assert number_list("3,1,1-2", "caps") == [1.0, 2.0, 3.0]
    assert parse_years("2021-2023") == (2021, 2022, 2023) and parse_years("2023,2021") == (2021, 2023)
    for bad in ("20x", "2023-2021", "", "1-2:0"):
        with pytest.raises(ScenarioError) as err:
            parse_years(bad, field="--years")
        assert err.value.field == "--years"


def test_jsonable_gives_strict_json():
    value = {"a": float("nan"), "b": np.float64(float("inf")), "c": {3, 1, 2}, "d": np.arange(2),
             "s": Status.OPTIMAL, "t": Status.ITERATION_LIMIT, "n": np.int64(4), "tup": (1, None)}
    out = jsonable(value)
    assert out == {"a": None, "b": None, "c": [1, 2, 3], "d": [0, 1], "s": "optimal", "t": "iteration_limit",
                   "n": 4, "tup": [1, None]}
    json.dumps(out, allow_nan=False)  # strict JSON
