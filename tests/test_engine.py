"""reallocate on hand-computed cases (the docs' worked example) and the real energy subset."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimize.errors import InfeasibleError
from optimize.model.engine import EngineOptions, reallocate
from optimize.model.instance import build_instance
from optimize.model.lp import closed_form

J, OTHER = 1, 2
CHN, USA, RUS, DEU, JPN, KOR, NOR, GBR = 156, 842, 643, 276, 392, 410, 579, 826
EU27 = [40, 56, 100, 191, 196, 203, 208, 233, 246, 251, 276, 300, 348, 372, 380, 428, 440, 442, 470, 528,
        616, 620, 642, 703, 705, 724, 752]


def flows(rows):
    df = pd.DataFrame(rows, columns=["i", "j", "k", "v"])
    df.insert(0, "t", np.int16(2023))
    df["q"] = np.nan
    return df.astype({"i": "int32", "j": "int32"})


# docs/model.md worked example: product A (total 100), product B (total 50)
EXAMPLE = flows([
    (CHN, J, "00000A", 60.0), (CHN, OTHER, "00000A", 500.0),
    (USA, J, "00000A", 10.0), (USA, OTHER, "00000A", 90.0),
    (DEU, J, "00000A", 20.0), (DEU, OTHER, "00000A", 380.0),
    (JPN, J, "00000A", 10.0), (JPN, OTHER, "00000A", 190.0),
    (KOR, OTHER, "00000A", 100.0),
    (RUS, J, "00000B", 10.0), (RUS, OTHER, "00000B", 5.0),
    (NOR, J, "00000B", 30.0), (NOR, OTHER, "00000B", 970.0),
    (GBR, J, "00000B", 10.0), (GBR, OTHER, "00000B", 90.0),
])


def example(**kw):
    return build_instance(EXAMPLE, importer="J", importer_codes=[J], year=2023, products=None,
                          risk_codes=[CHN, USA, RUS], **kw)


def flows_by(inst, x):
    return {(str(inst.products[p]), int(e)): float(v) for p, e, v in zip(inst.pair_product, inst.pair_exporter, x, strict=False)}


@pytest.mark.parametrize("backend", ["highs", "pyomo"])
def test_worked_example_proportional(backend):
    inst = example()
    (alloc,) = reallocate([inst], EngineOptions(backend=backend))
    got = flows_by(inst, alloc.x_after_kusd)
    expected = {("00000A", CHN): 30, ("00000A", USA): 5, ("00000A", DEU): 40, ("00000A", JPN): 20,
                ("00000A", KOR): 5, ("00000B", RUS): 0, ("00000B", NOR): 30 + 10 * 50 / 55,
                ("00000B", GBR): 10 + 10 * 5 / 55}
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-7), key
    assert alloc.solver.objective == pytest.approx(35.0, abs=1e-7)
    # cap marginal: product A keeps risk -> weight 1 on each alternative; B has none left -> 0
    marg = flows_by(inst, alloc.cap_marginal)
    assert marg[("00000A", DEU)] == pytest.approx(1.0) and marg[("00000A", KOR)] == pytest.approx(1.0)
    assert marg[("00000B", NOR)] == 0.0 and marg[("00000B", GBR)] == 0.0
    assert marg[("00000A", CHN)] == 0.0


def test_worked_example_min_hhi_and_priority():
    inst = example()
    (alloc,) = reallocate([inst], EngineOptions(spread="min-hhi", risk_split="priority", priority=(USA, CHN)))
    got = flows_by(inst, alloc.x_after_kusd)
    assert got[("00000B", NOR)] == pytest.approx(35.0) and got[("00000B", GBR)] == pytest.approx(15.0)
    # priority: USA (10) cut first, then China loses the remaining 25 of the cut of 35
    assert got[("00000A", USA)] == pytest.approx(0.0, abs=1e-9)
    assert got[("00000A", CHN)] == pytest.approx(35.0)


def test_weights_cut_heavier_risk_first():
    inst = example(risk_weights={USA: 3.0})
    (alloc,) = reallocate([inst])
    got = flows_by(inst, alloc.x_after_kusd)
    assert got[("00000A", USA)] == pytest.approx(0.0, abs=1e-9)
    assert got[("00000A", CHN)] == pytest.approx(35.0)
    assert alloc.solver.objective == pytest.approx(35.0)
    assert flows_by(inst, alloc.cap_marginal)[("00000A", DEU)] == pytest.approx(1.0)  # China (w=1) is marginal


def test_ban_shortfall_by_hand():
    # ban China in A: 60 must go; alternatives absorb 35 -> shortfall 25, USA keeps its 10
    inst = example(ban={CHN: {"00000A"}})
    (alloc,) = reallocate([inst])
    got = flows_by(inst, alloc.x_after_kusd)
    assert got[("00000A", CHN)] == pytest.approx(0.0, abs=1e-9)
    assert got[("00000A", USA)] == pytest.approx(10.0)
    assert alloc.shortfall_kusd.tolist() == pytest.approx([25.0, 0.0])


def test_share_limit_infeasible_raises_or_keeps_going():
    # product A at s = 0.3: bounds China 30, USA 10, DEU 30 (but lower 20), JPN 20, KOR 5 -> 95 < 100
    inst = example(share_limit=0.3)
    with pytest.raises(InfeasibleError, match="00000A"):
        reallocate([inst])
    (alloc,) = reallocate([inst], EngineOptions(keep_going=True))
    assert alloc.infeasible_products == ["00000A", "00000B"]
    assert alloc.notes and "00000A" in alloc.notes[0]
    got = flows_by(inst, alloc.x_after_kusd)
    assert got[("00000A", CHN)] + got[("00000A", USA)] == pytest.approx(35.0)  # solved without the limit
    # product B at 0.3: everyone <= 15; NOR lower bound 30 > 15 -> B infeasible too
    assert inst.meta["share_infeasible_products"] == ["00000A", "00000B"]


def test_share_limit_feasible_binds():
    inst = example(share_limit=0.7)  # B: Norway <= 35 -> Russia 0 still reachable (35 + 15 = 50)
    (alloc,) = reallocate([inst])
    got = flows_by(inst, alloc.x_after_kusd)
    assert got[("00000B", NOR)] <= 35.0 + 1e-9
    assert got[("00000B", RUS)] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(alloc.x_after_kusd, closed_form(inst), atol=1e-7)


def test_save_lp_writes_file(tmp_path):
    path = tmp_path / "model.mps"
    (alloc,) = reallocate([example()], EngineOptions(save_lp=str(path)))
    assert path.exists() and path.stat().st_size > 0
    assert alloc.solver.objective == pytest.approx(35.0)


def test_energy_subset_lp_equals_closed_form(energy_parquet):
    df = pd.read_parquet(energy_parquet)
    inst = build_instance(df, importer="EU27", importer_codes=EU27, year=2023, products=None,
                          risk_codes=[156, 842, 643])
    (alloc,) = reallocate([inst])
    cf = closed_form(inst)
    risk_lp = np.bincount(inst.pair_product, weights=np.where(inst.is_risk, alloc.x_after_kusd, 0), minlength=inst.n_products)
    risk_cf = np.bincount(inst.pair_product, weights=np.where(inst.is_risk, cf, 0), minlength=inst.n_products)
    # independent oracle: max(0, R_k - C_k)
    R = np.bincount(inst.pair_product, weights=np.where(inst.is_risk, inst.x0_kusd, 0), minlength=inst.n_products)
    C = np.bincount(inst.pair_product, weights=inst.cap_kusd, minlength=inst.n_products)
    np.testing.assert_allclose(risk_cf, np.maximum(0, R - C), rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(risk_lp, risk_cf, rtol=1e-9, atol=1e-6)
    assert alloc.solver.objective == pytest.approx(float(np.maximum(0, R - C).sum()), rel=1e-9)
    # cap marginal is the risk weight (1) exactly where risk remains, else 0
    alt = inst.alternatives() & (inst.cap_kusd > 0)
    remains = (R - C > 1e-6 * np.maximum(R, 1))[inst.pair_product]
    clear = (C - R > 1e-6 * np.maximum(R, 1))[inst.pair_product]
    np.testing.assert_allclose(alloc.cap_marginal[alt & remains], 1.0, atol=1e-7)
    np.testing.assert_allclose(alloc.cap_marginal[alt & clear], 0.0, atol=1e-7)
