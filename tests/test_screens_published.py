"""Each screen's rule as published (docs/screens.md), on hand-made tables, plus an independent
pure-Python GeoDep oracle under hypothesis.

Countries: importer 1 (one country); exporters 10..90; 99 the rest of the world. Values kUSD.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.analysis.screens import (
    GEODEP_ZERO_EXPORT_RATIO,
    ec_screen,
    geodep_screen,
    single_country_screen,
)

IMP = (1,)


def _flows(rows):
    df = pd.DataFrame(rows, columns=["t", "i", "j", "k", "v"])
    df["q"] = np.nan
    return df.astype({"t": "int16", "i": "int32", "j": "int32", "v": float})


# Building blocks for one year of product k (hand-computed below):
#   imports "conc": 10->1 90, 20->1 10 (HHI .82)   | "div": 10..40 -> 1, 25 each (HHI .25)
#   exports of 1: "pass" 1->99 10 (ratio 10)        | "fail": 1->99 200 (ratio .5)
#   world "high": 10->99 1000                        | "low": 50..90 -> 99, 100 each
def _year(t, k, imports, world, ratio):
    rows = [(t, 10, 1, k, 90.0), (t, 20, 1, k, 10.0)] if imports == "conc" else [
        (t, e, 1, k, 25.0) for e in (10, 20, 30, 40)]
    rows.append((t, 1, 99, k, 10.0 if ratio == "pass" else 200.0))
    rows += [(t, 10, 99, k, 1000.0)] if world == "high" else [(t, e, 99, k, 100.0) for e in (50, 60, 70, 80, 90)]
    return rows


# Issue #17's case: importer HHI holds in 2021-22, world HHI in 2021 and 2023, ratio in 2022-23.
# World HHI: 2021 (1090^2+10^2+200^2)/1300^2 = .727; 2022 (90^2+10^2+10^2+5*100^2)/610^2 = .157;
# 2023 (1025^2+3*25^2+10^2)/1110^2 = .854. Never all three in one year.
SPLIT = _year(2021, "000001", "conc", "high", "fail") + _year(2022, "000001", "conc", "low", "pass") \
    + _year(2023, "000001", "div", "high", "pass")
# Control: all three in 2021 and 2022 (world HHI .964 both years), none in 2023 (world HHI .145).
TOGETHER = _year(2021, "000002", "conc", "high", "pass") + _year(2022, "000002", "conc", "high", "pass") \
    + _year(2023, "000002", "div", "low", "fail")


def test_geodep_criteria_in_different_years_not_flagged():
    """Each criterion holds in 2 of 3 years, but never all three together: GeoDep does not flag it."""
    row = geodep_screen(_flows(SPLIT), IMP).set_index("k").loc["000001"]
    assert (row["n_hhi_importer"], row["n_hhi_world_exports"], row["n_ratio"]) == (2, 2, 2)
    assert not row["flagged"]  # the old per-criterion rule flagged it (each count >= 2)
    assert row["n_years_all_criteria"] == 0


def test_geodep_criteria_in_same_years_flagged():
    row = geodep_screen(_flows(TOGETHER), IMP).set_index("k").loc["000002"]
    assert (row["n_hhi_importer"], row["n_hhi_world_exports"], row["n_ratio"]) == (2, 2, 2)
    assert row["n_years_all_criteria"] == 2
    assert row["flagged"]
    # the same product needs 3 of 3 years when asked: not flagged
    assert not geodep_screen(_flows(TOGETHER), IMP, min_years=3)["flagged"].any()


def test_geodep_min_years_counts_joint_years():
    flows = _flows(TOGETHER)
    one = geodep_screen(flows, IMP, years=[2022, 2023], min_years=1, window=2).iloc[0]
    assert one["n_years_all_criteria"] == 1 and one["flagged"]  # 2022 alone suffices with min_years=1
    assert not geodep_screen(flows, IMP, years=[2022, 2023], min_years=2, window=2)["flagged"].any()


def test_geodep_zero_exports_ratio_is_9999():
    # 1 imports 5 from 10 and exports nothing: ratio 9999 (finite), all criteria hold in the one year
    flows = _flows([(2023, 10, 1, "000003", 5.0), (2023, 10, 99, "000004", 7.0)])
    out = geodep_screen(flows, IMP).set_index("k")
    assert GEODEP_ZERO_EXPORT_RATIO == 9999.0
    assert out.loc["000003", "import_export_ratio"] == 9999.0 and out.loc["000003", "flagged"]
    # a ratio threshold above 9999 is not met (it would be by +inf)
    assert not geodep_screen(flows, IMP, ratio=1e5).set_index("k").loc["000003", "flagged"]
    # neither imports nor exports (000004 only traded elsewhere): no ratio, not flagged
    assert np.isnan(out.loc["000004", "import_export_ratio"]) and not out.loc["000004", "flagged"]


def test_geodep_missing_years():
    # a year absent from the whole data: the rule is applied to the years present (2 of 2) and noted
    gap = [r for r in TOGETHER if r[0] != 2022]
    out = geodep_screen(_flows(gap), IMP).iloc[0]
    assert out["years"] == "2021,2023" and "only 2 of 3 years" in out["note"]
    assert out["n_years_all_criteria"] == 1 and not out["flagged"]  # 2021 holds, 2023 does not
    # a year present in the data but without trade in k counts as failing every criterion
    holes = [r for r in TOGETHER if r[0] != 2022] + _year(2022, "000005", "conc", "high", "pass")
    row = geodep_screen(_flows(holes), IMP).set_index("k").loc["000002"]
    assert row["n_years_all_criteria"] == 1 and not row["flagged"]


# ------------------------------------------------------------------ independent oracle
def _oracle(rows, importer, th=0.4, ratio_th=1.0, need=2):
    """GeoDep by hand in plain Python: {k: (years with all three criteria, flagged)}."""
    by = {}
    for t, i, j, k, v in rows:
        d = by.setdefault((k, t), {"imp": {}, "world": {}, "exp": 0.0})
        d["world"][i] = d["world"].get(i, 0.0) + v
        if j == importer and i != importer:
            d["imp"][i] = d["imp"].get(i, 0.0) + v
        if i == importer and j != importer:
            d["exp"] += v

    def hhi(parts):
        tot = sum(parts.values())
        return sum((x / tot) ** 2 for x in parts.values()) if tot > 0 else 0.0

    res = {}
    for (k, _t), d in by.items():
        imports = sum(d["imp"].values())
        ratio = imports / d["exp"] if d["exp"] > 0 else (9999.0 if imports > 0 else 0.0)
        ok = hhi(d["imp"]) > th and hhi(d["world"]) > th and ratio > ratio_th
        res[k] = res.get(k, 0) + int(ok)
    return {k: (n, n >= need) for k, n in res.items()}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([2021, 2022, 2023]), st.sampled_from([1, 10, 20, 30]),
                          st.sampled_from([1, 99]), st.sampled_from(["000001", "000002"]),
                          st.sampled_from([1.0, 5.0, 40.0, 300.0])), min_size=1, max_size=30))
def test_geodep_matches_oracle(rows):
    rows = [r for r in rows if r[1] != r[2]]
    if not rows or len({r[0] for r in rows}) < 3:
        return  # the oracle assumes the full three-year window
    out = geodep_screen(_flows(rows), IMP).set_index("k")
    expect = _oracle(rows, 1)
    assert {k: (int(r["n_years_all_criteria"]), bool(r["flagged"])) for k, r in out.iterrows()} == expect


# ------------------------------------------------------------------ EC 2021 and single-supplier rules
def test_ec_exports_are_extra_bloc_and_thresholds_strict():
    bloc = (1, 2)
    base = [(2023, 10, 1, "000001", 60.0), (2023, 20, 1, "000001", 60.0), (2023, 2, 1, "000001", 120.0),
            (2023, 1, 99, "000001", 100.0)]
    row = ec_screen(_flows(base), bloc).iloc[0]
    # HHI .5 (passes); extra share 120/240 = .5 (not > .5: fails); ratio 120/100 = 1.2 (passes)
    assert row["hhi_extra"] == pytest.approx(0.5) and row["extra_share"] == pytest.approx(0.5)
    assert row["pass_hhi"] and not row["pass_extra_share"] and row["pass_ratio"] and not row["flagged"]
    # intra-bloc exports (1 -> 2) are not "EU exports": the ratio does not move
    more = ec_screen(_flows(base + [(2023, 1, 2, "000001", 500.0)]), bloc).iloc[0]
    assert more["import_export_ratio"] == pytest.approx(1.2)
    # exports to outside equal to imports: ratio exactly 1, not > 1
    even = ec_screen(_flows(base[:3] + [(2023, 1, 99, "000001", 120.0)]), bloc).iloc[0]
    assert even["import_export_ratio"] == pytest.approx(1.0) and not even["pass_ratio"]


def test_single_supplier_thresholds_strict():
    rows = [(2023, 10, 1, "000001", 50.0), (2023, 20, 1, "000001", 50.0),   # top share .5: not > 50%
            (2023, 10, 1, "000002", 70.0), (2023, 20, 1, "000002", 30.0),   # .7: > 50%, not > 70%
            (2023, 10, 1, "000003", 71.0), (2023, 20, 1, "000003", 29.0)]   # .71: both
    out = single_country_screen(_flows(rows), IMP).set_index("k")
    assert out["above_50"].to_dict() == {"000001": False, "000002": True, "000003": True}
    assert out["above_70"].to_dict() == {"000001": False, "000002": False, "000003": True}
    assert out["flagged"].equals(out["above_50"])


def test_every_screen_column_is_documented():
    """docs/screens.md names every column each screen returns."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "screens.md").read_text(encoding="utf-8")
    flows = _flows(TOGETHER)
    stages = pd.DataFrame({"k": ["000002"], "stage": ["intermediate"]})
    tables = [ec_screen(flows, IMP), geodep_screen(flows, IMP),
              single_country_screen(flows, IMP, supplier=10, stage="intermediate", stages=stages)]
    missing = [c for t in tables for c in t.columns if f"`{c}`" not in text]
    assert not missing, f"undocumented screen columns: {missing}"


def _allocation_2023(x_after):
    """Importer 1's product 000002 in 2023: 10 -> 90, 20 -> 10 before (as ``_year(.., "conc", ..)``)."""
    from optimize.model.engine import Allocation
    from optimize.model.instance import Instance
    from optimize.solve.status import SolverInfo, Status

    n = 4
    inst = Instance(
        importer="X", importer_codes=IMP, year=2023, risk_codes=(10,), products=np.array(["000002"]),
        total_kusd=np.array([100.0]), pair_product=np.zeros(n, dtype=np.int32),
        pair_exporter=np.array([10, 20, 30, 40], dtype=np.int32), x0_kusd=np.array([90.0, 10.0, 0.0, 0.0]),
        cap_kusd=np.full(n, 100.0), upper_kusd=np.full(n, 100.0), is_risk=np.array([True, False, False, False]),
        risk_weight=np.array([1.0, 0.0, 0.0, 0.0]), world_exports_kusd=np.full(n, 1000.0),
        row_exports_kusd=np.full(n, 1000.0), x0_tonnes=np.full(n, np.nan), world_tonnes=np.full(n, np.nan),
    )
    return Allocation(inst, np.asarray(x_after, dtype=float), Status.OPTIMAL, SolverInfo("highs", "hand"))


@pytest.mark.parametrize(("first_year", "fixed"), [("div", True), ("conc", False)])
def test_geodep_fixability_swaps_the_latest_year(first_year, fixed):
    """Spreading 2023's imports over four suppliers (HHI .25) removes one joint year: a product
    flagged on 2022-23 only is fixed; one flagged on all of 2021-23 keeps two years and is not."""
    rows = _year(2021, "000002", first_year, "high" if first_year == "conc" else "low",
                 "pass" if first_year == "conc" else "fail") \
        + _year(2022, "000002", "conc", "high", "pass") + _year(2023, "000002", "conc", "high", "pass")
    from optimize.analysis.screens import fixability

    scr = geodep_screen(_flows(rows), IMP)
    assert scr["flagged"].all() and scr["n_years_all_criteria"].iloc[0] == (2 if fixed else 3)
    out = fixability(scr, _allocation_2023([25.0, 25.0, 25.0, 25.0])).set_index("k")
    assert out.loc["000002", "hhi_extra_after"] == pytest.approx(0.25)
    assert bool(out.loc["000002", "fixed"]) is fixed
    # no change in 2023: nothing is fixed
    assert not fixability(scr, _allocation_2023([90.0, 10.0, 0.0, 0.0]))["fixed"].any()
