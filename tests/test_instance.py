"""build_instance: pair selection, caps per basis (hand-computed), validation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimize.errors import ScenarioError
from optimize.model.instance import CapRule, build_instance

J, OTHER = 1, 2
CHN, USA, DEU, JPN, KOR = 156, 842, 276, 392, 410


def flows(rows):
    df = pd.DataFrame(rows, columns=["i", "j", "k", "v"])
    df.insert(0, "t", np.int16(2023))
    df["q"] = np.nan
    return df.astype({"i": "int32", "j": "int32"})


ROWS = [
    (CHN, J, "000001", 60.0), (CHN, OTHER, "000001", 100.0),
    (DEU, J, "000001", 20.0), (DEU, OTHER, "000001", 380.0),
    (JPN, J, "000001", 20.0), (JPN, OTHER, "000001", 180.0),
    (KOR, OTHER, "000001", 100.0),
    (USA, OTHER, "000002", 50.0),  # product 2: J imports none -> dropped
]


def test_pairs_sorted_and_caps_world_exports():
    inst = build_instance(flows(ROWS[::-1]), importer="J", importer_codes=[J], year=2023,
                          products=["000001", "000002", "999999"], risk_codes=[CHN])
    assert list(inst.products) == ["000001"]
    assert list(inst.pair_exporter) == [CHN, DEU, JPN, KOR]
    np.testing.assert_allclose(inst.x0_kusd, [60, 20, 20, 0])
    np.testing.assert_allclose(inst.total_kusd, [100])
    # 5% of world exports, at most exports outside J: DEU 5%*400=20, JPN 5%*200=10, KOR 5%*100=5
    np.testing.assert_allclose(inst.cap_kusd, [0, 20, 10, 5])
    np.testing.assert_allclose(inst.upper_kusd, [60, 40, 30, 5])
    np.testing.assert_allclose(inst.lower(), [0, 20, 20, 0])
    assert inst.meta["dropped_products"] == ["000002"]
    assert inst.meta["absent_products"] == ["999999"]


@pytest.mark.parametrize("basis, expected", [
    ("importer-market", [0, 10, 10, 10]),  # 10% of T=100, capped by exports outside J (380, 180, 100)
    ("rest-of-world", [0, 38, 18, 10]),
])
def test_cap_bases(basis, expected):
    inst = build_instance(flows(ROWS), importer="J", importer_codes=[J], year=2023, products=None,
                          risk_codes=[CHN], cap=CapRule(pp=10, basis=basis))
    np.testing.assert_allclose(inst.cap_kusd, expected)


def test_overrides_product_wins_and_friends():
    cap = CapRule(pp=5, exporter_pp={DEU: 50, JPN: 50}, product_pp={"000001": 1})
    inst = build_instance(flows(ROWS), importer="J", importer_codes=[J], year=2023, products=None,
                          risk_codes=[CHN], cap=cap, friends=[DEU, KOR])
    np.testing.assert_allclose(inst.cap_kusd, [0, 4, 0, 1])  # JPN is not a friend: fixed at x0
    np.testing.assert_allclose(inst.upper_kusd, [60, 24, 20, 1])
    assert list(inst.alternatives()) == [False, True, False, True]


def test_cap_never_exceeds_exports_outside_importer():
    rows = [(CHN, J, "000003", 10.0), (DEU, J, "000003", 95.0), (DEU, OTHER, "000003", 5.0)]
    inst = build_instance(flows(rows), importer="J", importer_codes=[J], year=2023, products=None,
                          risk_codes=[CHN], cap=CapRule(pp=50))
    np.testing.assert_allclose(inst.cap_kusd, [0, 5])  # 50% of 100 = 50, but only 5 go elsewhere


def test_bloc_counts_intra_bloc_and_member_as_alternative():
    rows = [(CHN, J, "000001", 10.0), (OTHER, J, "000001", 5.0), (DEU, OTHER, "000001", 40.0)]
    inst = build_instance(flows(rows), importer="bloc", importer_codes=[J, OTHER], year=2023, products=None,
                          risk_codes=[CHN])
    np.testing.assert_allclose(inst.total_kusd, [55])  # DEU->OTHER counts as bloc import
    np.testing.assert_allclose(inst.row_exports_kusd, [0, 0, 0])


def test_share_limit_and_ban():
    inst = build_instance(flows(ROWS), importer="J", importer_codes=[J], year=2023, products=None,
                          risk_codes=[CHN], share_limit=0.5, ban={CHN: {"000001"}})
    np.testing.assert_allclose(inst.upper_kusd, [0, 40, 30, 5])  # ban -> 0; 0.5*100 above every other bound
    assert inst.shortfall_allowed.tolist() == [True]
    tight = build_instance(flows(ROWS), importer="J", importer_codes=[J], year=2023, products=None,
                           risk_codes=[CHN], share_limit=0.3)
    # upper: CHN 30, DEU 30, JPN 30, KOR 5 -> 95 < 100: infeasible
    assert tight.share_infeasible.tolist() == [True]
    assert tight.meta["share_infeasible_products"] == ["000001"]
    ok = build_instance(flows(ROWS), importer="J", importer_codes=[J], year=2023, products=None,
                        risk_codes=[CHN], share_limit=0.35)
    assert ok.share_infeasible.tolist() == [False]


@pytest.mark.parametrize("kwargs, field", [
    (dict(importer_codes=[]), "importer_codes"),
    (dict(risk_codes=[]), "risk_codes"),
    (dict(cap=CapRule(pp=120)), "cap.pp"),
    (dict(cap=CapRule(basis="gdp")), "cap.basis"),
    (dict(share_limit=0.0), "share_limit"),
    (dict(friends=[CHN, DEU]), "friends"),
    (dict(ban={DEU: {"000001"}}), "ban"),
])
def test_validation_names_field(kwargs, field):
    args = dict(importer="J", importer_codes=[J], year=2023, products=None, risk_codes=[CHN])
    args.update(kwargs)
    with pytest.raises(ScenarioError) as err:
        build_instance(flows(ROWS), **args)
    assert err.value.field == field


def test_energy_subset_totals(energy_parquet):
    df = pd.read_parquet(energy_parquet)
    eu27 = [40, 56, 100, 191, 196, 203, 208, 233, 246, 251, 276, 300, 348, 372, 380, 428, 440, 442, 470, 528,
            616, 620, 642, 703, 705, 724, 752]
    inst = build_instance(df, importer="EU27", importer_codes=eu27, year=2023, products=None,
                          risk_codes=[156, 842, 643])
    direct = df[df["j"].isin(eu27)].groupby("k")["v"].sum()
    np.testing.assert_allclose(inst.total_kusd, direct.loc[inst.products].to_numpy(), rtol=1e-12)
    order = np.lexsort((inst.pair_exporter, inst.pair_product))
    assert (order == np.arange(inst.n_pairs)).all()
    assert (inst.cap_kusd <= inst.row_exports_kusd + 1e-9).all()
