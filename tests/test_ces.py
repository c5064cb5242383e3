"""CES (Armington) cost of moving shares: the issue's hand values against a 40-digit Decimal
oracle written from the issue's formula, and properties (hypothesis)."""
from __future__ import annotations

from decimal import Decimal, getcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.analysis.ces import blend_prior, ces_cost_share, tariff_equivalent


def _oracle_cost(s, s1, sigma) -> float:
    """cost / V in Decimal arithmetic, from the issue's text (not from the power-mean form)."""
    getcontext().prec = 40
    s = [Decimal(str(v)) for v in s]
    s1 = [Decimal(str(v)) for v in s1]
    sig = Decimal(str(sigma))
    if sig == 1:
        return float(sum(a * (a / b).ln() for a, b in zip(s, s1, strict=True)).exp() - 1)
    tot = sum(a ** (1 / sig) * b ** ((sig - 1) / sig) for a, b in zip(s, s1, strict=True))
    return float(tot ** (sig / (1 - sig)) - 1)


def _one(s, s1, sigma) -> float:
    g = np.zeros(len(s), dtype=np.int64)
    return float(ces_cost_share(g, np.asarray(s, float), np.asarray(s1, float), np.array([sigma], float), 1)[0])


@pytest.mark.parametrize(("sigma", "pct"), [(8, 2.3525), (20, 0.9279), (1, 21.172)])
def test_hand_values(sigma, pct):
    got = _one([0.6, 0.4], [0.3, 0.7], sigma)
    assert got == pytest.approx(_oracle_cost([0.6, 0.4], [0.3, 0.7], sigma), abs=1e-9)
    assert round(got * 100, 4 if sigma != 1 else 3) == pct  # the rounded figures


def test_tariff_equivalent_hand_value():
    getcontext().prec = 40
    s, s1, sig = Decimal("0.6"), Decimal("0.3"), Decimal(8)
    oracle = float((s1 * (1 - s) / (s * (1 - s1))) ** (1 / (1 - sig)) - 1)
    got = tariff_equivalent(np.array([0.6]), np.array([0.3]), np.array([8.0]))[0]
    assert got == pytest.approx(oracle, abs=1e-9)
    assert round(got * 100, 2) == 19.60


def test_tariff_equivalent_edges():
    tau = tariff_equivalent(np.array([0.0, 0.5, 0.5]), np.array([0.0, 0.2, 0.0]), np.array([8.0, 1.0, 8.0]))
    assert np.isnan(tau[0]) and np.isnan(tau[1]) and tau[2] == np.inf


def test_vectorised_groups_match_one_by_one():
    g = np.array([0, 0, 1, 1, 1, 2, 2])
    s = np.array([0.6, 0.4, 0.2, 0.3, 0.5, 1.0, 0.0])
    s1 = np.array([0.3, 0.7, 0.1, 0.1, 0.8, 0.5, 0.5])
    sig = np.array([8.0, 0.5, 1.0])
    got = ces_cost_share(g, s, s1, sig, 3)
    for k in range(3):
        m = g == k
        want = _oracle_cost(s[m][s[m] > 0], s1[m][s[m] > 0], sig[k])
        assert got[k] == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_cut_supplier_with_low_sigma_is_infinite():
    g = np.zeros(2, dtype=np.int64)
    s, s1 = np.array([0.5, 0.5]), np.array([0.0, 1.0])
    got = ces_cost_share(np.r_[g, g + 1, g + 2], np.r_[s, s, s], np.r_[s1, s1, s1], np.array([0.5, 1.0, 4.0]), 3)
    assert got[0] == np.inf and got[1] == np.inf and np.isfinite(got[2])
    with pytest.raises(ValueError):
        ces_cost_share(g, s, s1, np.array([0.0]), 1)


_shares = st.lists(st.floats(0.01, 1.0), min_size=2, max_size=6)


def _norm(v):
    a = np.asarray(v, dtype=float)
    return a / a.sum()


@settings(max_examples=60, deadline=None)
@given(_shares, st.data(), st.floats(0.05, 60.0))
def test_nonnegative_and_zero_when_nothing_moves(s, data, sigma):
    s = _norm(s)
    s1 = _norm(data.draw(st.lists(st.floats(0.01, 1.0), min_size=len(s), max_size=len(s))))
    assert _one(s, s1, sigma) >= 0.0
    assert _one(s, s, sigma) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(_shares, st.data(), st.floats(0.05, 30.0), st.floats(1.01, 3.0))
def test_falls_as_sigma_rises(s, data, sigma, factor):
    s = _norm(s)
    s1 = _norm(data.draw(st.lists(st.floats(0.01, 1.0), min_size=len(s), max_size=len(s))))
    assert _one(s, s1, sigma * factor) <= _one(s, s1, sigma) + 1e-12


@settings(max_examples=60, deadline=None)
@given(_shares, st.data(), st.floats(0.1, 30.0))
def test_rises_with_amount_shifted(s, data, sigma):
    s = _norm(s)
    target = _norm(data.draw(st.lists(st.floats(0.0, 1.0), min_size=len(s), max_size=len(s)).filter(
        lambda v: sum(v) > 0)))
    ts = np.linspace(0.0, 0.95, 12)  # below 1: a cut supplier with sigma <= 1 is infinite at t = 1
    costs = [_one(s, (1 - t) * s + t * target, sigma) for t in ts]
    assert all(b >= a - 1e-12 for a, b in zip(costs, costs[1:], strict=False))


def test_prior_makes_new_suppliers_finite_and_larger_world_share_cheaper():
    # product: one risk supplier (s = 1) moving half to a new supplier; two candidates differ in world exports
    g = np.zeros(3, dtype=np.int64)
    s = np.array([1.0, 0.0, 0.0])
    world = np.array([100.0, 300.0, 100.0])
    lam = 0.1
    b0 = blend_prior(g, s, world, lam, 1)
    assert b0 == pytest.approx([0.9 + 0.1 * 0.2, 0.1 * 0.6, 0.1 * 0.2])
    to_big = blend_prior(g, np.array([0.5, 0.5, 0.0]), world, lam, 1)
    to_small = blend_prior(g, np.array([0.5, 0.0, 0.5]), world, lam, 1)
    sig = np.array([4.0])
    c_big = ces_cost_share(g, b0, to_big, sig, 1)[0]
    c_small = ces_cost_share(g, b0, to_small, sig, 1)[0]
    assert np.isfinite(c_big) and np.isfinite(c_small)
    assert c_big < c_small
    pure = ces_cost_share(g, s, np.array([0.5, 0.5, 0.0]), sig, 1)[0]
    assert pure == pytest.approx(1.0)  # lam = 0: the new supplier adds nothing, half the quantity is lost
