"""The basket in older HS revisions keeps its products: errata 8541, the fan-out rule, 1:1 round trips."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.data.basket import load_basket
from optimize.data.concordance import MAX_FANOUT, concord_basket, concord_codes
from optimize.data.hs_links import curated, full_pairs

OLDER = {"HS17": 2017, "HS12": 2012, "HS07": 2007, "HS92": 1992}


def _oracle(shared, rev: str, codes: set[str]) -> dict[str, set[str]]:
    """Basket code -> targets from the raw UNSD sheet and the errata file, under the documented rule."""
    un = pd.read_csv(shared / "concordances" / f"HS2022_to_HS{OLDER[rev]}_correlation_UNSD.csv", dtype=str,
                     keep_default_na=False)
    err = pd.read_csv(shared / "concordances" / "HS2022_errata_8541.csv", dtype=str, keep_default_na=False)
    err = err[err["target_revision"] == f"HS{OLDER[rev]}"]
    links: dict[str, set[str]] = {}
    for a, b in [*zip(un.iloc[:, 0], un.iloc[:, 1], strict=True), *zip(err["HS2022"], err["target"], strict=True)]:
        links.setdefault(a, set()).add(b)
    links.setdefault("271000", {"271000"})  # BACI's aggregate of heading 2710, absent from the UN sheets
    return {a: {b for b in bs if len(bs) <= MAX_FANOUT or a[:4] == b[:4] or (a, b) in curated()}
            for a, bs in links.items() if a in codes}


@pytest.mark.shared
@pytest.mark.parametrize("rev", list(OLDER))
def test_what_each_revision_loses_gains_splits(shared_data, rev):
    basket = load_basket()
    hs22 = set(basket["k"])
    want = _oracle(shared_data, rev, hs22)
    out, rep = concord_basket(basket, rev)
    got = out.groupby("k_source")["k_target"].apply(set).to_dict()
    assert got == {k: t for k, t in want.items() if t}
    lost = sorted(hs22 - {k for k, t in want.items() if t})
    gained = sorted({t for ts in want.values() for t in ts} - hs22)
    split = sorted(k for k, t in want.items() if len(t) > 1)
    assert list(rep.lost) == lost
    print(f"\n{rev}: loses {len(lost)} {lost}; gains {len(gained)} codes not in the HS22 basket; "
          f"splits {len(split)} {split}; cut to heading {list(rep.capped)}")
    older = load_basket(hs_revision=rev).set_index("k")["sector"]
    assert older["854150"] == "ict"  # other semiconductor devices stay in the ICT sector
    semis = out[out["k_source"].str.startswith("8541")]
    assert "851712" not in set(semis["k_target"])  # no semiconductor code becomes telephones
    assert "851712" not in set(out.loc[out["k_source"].str.startswith("8524"), "k_target"])
    assert set(out.loc[out["k_source"].isin(["854151", "854159"]), "k_target"]) == {"854150"}
    if rev != "HS92":  # heading 8486 (HS2007) did not exist in HS1992: its machines are reported lost there
        assert lost == []
    else:
        assert lost == ["848610", "848620", "848630", "848640", "848690"]


def test_older_basket_without_shared_data():
    """The shipped tables alone: 854150 in ICT in every older revision, no 8541xx -> 851712."""
    basket = load_basket()
    for rev in OLDER:
        out, _ = concord_basket(basket, rev)
        assert ("854159", "854150") in set(zip(out["k_source"], out["k_target"], strict=True))
        assert not ((out["k_source"].str[:4] == "8541") & (out["k_target"] == "851712")).any()
        assert load_basket(hs_revision=rev, sectors="ict")["k"].eq("854150").any()


ONE_TO_ONE = sorted(full_pairs("HS17").query("pair_relationship == '1:1'")["hs22"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(ONE_TO_ONE), min_size=1, max_size=20, unique=True),
       st.lists(st.sampled_from(sorted(full_pairs("HS17")["hs22"])), max_size=10))
def test_round_trip_keeps_one_to_one_codes(one_to_one, others):
    """HS22 -> HS17 -> HS22: every code whose mapping is 1:1 comes back, and only to itself."""
    there = concord_codes(one_to_one + others, "HS22", "HS17")
    back = concord_codes(there.codes, "HS17", "HS22").pairs
    p = there.pairs
    for k in one_to_one:
        (t,) = p.loc[p["k_from"] == k, "k_to"]
        assert set(back.loc[back["k_from"] == t, "k_to"]) == {k}
