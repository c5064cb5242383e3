"""Tests of optimize.analysis.metrics: hand-computed examples and hypothesis invariants with independent oracles."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.analysis.metrics import compute_tables, country_labels
from optimize.model.engine import Allocation
from optimize.model.instance import Instance
from optimize.solve.status import SolverInfo, Status

CHN, USA, RUS, DEU, FRA, JPN, NOR, CAN = 156, 842, 643, 276, 251, 392, 579, 124
RISK = (CHN, USA, RUS)
COUNTRIES = pd.DataFrame({
    "baci_code": [CHN, USA, RUS, DEU, FRA, JPN, NOR],
    "iso3": ["CHN", "USA", "RUS", "DEU", "FRA", "JPN", "NOR"],
    "name": ["China", "United States", "Russia", "Germany", "France", "Japan", "Norway"],
})


def make_instance(rows, *, importer_codes=(DEU, FRA), risk_codes=RISK, importer="EU27"):
    """rows: list of (hs6, exporter_code, x0_kusd, cap_kusd); pairs are sorted as the contract says."""
    df = pd.DataFrame(rows, columns=["k", "e", "x0", "cap"]).sort_values(["k", "e"]).reset_index(drop=True)
    products = np.array(sorted(df["k"].unique()), dtype=object)
    pidx = np.searchsorted(products, df["k"].to_numpy()).astype(np.int32)
    is_risk = df["e"].isin(risk_codes).to_numpy()
    x0 = df["x0"].to_numpy(float)
    cap = np.where(is_risk, 0.0, df["cap"].to_numpy(float))
    total = np.bincount(pidx, weights=x0, minlength=len(products))
    return Instance(
        importer=importer, importer_codes=tuple(importer_codes), year=2023, risk_codes=tuple(risk_codes),
        products=products, total_kusd=total, pair_product=pidx, pair_exporter=df["e"].to_numpy(np.int32),
        x0_kusd=x0, cap_kusd=cap, upper_kusd=x0 + cap, is_risk=is_risk,
        risk_weight=is_risk.astype(float), world_exports_kusd=x0 * 10, row_exports_kusd=x0 * 9,
        x0_tonnes=np.full(len(df), np.nan), world_tonnes=np.full(len(df), np.nan),
    ), df


def make_allocation(instance, x_after, cap_marginal=None, shortfall=None):
    return Allocation(instance=instance, x_after_kusd=np.asarray(x_after, float), status=Status.OPTIMAL,
                      solver=SolverInfo(backend="test", algorithm="hand"), cap_marginal=cap_marginal,
                      shortfall_kusd=shortfall)


PRODUCT_INFO = pd.DataFrame({"k": ["000001", "000002"], "description": ["Oil", "Pills"],
                             "sector": ["energy", "health"], "stage": ["raw", "final"]})


@pytest.fixture()
def hand():
    # product 000001: CHN 60, DEU 30 (cap 10), NOR 10 (cap 20) -> CHN 30, DEU 40, NOR 30
    # product 000002: USA 50, JPN 50 (cap 0) -> unchanged, unfixable
    inst, df = make_instance([
        ("000001", CHN, 60, 0), ("000001", DEU, 30, 10), ("000001", NOR, 10, 20),
        ("000002", USA, 50, 0), ("000002", JPN, 50, 0),
    ])
    order = {("000001", CHN): 30, ("000001", DEU): 40, ("000001", NOR): 30, ("000002", USA): 50, ("000002", JPN): 50}
    x1 = [order[(k, e)] for k, e in zip(df["k"], df["e"], strict=False)]
    return inst, make_allocation(inst, x1)


def test_hand_exposure(hand):
    t = compute_tables(*hand, PRODUCT_INFO, COUNTRIES)
    e = t.exposure.set_index("iso3")
    # basket 200 kUSD = 200,000 USD; CHN 60 -> 30, USA 50 -> 50, RUS 0
    assert e.loc["CHN", "before_usd"] == pytest.approx(60_000)
    assert e.loc["CHN", "after_usd"] == pytest.approx(30_000)
    assert e.loc["CHN", "share_before"] == pytest.approx(0.30)
    assert e.loc["CHN", "share_after"] == pytest.approx(0.15)
    assert e.loc["CHN", "change_pp"] == pytest.approx(-15.0)
    assert e.loc["USA", "share_after"] == pytest.approx(0.25)
    assert e.loc["RUS", "share_before"] == 0.0 and e.loc["RUS", "name"] == "Russia"
    assert e.loc["ALL", "share_before"] == pytest.approx(0.55)
    assert e.loc["ALL", "share_after"] == pytest.approx(0.40)


def test_hand_products_and_summary(hand):
    t = compute_tables(*hand, PRODUCT_INFO, COUNTRIES)
    p = t.products.set_index("k")
    assert p.loc["000001", "hhi_before"] == pytest.approx(0.36 + 0.09 + 0.01)
    assert p.loc["000001", "hhi_after"] == pytest.approx(0.09 + 0.16 + 0.09)
    assert p.loc["000002", "hhi_before"] == pytest.approx(0.5)
    assert p.loc["000001", "top_supplier_before"] == "CHN"
    assert p.loc["000001", "top_share_before"] == pytest.approx(0.6)
    assert p.loc["000001", "top_supplier_after"] == "DEU"
    assert p.loc["000002", "top_supplier_before"] == "JPN"  # tie 50/50 -> lowest BACI code (392 < 842)
    assert bool(p.loc["000001", "cap_binds"]) and not bool(p.loc["000002", "cap_binds"])
    assert not bool(p.loc["000001", "unfixable"]) and bool(p.loc["000002", "unfixable"])
    assert p.loc["000001", "shifted_usd"] == pytest.approx(30_000)
    assert p.loc["000002", "residual_risk_usd"] == pytest.approx(50_000)
    s = t.summary
    assert s["total_usd"] == pytest.approx(200_000)
    assert s["shifted_usd"] == pytest.approx(30_000)
    assert s["hhi_before"] == pytest.approx((0.46 + 0.5) / 2)
    assert s["hhi_after"] == pytest.approx((0.34 + 0.5) / 2)
    assert (s["n_unfixable"], s["n_cap_binds"], s["n_hhi_rises"], s["n_products"]) == (1, 1, 0, 2)


def test_hand_beneficiaries_mark_bloc_members(hand):
    # product 000001: DEU (member of the importing bloc DEU+FRA) +10 kUSD, NOR +20 kUSD
    b = compute_tables(*hand, PRODUCT_INFO, COUNTRIES).beneficiaries
    assert b["exporter"].tolist() == ["NOR", "DEU"]  # JPN unchanged, CHN a risk country
    assert b["bloc_member"].tolist() == [False, True]
    assert b["rank"].tolist() == [1, 2]
    assert b.loc[0, "increase_usd"] == pytest.approx(20_000)
    assert b.loc[0, "main_sector"] == "energy"
    assert b.loc[0, "share_before"] == pytest.approx(0.05)
    assert b.loc[0, "share_after"] == pytest.approx(0.15)
    t2 = compute_tables(*hand, PRODUCT_INFO, COUNTRIES, exclude_members=True)
    assert t2.beneficiaries["exporter"].tolist() == ["NOR"]
    for t in (compute_tables(*hand, PRODUCT_INFO, COUNTRIES), t2):  # the split does not depend on the table
        assert t.summary["shifted_to_members_usd"] == pytest.approx(10_000)
        assert t.summary["shifted_to_non_members_usd"] == pytest.approx(20_000)
        assert t.summary["n_bloc_members"] == 2


def test_single_importer_has_no_bloc_members():
    inst, _ = make_instance([("000001", CHN, 60, 0), ("000001", NOR, 10, 20)], importer_codes=(DEU,),
                            importer="DEU")
    t = compute_tables(inst, make_allocation(inst, [50, 20]), PRODUCT_INFO, COUNTRIES)
    assert t.beneficiaries["bloc_member"].tolist() == [False]
    assert (t.summary["n_bloc_members"], t.summary["shifted_to_members_usd"]) == (0, 0.0)
    assert t.summary["shifted_to_non_members_usd"] == pytest.approx(10_000)


def test_hand_breakdowns(hand):
    t = compute_tables(*hand, PRODUCT_INFO, COUNTRIES)
    s = t.by_sector.set_index("sector")
    assert s.loc["energy", "risk_share_before"] == pytest.approx(0.6)
    assert s.loc["energy", "risk_share_after"] == pytest.approx(0.3)
    assert s.loc["energy", "share_before_CHN"] == pytest.approx(0.6)
    assert s.loc["health", "share_after_USA"] == pytest.approx(0.5)
    assert s.loc["health", "n_unfixable"] == 1
    g = t.by_stage.set_index("stage")
    assert g.loc["raw", "hhi_after"] == pytest.approx(0.34)
    sc = t.single_country.set_index(["threshold", "supplier"])
    assert sc.loc[(0.5, "any"), "n_before"] == 1 and sc.loc[(0.5, "any"), "n_after"] == 0
    assert sc.loc[(0.5, "CHN"), "n_before"] == 1 and sc.loc[(0.7, "any"), "n_before"] == 0


def test_concentration_extra_bloc_and_fallback_labels(hand):
    inst, alloc = hand
    t = compute_tables(inst, alloc, None, COUNTRIES[COUNTRIES["iso3"] != "NOR"], bloc_codes=(DEU, FRA))
    c = t.concentration
    assert c["k"].tolist() == ["000002", "000001"]  # ranked by HHI: 0.5 > 0.46
    assert c.set_index("k").loc["000001", "extra_bloc_share"] == pytest.approx(0.7)  # CHN 60 + NOR 10 of 100
    assert set(t.products["sector"]) == {"unclassified"}
    assert "C579" in t.flows["exporter"].tolist()
    assert "extra_bloc_share" not in compute_tables(inst, alloc, None, COUNTRIES).concentration


def test_country_labels_fallback():
    iso, name = country_labels([CHN, 999], COUNTRIES)
    assert iso.tolist() == ["CHN", "C999"] and name.tolist() == ["China", "C999"]


def test_binding_table(hand):
    inst, alloc = hand
    marginal = np.where(inst.pair_exporter == DEU, 1.0, 0.0)
    t = compute_tables(inst, make_allocation(inst, alloc.x_after_kusd, cap_marginal=marginal), PRODUCT_INFO,
                       COUNTRIES)
    assert t.binding["exporter"].tolist() == ["DEU"]
    assert t.binding["cap_usd"].tolist() == [pytest.approx(10_000)]


def test_shortfall_product(hand):
    inst, _ = hand
    # a ban: product 000001 loses CHN entirely, alternatives at their caps, 30 kUSD short
    x1 = np.where(inst.pair_exporter == CHN, 0.0, inst.x0_kusd + inst.cap_kusd)
    t = compute_tables(inst, make_allocation(inst, x1, shortfall=np.array([30.0, 0.0])), PRODUCT_INFO, COUNTRIES)
    p = t.products.set_index("k")
    assert p.loc["000001", "shortfall_usd"] == pytest.approx(30_000)
    assert p.loc["000001", "total_after_usd"] == pytest.approx(70_000)
    # shifted = risk reduction (60) - shortfall (30)
    assert p.loc["000001", "shifted_usd"] == pytest.approx(30_000)
    assert t.exposure.set_index("iso3").loc["CHN", "share_after"] == 0.0


# ---------------------------------------------------------------- property tests

POOL = [CHN, USA, RUS, DEU, FRA, JPN, NOR, CAN]


@st.composite
def scenarios(draw):
    n_prod = draw(st.integers(1, 5))
    rows, fractions = [], []
    for pi in range(n_prod):
        k = f"{pi + 1:06d}"
        exporters = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=len(POOL), unique=True))
        for e in exporters:
            x0 = draw(st.sampled_from([0.0, 1.0, 2.5, 10.0, 40.0, 1234.5]))
            rows.append((k, e, x0, draw(st.sampled_from([0.0, 0.5, 3.0, 25.0]))))
        fractions.append(draw(st.floats(0.0, 1.0)))
    if sum(r[2] for r in rows) == 0:
        rows[0] = (rows[0][0], rows[0][1], 7.0, rows[0][3])
    sector = {f"{i + 1:06d}": draw(st.sampled_from(["energy", "health", "ICT", None])) for i in range(n_prod)}
    return rows, fractions, sector


def feasible_after(inst, fractions):
    """Cut each product's risk imports by fraction f (limited by caps); alternatives take it in proportion to caps."""
    p, risk = inst.pair_product, inst.is_risk
    n = inst.n_products
    risk0 = np.bincount(p, weights=np.where(risk, inst.x0_kusd, 0), minlength=n)
    caps = np.bincount(p, weights=np.where(risk, 0, inst.cap_kusd), minlength=n)
    cut = np.minimum(risk0 * np.asarray(fractions), caps)
    x1 = inst.x0_kusd.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        x1 = np.where(risk, x1 * (1 - np.nan_to_num(cut / risk0)[p]), x1 + inst.cap_kusd * np.nan_to_num(cut / caps)[p])
    return x1


def build(data):
    rows, fractions, sector = data
    inst, _ = make_instance(rows)
    x1 = feasible_after(inst, fractions)
    info = pd.DataFrame({"k": list(sector), "description": "", "sector": list(sector.values()), "stage": "raw"})
    return inst, x1, compute_tables(inst, make_allocation(inst, x1), info, COUNTRIES, top_n=100)


@settings(max_examples=30, deadline=None)
@given(scenarios())
def test_prop_hhi_matches_hand_formula(data):
    inst, x1, t = build(data)
    # oracle: plain python over (product -> list of flows)
    by_k = t.products.set_index("k")
    for label, x, col in (("before", inst.x0_kusd, "hhi_before"), ("after", x1, "hhi_after")):
        flows: dict[str, list[float]] = {}
        for k, v in zip(inst.products[inst.pair_product], x, strict=False):
            flows.setdefault(k, []).append(float(v))
        num = den = 0.0
        for k, vals in flows.items():
            tot = sum(vals)
            row = by_k.loc[k]
            if tot <= 0:
                assert math.isnan(row[col])
                continue
            hhi = sum((v / tot) ** 2 for v in vals)
            n_pos = sum(v > 0 for v in vals)
            assert row[col] == pytest.approx(hhi, rel=1e-9)
            assert row[f"top_share_{label}"] == pytest.approx(max(vals) / tot, rel=1e-9)
            assert 1.0 / n_pos - 1e-12 <= row[col] <= 1.0 + 1e-12
            num += tot * hhi
            den += tot
        assert t.summary[col] == pytest.approx(num / den, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(scenarios())
def test_prop_shares_exposure_and_totals(data):
    inst, x1, t = build(data)
    f = t.flows
    for col in ("before_usd", "after_usd"):
        tot = f.groupby("k")[col].transform("sum")
        share = (f[col] / tot)[tot > 0]
        assert np.allclose(share.groupby(f["k"][tot > 0]).sum(), 1.0)
    e = t.exposure.set_index("iso3")
    risk_rows = e.drop(index="ALL")
    assert (risk_rows["after_usd"] <= risk_rows["before_usd"] + 1e-6).all()
    assert e.loc["ALL", "before_usd"] == pytest.approx(risk_rows["before_usd"].sum())
    # shifted equals the total risk reduction when nothing is short
    assert t.summary["shifted_usd"] == pytest.approx(
        t.summary["risk_before_usd"] - t.summary["risk_after_usd"], rel=1e-9, abs=1e-6)
    for table in (t.by_sector, t.by_stage):
        assert table["total_usd"].sum() == pytest.approx(t.summary["total_usd"])
        assert table["shifted_usd"].sum() == pytest.approx(t.summary["shifted_usd"], abs=1e-6)
        assert table["n_products"].sum() == t.summary["n_products"]
        assert table["n_unfixable"].sum() == t.summary["n_unfixable"]
        # group-weighted HHIs recombine to the overall HHI
        assert (table["hhi_before"] * table["total_usd"]).sum() / table["total_usd"].sum() == pytest.approx(
            t.summary["hhi_before"], rel=1e-9)
    # beneficiaries: positive increases, sorted, never a risk country or a member
    b = t.beneficiaries
    assert (b["increase_usd"] > 0).all()
    assert list(b["increase_usd"]) == sorted(b["increase_usd"], reverse=True)
    assert not set(b["exporter_code"]) & {CHN, USA, RUS}
    assert b["bloc_member"].tolist() == b["exporter_code"].isin([DEU, FRA]).tolist()
    assert t.summary["shifted_to_members_usd"] + t.summary["shifted_to_non_members_usd"] == pytest.approx(
        t.summary["shifted_usd"], abs=1e-6)
    # unfixable: risk > 0 and no alternative cap at all (independent recomputation)
    df = pd.DataFrame({"k": inst.products[inst.pair_product], "risk": inst.is_risk, "x0": inst.x0_kusd,
                       "cap": inst.cap_kusd})
    risk_x0 = df["x0"].where(df["risk"], 0.0).groupby(df["k"]).sum()
    alt_cap = df["cap"].where(~df["risk"], 0.0).groupby(df["k"]).sum()
    expect = (risk_x0 > 0) & (alt_cap == 0)
    got = t.products.set_index("k")["unfixable"]
    assert got.to_dict() == expect.reindex(got.index).to_dict()


def test_stage_rows_in_value_chain_order():
    inst, df = make_instance([(f"00000{i}", CHN, 10, 0) for i in range(1, 6)] +
                             [(f"00000{i}", NOR, 10, 5) for i in range(1, 6)])
    info = pd.DataFrame({"k": [f"00000{i}" for i in range(1, 6)], "description": "",
                         "sector": ["b", "a", None, "a", "b"], "stage": ["final", "raw", None, "capital", "zeta"]})
    t = compute_tables(inst, make_allocation(inst, inst.x0_kusd), info, COUNTRIES)
    assert t.by_stage["stage"].tolist() == ["raw", "capital", "final", "zeta", "unclassified"]
    assert t.by_sector["sector"].tolist() == ["a", "b", "unclassified"]


@pytest.mark.shared
def test_real_energy_subset_invariants(energy_parquet, tmp_path):
    """EU27 on the real BACI 2023 energy subset, flows from the closed-form re-allocation (lp.closed_form)."""
    from optimize.data.baci import read_baci
    from optimize.data.countries import EU27, country_table
    from optimize.data.stages import stage_table
    from optimize.model.instance import build_instance
    from optimize.model.lp import closed_form

    trade = read_baci(energy_parquet, cache=False)
    inst = build_instance(trade.flows, importer="EU27", importer_codes=EU27, year=2023, products=None,
                          risk_codes=RISK)
    x1 = closed_form(inst)
    info = stage_table("HS22")[["k", "stage"]].assign(sector="energy", description="")
    t = compute_tables(inst, make_allocation(inst, x1), info, country_table(), bloc_codes=EU27)
    # independent oracle: exposure from the raw flows table, not from the instance arrays
    eu = trade.flows[trade.flows["j"].isin(EU27) & trade.flows["k"].isin(list(inst.products))]
    chn_share = eu.loc[eu["i"] == CHN, "v"].sum() / eu["v"].sum()
    e = t.exposure.set_index("iso3")
    assert e.loc["CHN", "share_before"] == pytest.approx(chn_share, rel=1e-9)
    assert (e["share_after"] <= e["share_before"] + 1e-12).all()
    s = t.summary
    assert s["shifted_usd"] == pytest.approx(s["risk_before_usd"] - s["risk_after_usd"], rel=1e-6)
    assert s["total_usd"] == pytest.approx(eu["v"].sum() * 1000, rel=1e-9)
    assert t.by_stage["total_usd"].sum() == pytest.approx(s["total_usd"])
    assert ((t.products["hhi_before"] > 0) & (t.products["hhi_before"] <= 1)).all()
    b = t.beneficiaries
    assert b["bloc_member"].tolist() == b["exporter_code"].isin(EU27).tolist() and len(b) == 25
    # the figures (EU27 energy 2023, intra-bloc trade included): members take 3.10 of 6.00 bn,
    # Germany the most (+926 m); oracle: gains of member pairs from the raw arrays
    gain = np.maximum(np.asarray(x1) - inst.x0_kusd, 0.0) * 1000
    assert s["shifted_to_members_usd"] == pytest.approx(gain[np.isin(inst.pair_exporter, EU27)].sum(), rel=1e-9)
    assert (round(s["shifted_to_members_usd"] / 1e9, 2), round(s["shifted_usd"] / 1e9, 2)) == (3.10, 6.00)
    assert (b.loc[0, "exporter"], round(b.loc[0, "increase_usd"] / 1e6)) == ("DEU", 926)
    ex = compute_tables(inst, make_allocation(inst, x1), info, country_table(), exclude_members=True)
    assert not ex.beneficiaries["bloc_member"].any() and ex.beneficiaries.loc[0, "exporter"] == "JPN"
    assert t.concentration["extra_bloc_share"].between(0, 1).all()
