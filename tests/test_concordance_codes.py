"""concord_codes / basket_to_revision: any HS6 list between HS22 and HS17/HS12/HS92, both directions."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimize.data.basket import basket_to_revision
from optimize.data.concordance import MAX_FANOUT, concord_codes, full_pairs

REVS = ("HS17", "HS12", "HS92")


@pytest.fixture(scope="module")
def un_tables(shared_data):
    return {rev: pd.read_csv(shared_data / "concordances" / f"HS2022_to_HS{y}_correlation_UNSD.csv", dtype=str,
                             keep_default_na=False)
            for rev, y in (("HS17", 2017), ("HS12", 2012), ("HS92", 1992))}


@pytest.mark.shared
@pytest.mark.parametrize("rev", REVS)
def test_bundled_tables_are_the_un_tables(rev, un_tables):
    un = un_tables[rev]
    want = set(zip(un.iloc[:, 0].str.zfill(6), un.iloc[:, 1].str.zfill(6), strict=False))
    assert set(zip(full_pairs(rev)["hs22"], full_pairs(rev)["other"], strict=False)) == want


@pytest.mark.shared
@pytest.mark.parametrize("rev", REVS)
def test_targets_match_the_un_table_both_ways(rev, un_tables):
    un = un_tables[rev].set_axis(["a", "b", "rel"], axis=1)
    fan = un.groupby("a")["b"].nunique()
    narrow = un[un["a"].map(fan) <= MAX_FANOUT]
    sample = sorted(set(narrow["a"]))[::97]
    got = concord_codes(sample, "HS22", rev).pairs
    assert set(zip(got["k_from"], got["k_to"], strict=False)) == set(zip(narrow["a"], narrow["b"], strict=False)) & {
        (a, b) for a, b in zip(narrow["a"], narrow["b"], strict=False) if a in sample}
    back = sorted(set(narrow["b"]))[::89]
    got = concord_codes(back, rev, "HS22").pairs
    for k, g in got.groupby("k_from"):  # wide links only where a code has no other
        expected = set(narrow.loc[narrow["b"] == k, "a"]) or set(un.loc[un["b"] == k, "a"])
        assert set(g["k_to"]) == expected, k


CODES = sorted(set(full_pairs("HS92")["hs22"]))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(CODES), min_size=1, max_size=12), st.sampled_from(REVS),
       st.booleans())
def test_weights_split_flags_and_round_trip(codes, rev, weighted):
    weights = {k: (int(k) % 7) * 10.0 for k in full_pairs(rev)["other"]} if weighted else None
    m = concord_codes(codes, "HS22", rev, weights=weights)
    p = m.pairs
    assert set(p["k_from"]) | set(m.lost) == set(codes)
    sums = p.groupby("k_from")["weight"].sum()
    assert ((sums - 1.0).abs() < 1e-9).all()
    n_to = p.groupby("k_from")["k_to"].nunique()
    assert (p["split"] == p["k_from"].map(n_to).gt(1)).all()
    for k in n_to.index[n_to > 1]:
        assert any(n.startswith(f"{k} (HS22) split into") for n in m.notes)
    back = concord_codes(m.codes, rev, "HS22")
    # every code mapped by narrow links comes back among the targets; a wide link (a catch-all code spread
    # over more than MAX_FANOUT codes) is kept only where a code has no other, so the way back may drop it
    narrow = set(n_to.index[n_to <= MAX_FANOUT])
    assert narrow <= set(back.codes)


def test_basket_and_product_list():
    basket = pd.DataFrame({"k": ["854140", "10111"], "sector": ["energy", "health"]})
    out, notes = basket_to_revision(basket, "HS92", "HS22", weights={"854142": 3.0, "854143": 1.0})
    pv = out[out["k_source"] == "854140"].set_index("k")
    assert set(pv.index) == {"854141", "854142", "854143", "854149"} and (pv["sector"] == "energy").all()
    assert pv.loc["854142", "weight"] == pytest.approx(0.75) and pv["split"].all()
    assert out.loc[out["k_source"] == "010111", "sector"].eq("health").all()
    assert any("854140 (HS92) split into 854141, 854142, 854143, 854149 (HS22)" == n for n in notes)
    codes, notes = basket_to_revision(["854143", "854142"], "HS22", "HS92")
    assert codes == ["854140"] and any("merged into 854140 (HS92)" in n for n in notes)
    same, notes = basket_to_revision(["850440"], "HS17", "HS2017")
    assert same == ["850440"] and notes == []
