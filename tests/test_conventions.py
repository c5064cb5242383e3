"""The model's conventions on hand-computable cases (docs/model.md "Conventions").

No self-supply, the intra-bloc switch, the isolated export ban. Values in kUSD;
every expected number is worked out by hand in the comments.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.analysis.screens import single_country_screen
from optimize.errors import ScenarioError
from optimize.model.engine import EngineOptions, reallocate
from optimize.model.instance import CapRule, build_instance

CHN, USA, DEU, NOR, OTHER = 156, 842, 276, 579, 9
M1, M2 = 1, 2  # two members of a bloc


def flows(rows):
    df = pd.DataFrame(rows, columns=["i", "j", "k", "v"])
    df.insert(0, "t", np.int16(2023))
    df["q"] = np.nan
    return df.astype({"i": "int32", "j": "int32"})


def after_by_exporter(inst, alloc, product="00000A"):
    p = int(np.flatnonzero(inst.products == product)[0])
    m = inst.pair_product == p
    return dict(zip(inst.pair_exporter[m].tolist(), alloc.x_after_kusd[m].tolist(), strict=False))


# DEU imports A: CHN 60, USA 40 (USA world exports 100 -> cap 5). DEU exports A to others: 1000 (cap would be 50).
SELF = flows([(CHN, DEU, "00000A", 60.0), (USA, DEU, "00000A", 40.0), (USA, OTHER, "00000A", 60.0),
              (DEU, OTHER, "00000A", 1000.0), (CHN, OTHER, "00000A", 10.0)])


def _self_instance(**kw):
    return build_instance(SELF, importer="DEU", importer_codes=[DEU], year=2023, products=None,
                          risk_codes=[CHN], cap=CapRule(pp=5), **kw)


def test_single_country_importer_gains_nothing_from_itself():
    inst = _self_instance()
    assert DEU not in inst.pair_exporter[inst.alternatives()].tolist()
    (alloc,) = reallocate([inst])
    got = after_by_exporter(inst, alloc)
    # only USA can replace China: cut = min(60, 5) = 5
    assert got.get(DEU, 0.0) == 0.0
    assert got[CHN] == pytest.approx(55.0) and got[USA] == pytest.approx(45.0)


def test_self_supply_true_allows_domestic_diversion():
    inst = _self_instance(self_supply=True)
    (alloc,) = reallocate([inst])
    got = after_by_exporter(inst, alloc)
    # DEU's cap: min(5% x 1000, exports outside DEU 1000) = 50; cut = min(60, 5 + 50) = 55
    assert got[DEU] == pytest.approx(50.0) and got[CHN] == pytest.approx(5.0)
    assert inst.meta["self_supply"] is True


# Bloc {M1, M2} imports A: CHN 60 -> M1, NOR 20 -> M1, member M2 -> M1 20.
# M2 world exports 400 (20 to M1, 380 outside): cap 5% x 400 = 20; NOR world 200: cap 10.
BLOC = flows([(CHN, M1, "00000A", 60.0), (NOR, M1, "00000A", 20.0), (M2, M1, "00000A", 20.0),
              (M2, OTHER, "00000A", 380.0), (NOR, OTHER, "00000A", 180.0), (CHN, OTHER, "00000A", 40.0)])


def _bloc(intra_bloc):
    return build_instance(BLOC, importer="B", importer_codes=[M1, M2], year=2023, products=None,
                          risk_codes=[CHN], cap=CapRule(pp=5), intra_bloc=intra_bloc)


def test_bloc_member_gains_in_include_mode():
    inst = _bloc("include")
    (alloc,) = reallocate([inst])
    got = after_by_exporter(inst, alloc)
    assert inst.total_kusd.tolist() == [100.0]
    # cut = min(60, 20 + 10) = 30: the member takes its whole cap, 20 -> 40
    assert got[M2] == pytest.approx(40.0) and got[NOR] == pytest.approx(30.0) and got[CHN] == pytest.approx(30.0)


def test_bloc_member_gains_nothing_in_exclude_mode():
    inst = _bloc("exclude")
    (alloc,) = reallocate([inst])
    got = after_by_exporter(inst, alloc)
    # totals on imports from outside the bloc: 60 + 20 = 80; only NOR (cap 10) replaces China
    assert inst.total_kusd.tolist() == [80.0]
    assert M2 not in got
    assert got[CHN] == pytest.approx(50.0) and got[NOR] == pytest.approx(30.0)
    # NOR's "exports outside the importer" are still its exports outside the bloc: 180
    assert inst.row_exports_kusd[inst.pair_exporter == NOR].tolist() == [180.0]


def test_single_supplier_dependence_is_one_definition():
    """The run's single_country counts equal screen single's, in both intra-bloc modes."""
    from optimize.analysis.metrics import compute_tables

    for mode, flagged in (("include", False), ("exclude", True)):  # CHN 60/100 = 0.6 vs 60/80 = 0.75
        inst = _bloc(mode)
        (alloc,) = reallocate([inst])
        t = compute_tables(inst, alloc, None, None)
        run_any = t.single_country.set_index(["threshold", "supplier"]).loc[(0.7, "any"), "n_before"]
        scr = single_country_screen(BLOC, [M1, M2], thresholds=(0.5, 0.7), intra_bloc=mode)
        assert int(scr["above_70"].sum()) == run_any == int(flagged)


# Isolated ban: China banned on A only. Product B (China too, not banned) and USA on A must not move.
BAN = flows([
    (CHN, DEU, "00000A", 60.1), (USA, DEU, "00000A", 10.3), (NOR, DEU, "00000A", 20.7), (NOR, OTHER, "00000A", 379.3),
    (CHN, DEU, "00000B", 33.3), (NOR, DEU, "00000B", 0.1), (NOR, OTHER, "00000B", 999.9),
])


def test_ban_moves_only_banned_flows():
    inst = build_instance(BAN, importer="DEU", importer_codes=[DEU], year=2023, products=None,
                          risk_codes=[CHN, USA], cap=CapRule(pp=5), ban={CHN: {"00000A"}})
    (alloc,) = reallocate([inst])
    a, b = after_by_exporter(inst, alloc, "00000A"), after_by_exporter(inst, alloc, "00000B")
    # A: China's 60.1 goes; NOR's cap 5% x 400 = 20 replaces part, the rest (40.1) is short; USA keeps 10.3 exactly
    assert a[CHN] == 0.0 and a[USA] == 10.3 and a[NOR] == pytest.approx(40.7)
    assert alloc.shortfall_kusd[0] == pytest.approx(40.1)
    # B is untouched bit for bit, although China is a risk country there and NOR could replace it
    assert b == {CHN: 33.3, NOR: 0.1}


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_products=st.integers(1, 6), n_exporters=st.integers(2, 8),
       pp=st.floats(0, 60), n_banned=st.integers(1, 3))
def test_ban_leaves_every_non_banned_flow_bit_identical(seed, n_products, n_exporters, pp, n_banned):
    rng = np.random.default_rng(seed)
    rows = [(int(e), int(j), f"{k:06d}", float(np.round(rng.lognormal(2, 1.5), 3)))
            for k in range(n_products) for e in range(1, n_exporters + 1) for j in (DEU, OTHER)
            if rng.random() < 0.7]
    df = flows(rows)
    banned_products = {f"{k:06d}" for k in rng.choice(n_products, size=min(n_banned, n_products), replace=False)}
    try:
        inst = build_instance(df, importer="DEU", importer_codes=[DEU], year=2023, products=None,
                              risk_codes=[1, 2], cap=CapRule(pp=pp), ban={1: banned_products})
    except ScenarioError:  # DEU imports nothing in this draw
        return
    (alloc,) = reallocate([inst], EngineOptions())
    hs6 = inst.products[inst.pair_product]
    banned = (inst.pair_exporter == 1) & np.isin(hs6, sorted(banned_products))
    moves = np.isin(hs6, sorted(banned_products)) & inst.alternatives()
    still = ~banned & ~moves
    assert np.array_equal(alloc.x_after_kusd[still], inst.x0_kusd[still])  # bit-identical, not approx
    assert (alloc.x_after_kusd[banned] == 0.0).all()
    # banned imports = replaced by alternatives + shortfall
    replaced = float((alloc.x_after_kusd - inst.x0_kusd)[moves].sum())
    assert replaced + float(alloc.shortfall_kusd.sum()) == pytest.approx(float(inst.x0_kusd[banned].sum()), abs=1e-7)
