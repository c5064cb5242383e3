"""concord_codes / basket_to_revision: any HS6 list between HS22 and HS17/HS12/HS07/HS92, both directions."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimize.data.basket import basket_to_revision
from optimize.data.concordance import MAX_FANOUT, concord_codes
from optimize.data.hs_links import curated, full_pairs

REVS = ("HS17", "HS12", "HS07", "HS92")
YEARS = {"HS17": 2017, "HS12": 2012, "HS07": 2007, "HS92": 1992}


@pytest.fixture(scope="module")
def un_tables(shared_data):
    errata = pd.read_csv(shared_data / "concordances" / "HS2022_errata_8541.csv", dtype=str, keep_default_na=False)
    out = {}
    for rev, y in YEARS.items():
        un = pd.read_csv(shared_data / "concordances" / f"HS2022_to_HS{y}_correlation_UNSD.csv", dtype=str,
                         keep_default_na=False).set_axis(["a", "b", "rel"], axis=1)
        e = errata[errata["target_revision"] == f"HS{y}"]
        out[rev] = (un, pd.concat([un, pd.DataFrame({"a": e["HS2022"], "b": e["target"], "rel": "n:n"})]))
    return out


@pytest.mark.shared
@pytest.mark.parametrize("rev", REVS)
def test_bundled_tables_are_the_un_tables(rev, un_tables):
    un, with_errata = un_tables[rev]
    t = full_pairs(rev)
    unsd = t[t["origin"] == "UNSD"]
    assert set(zip(unsd["hs22"], unsd["other"], strict=True)) == set(zip(un["a"], un["b"], strict=True))
    assert set(zip(t["hs22"], t["other"], strict=True)) == set(zip(with_errata["a"], with_errata["b"], strict=True))


@pytest.mark.shared
@pytest.mark.parametrize("rev", REVS)
def test_targets_match_the_un_table_both_ways(rev, un_tables):
    # independent oracle of the documented rule: a code with more than MAX_FANOUT links keeps those of its
    # own heading or curated ones
    un = un_tables[rev][1]
    links: dict[str, set[str]] = {}
    for a, b in zip(un["a"], un["b"], strict=True):
        links.setdefault(a, set()).add(b)
    kept = {(a, b) for a, bs in links.items() for b in bs
            if len(bs) <= MAX_FANOUT or a[:4] == b[:4] or (a, b) in curated()}
    sample = sorted(links)[::97] + ["854151", "854159", "852411", "854231"]
    got = concord_codes(sample, "HS22", rev).pairs
    assert set(zip(got["k_from"], got["k_to"], strict=True)) == {(a, b) for a, b in kept if a in sample}
    back = sorted({b for _, b in kept})[::89] + ["854150"]
    got = concord_codes(back, rev, "HS22").pairs
    assert set(zip(got["k_from"], got["k_to"], strict=True)) == {(b, a) for a, b in kept if b in back}


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
    # the way back uses the same links: every code that mapped comes back among the targets
    assert set(p["k_from"]) <= set(back.codes)


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
