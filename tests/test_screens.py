"""Screens (EC 2021, CEPII GeoDep, single-country) on hand-made tables with hand-computed answers,
plus structural invariants on the real energy subset and the embedded sample."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.analysis.fixability import fixability
from optimize.analysis.screens import count_flags, ec_screen, geodep_screen, single_country_screen
from optimize.model.engine import Allocation
from optimize.model.instance import Instance
from optimize.solve.status import SolverInfo, Status

BLOC = (1, 2)  # a two-member bloc; 10, 20, 30 outside exporters; 99 another importer


def _flows(rows):
    df = pd.DataFrame(rows, columns=["t", "i", "j", "k", "v"])
    df["q"] = np.nan
    return df.astype({"t": "int16", "i": "int32", "j": "int32", "v": float})


HAND = _flows(
    [
        # product 000001: extra imports 10->60, 20->40 (=100); intra 2->1 25; bloc exports to outside 30+10
        (2023, 10, 1, "000001", 60.0),
        (2023, 20, 1, "000001", 20.0),
        (2023, 20, 2, "000001", 20.0),
        (2023, 2, 1, "000001", 25.0),
        (2023, 1, 99, "000001", 30.0),
        (2023, 2, 10, "000001", 10.0),
        (2023, 10, 99, "000001", 100.0),
        (2023, 30, 99, "000001", 50.0),
        # product 000002: extra imports 50/50/50; intra 1->2 10; bloc exports 200
        (2023, 10, 1, "000002", 50.0),
        (2023, 20, 1, "000002", 50.0),
        (2023, 30, 2, "000002", 50.0),
        (2023, 1, 2, "000002", 10.0),
        (2023, 1, 99, "000002", 200.0),
    ]
)


def test_ec_screen_hand_case():
    out = ec_screen(HAND, BLOC).set_index("k")
    a = out.loc["000001"]
    # HHI extra = 0.6^2 + 0.4^2 = 0.52; extra share = 100 / 125 = 0.8; ratio = 100 / (30 + 10) = 2.5
    assert a["hhi_extra"] == pytest.approx(0.52)
    assert a["extra_share"] == pytest.approx(0.8)
    assert a["import_export_ratio"] == pytest.approx(2.5)
    assert a["extra_exports_usd"] == pytest.approx(40_000.0)  # BACI kUSD in, USD out
    assert bool(a["flagged"])
    b = out.loc["000002"]
    # HHI = 3 * (1/3)^2 = 1/3 (fails); share = 150 / 160 = 0.9375 (passes); ratio = 150 / 200 = 0.75 (fails)
    assert b["hhi_extra"] == pytest.approx(1 / 3)
    assert b["extra_share"] == pytest.approx(0.9375)
    assert b["import_export_ratio"] == pytest.approx(0.75)
    assert not b["pass_hhi"] and b["pass_extra_share"] and not b["pass_ratio"] and not b["flagged"]
    # raising the HHI threshold above 0.52 un-flags product 1
    assert not ec_screen(HAND, BLOC, hhi_threshold=0.55).set_index("k").loc["000001", "flagged"]


def test_ec_ratio_infinite_without_exports():
    df = _flows([(2023, 10, 1, "000003", 5.0)])
    row = ec_screen(df, BLOC).iloc[0]
    # 5 kUSD imports, no bloc exports: ratio is +inf and passes; single supplier: HHI 1, share 1
    assert np.isinf(row["import_export_ratio"]) and row["flagged"]


MULTI = _flows(
    [
        # 2021 and 2023: importer 10->90, 20->10; bloc exports 1->99 10
        (2021, 10, 1, "00000A", 90.0), (2021, 20, 1, "00000A", 10.0), (2021, 1, 99, "00000A", 10.0),
        (2023, 10, 1, "00000A", 90.0), (2023, 20, 1, "00000A", 10.0), (2023, 1, 99, "00000A", 10.0),
        # 2022: 10->50, 20->30, 30->20; bloc exports 10
        (2022, 10, 1, "00000A", 50.0), (2022, 20, 1, "00000A", 30.0), (2022, 30, 1, "00000A", 20.0),
        (2022, 1, 99, "00000A", 10.0),
        # product B exists only in 2023, like 2021 of A
        (2023, 10, 1, "00000B", 90.0), (2023, 20, 1, "00000B", 10.0), (2023, 1, 99, "00000B", 10.0),
    ]
)


def test_geodep_persistence_hand_case():
    out = geodep_screen(MULTI, BLOC).set_index("k")
    a = out.loc["00000A"]
    # importer HHI: 2021/2023 0.81+0.01 = 0.82 (pass), 2022 .25+.09+.04 = 0.38 (fail) -> 2 of 3
    # world HHI: 2021/2023 (90^2+10^2+10^2)/110^2 = 0.686 (pass); 2022 (50^2+30^2+20^2+10^2)/110^2 = 0.322 (fail)
    # ratio: 100/10 = 10 every year -> 3 of 3
    assert a["n_hhi_importer"] == 2 and a["n_hhi_world_exports"] == 2 and a["n_ratio"] == 3
    assert a["hhi_importer"] == pytest.approx(0.82)
    assert a["hhi_world_exports"] == pytest.approx(8300 / 12100)
    assert bool(a["flagged"])
    # product B passes only in 2023: 1 of 3 years, so it fails persistence
    b = out.loc["00000B"]
    assert b["n_hhi_importer"] == 1 and not b["flagged"]
    # requiring all 3 years un-flags A
    assert not geodep_screen(MULTI, BLOC, min_years=3).set_index("k").loc["00000A", "flagged"]


def test_geodep_single_year_note():
    out = geodep_screen(MULTI, BLOC, years=[2023])
    assert out["note"].str.contains("single year").all()
    # 2023 alone: A and B both pass all three criteria in that one year
    assert out.set_index("k")["flagged"].to_dict() == {"00000A": True, "00000B": True}


def test_single_country_hand_case():
    out = single_country_screen(HAND, BLOC, intra_bloc="exclude").set_index("k")
    # product 1: top supplier 10 with 60/100 = 0.6 -> above 50, not above 70
    assert out.loc["000001", "top_supplier_code"] == 10 and out.loc["000001", "top_supplier"] == "?10"  # no ISO3
    assert out.loc["000001", "top_share"] == pytest.approx(0.6)
    assert out.loc["000001", "above_50"] and not out.loc["000001", "above_70"]
    # product 2: three suppliers at 1/3; tie broken by lowest code (10)
    assert out.loc["000002", "top_supplier_code"] == 10 and not out.loc["000002", "flagged"]
    assert count_flags(out.reset_index())["above_50"] == 1
    # restricted to supplier 20: 40/100 = 0.4 -> not flagged
    sup = single_country_screen(HAND, BLOC, supplier=20, intra_bloc="exclude").set_index("k")
    assert sup.loc["000001", "supplier_share"] == pytest.approx(0.4) and not sup["flagged"].any()
    # min value USD 120,000 drops product 1 (100 kUSD extra imports), keeps product 2 (150)
    assert single_country_screen(HAND, BLOC, min_value_usd=120_000, intra_bloc="exclude")["k"].tolist() == ["000002"]
    assert out.loc["000002", "total_usd"] == pytest.approx(150_000.0)  # USD, as every user-facing table


def test_single_country_intra_bloc_include_counts_members():
    # include (the run's default): member 2 supplies 25 of product 1 -> total 125, top share 60/125 = 0.48
    out = single_country_screen(HAND, BLOC).set_index("k")
    assert out.loc["000001", "total_usd"] == pytest.approx(125_000.0)
    assert out.loc["000001", "top_share"] == pytest.approx(0.48) and not out.loc["000001", "flagged"]
    # product 2: 50/50/50 from outside + 10 from member 1 -> 160; top (10, lowest code) 50/160
    assert out.loc["000002", "top_share"] == pytest.approx(50 / 160)
    assert out.attrs["intra_bloc"] == "include"


def test_single_country_stage_filter():
    stages = pd.DataFrame({"k": ["000001", "000002"], "stage": ["intermediate", "final"]})
    out = single_country_screen(HAND, BLOC, stage="intermediate", stages=stages)
    assert out["k"].tolist() == ["000001"]


def _hand_allocation(x_after):
    # product 000001 for the bloc: pairs member 2 (25), 10 risk (60), 20 (40), 30 (0); total 125
    inst = Instance(
        importer="B", importer_codes=BLOC, year=2023, risk_codes=(10,), products=np.array(["000001"]),
        total_kusd=np.array([125.0]), pair_product=np.zeros(4, dtype=np.int32),
        pair_exporter=np.array([2, 10, 20, 30], dtype=np.int32), x0_kusd=np.array([25.0, 60.0, 40.0, 0.0]),
        cap_kusd=np.array([0.0, 0.0, 10.0, 40.0]), upper_kusd=np.array([25.0, 60.0, 50.0, 40.0]),
        is_risk=np.array([False, True, False, False]), risk_weight=np.array([0.0, 1.0, 0.0, 0.0]),
        world_exports_kusd=np.array([35.0, 160.0, 40.0, 50.0]), row_exports_kusd=np.array([10.0, 100.0, 0.0, 50.0]),
        x0_tonnes=np.full(4, np.nan), world_tonnes=np.full(4, np.nan),
    )
    return Allocation(inst, np.asarray(x_after, dtype=float), Status.OPTIMAL, SolverInfo("highs", "hand"))


def test_fixability_hand_case():
    # after: 10 -> 10, 20 -> 50, 30 -> 40: extra shares 0.1, 0.5, 0.4; HHI .01+.25+.16 = 0.42
    alloc = _hand_allocation([25.0, 10.0, 50.0, 40.0])
    single = fixability(single_country_screen(HAND, BLOC, intra_bloc="exclude"), alloc).set_index("k")
    assert single.loc["000001", "top_share_after"] == pytest.approx(0.5)
    assert single.loc["000001", "risk_share_after"] == pytest.approx(10 / 125)
    assert bool(single.loc["000001", "fixed"])  # 0.5 is not > 0.5
    ec = fixability(ec_screen(HAND, BLOC), alloc).set_index("k")
    assert ec.loc["000001", "hhi_extra_after"] == pytest.approx(0.42)
    assert not ec.loc["000001", "fixed"]  # 0.42 > 0.4, share 0.8 and ratio 2.5 unchanged


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([1, 2, 10, 20, 30, 99]), st.sampled_from([1, 2, 10, 99]),
                  st.sampled_from(["000001", "000002"]), st.floats(0.001, 1e4)),
        min_size=1, max_size=25,
    ),
    st.floats(0.05, 0.95),
)
def test_ec_flags_consistent_with_thresholds(rows, th):
    df = _flows([(2023, i, j, k, v) for i, j, k, v in rows if i != j])
    if df.empty:
        return
    out = ec_screen(df, BLOC, hhi_threshold=th, extra_share_threshold=th)
    _check_invariants_ec(out, th, th, 1.0)


def _check_invariants_ec(out, hhi_th, share_th, ratio_th):
    h = out["hhi_extra"].dropna()
    assert ((h >= -1e-12) & (h <= 1 + 1e-12)).all()
    s = out["extra_share"].dropna()
    assert ((s >= 0) & (s <= 1 + 1e-12)).all()
    assert (out["pass_hhi"] == (out["hhi_extra"].fillna(0) > hhi_th)).all()
    assert (out["pass_extra_share"] == (out["extra_share"].fillna(0) > share_th)).all()
    assert (out["pass_ratio"] == (out["import_export_ratio"].fillna(0) > ratio_th)).all()
    assert (out["flagged"] == (out["pass_hhi"] & out["pass_extra_share"] & out["pass_ratio"])).all()
    assert not out.duplicated(["k", "year"]).any()


def _check_real(flows, importer_codes):
    ec = ec_screen(flows, importer_codes)
    _check_invariants_ec(ec, 0.4, 0.5, 1.0)
    geo = geodep_screen(flows, importer_codes)
    for col in ("hhi_importer", "hhi_world_exports"):
        v = geo[col].dropna()
        assert ((v >= 0) & (v <= 1 + 1e-12)).all()
    # joint rule: flagged iff all three criteria hold together in enough years; never more such years than
    # years where any single criterion holds
    assert (geo["flagged"] == (geo["n_years_all_criteria"] >= geo.attrs["min_years"])).all()
    for col in ("n_hhi_importer", "n_hhi_world_exports", "n_ratio"):
        assert (geo["n_years_all_criteria"] <= geo[col]).all()
    single = single_country_screen(flows, importer_codes)
    assert ((single["top_share"] > 0) & (single["top_share"] <= 1 + 1e-12)).all()
    assert (single["above_50"] == (single["top_share"] > 0.5)).all()
    assert (single["above_70"] <= single["above_50"]).all()  # 70% implies 50%
    assert geo["k"].is_unique and geo["k"].str.len().eq(6).all()
    return ec, geo, single


def test_screens_on_real_energy_subset(energy_parquet):
    from optimize.data.countries import EU27

    flows = pd.read_parquet(energy_parquet)
    ec, geo, single = _check_real(flows, EU27)
    assert len(ec) == flows["k"].nunique()  # one year, every product imported by the EU
    assert geo["note"].str.contains("single year").all()
    # China-only screen is a subset of the top-supplier screen
    china = single_country_screen(flows, EU27, supplier=156)
    assert set(china.loc[china["flagged"], "k"]) <= set(single.loc[single["flagged"], "k"])


def test_screens_on_embedded_sample():
    baci = pytest.importorskip("optimize.data.baci")
    from optimize.errors import DataError

    try:
        data = baci.read_baci()
    except DataError as exc:
        if "not found" not in str(exc):
            raise
        pytest.skip(f"embedded sample not generated yet: {exc}")
    from optimize.data.countries import EU27

    _check_real(data.flows, EU27)


def test_single_country_stage_from_stage_table(energy_parquet):
    from optimize.data.countries import EU27
    from optimize.data.stages import assign_stages
    from optimize.errors import InputError

    flows = pd.read_parquet(energy_parquet)
    every = single_country_screen(flows, EU27)
    capital = single_country_screen(flows, EU27, stage="capital")
    stage_of = assign_stages(every["k"]).set_index("k")["stage"]
    assert set(capital["k"]) == {k for k in every["k"] if stage_of[k] == "capital"}
    with pytest.raises(InputError):
        single_country_screen(flows, EU27, stage="no-such-stage")


def test_fixability_on_engine_result(energy_parquet):
    """Screens read beside the engine's re-allocation: risk share never rises, flags consistent."""
    from optimize.data.countries import EU27
    from optimize.model.engine import reallocate
    from optimize.model.instance import build_instance

    flows = pd.read_parquet(energy_parquet)
    inst = build_instance(flows, importer="EU27", importer_codes=EU27, year=2023, products=None,
                          risk_codes=[156, 842, 643])
    alloc = reallocate([inst])[0]
    scr = single_country_screen(flows, EU27, supplier=156)
    fx = fixability(scr, alloc)
    assert set(fx["k"]) == set(scr.loc[scr["flagged"], "k"])
    assert (fx["risk_share_after"] <= fx["risk_share_before"] + 1e-12).all()
    assert (fx["fixed"] == (fx["supplier_share_after"] <= 0.5)).all()
    # before the re-allocation the screen's own share is reproduced from the instance
    np.testing.assert_allclose(fx["supplier_share_before"], fx["supplier_share"], rtol=1e-9)
    ec = fixability(ec_screen(flows, EU27), alloc)
    np.testing.assert_allclose(ec["hhi_extra_before"], ec["hhi_extra"], rtol=1e-9)
