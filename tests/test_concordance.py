"""Tests of the HS2022 -> older-revision concordance of the basket."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.data.basket import load_basket
from optimize.data.concordance import (
    UN_TABLES,
    bundled_pairs,
    concord_basket,
    derive_compact_table,
    load_compact_table,
    normalize_revision,
    target_basket,
)
from optimize.errors import ScenarioError

REVS = sorted(UN_TABLES)


def _un(shared, rev, kind="correlation"):
    return pd.read_csv(shared / "concordances" / UN_TABLES[rev].replace("correlation", kind),
                       dtype=str, keep_default_na=False)


@pytest.mark.parametrize("rev", REVS)
def test_counts_recomputed_from_un_file(shared_data, rev):
    basket = load_basket()
    un = _un(shared_data, rev)
    src, tgt, rel = un.columns[:3]
    mine = un[un[src].isin(set(basket["k"]))]
    n_targets = mine.groupby(src)[tgt].nunique()
    has_nn = mine.groupby(src)[rel].apply(lambda s: "n:n" in set(s))
    expect_split = int(((n_targets > 1) & ~has_nn).sum())
    absent = set(basket["k"]) - set(un[src])
    # BACI's aggregate 271000 (whole heading 2710) is absent from UN tables but kept 1:1
    baci_aggregates = {k for k in absent if k.endswith("00") and (un[src].str[:4] == k[:4]).any()}
    out, rep = concord_basket(basket, rev)
    assert rep.split == expect_split
    assert rep.many_to_many + len(set(rep.lost) - absent) == int(has_nn.sum())  # cut-to-nothing codes are n:n
    assert absent - baci_aggregates <= set(rep.lost)
    # every basket code maps or is reported lost
    assert set(out["k_source"]) | set(rep.lost) == set(basket["k"])
    assert rep.mapped + len(rep.lost) == len(basket) == rep.n_source
    assert rep.one_to_one + rep.merged + rep.split + rep.many_to_many == rep.mapped
    assert out["k_target"].str.fullmatch(r"\d{6}").all()


@pytest.mark.parametrize("rev", REVS)
def test_shipped_compact_table_is_current(rev):
    """The committed table equals a fresh derivation from the bundled pairs (UNSD + errata)."""
    basket = load_basket()
    fresh = derive_compact_table(bundled_pairs(rev), basket["k"])
    shipped = load_compact_table(rev)
    pd.testing.assert_frame_equal(fresh.reset_index(drop=True), shipped[fresh.columns].reset_index(drop=True),
                                  check_dtype=False)


def test_hand_checked_pairs():
    out, _ = concord_basket(load_basket(), "HS17")
    pairs = set(zip(out["k_source"], out["k_target"], strict=False))
    # 850440 static converters unchanged since HS2017; 271000 is BACI's aggregate of heading 2710
    assert ("850440", "850440") in pairs and ("271000", "271000") in pairs
    # HS2022 split HS2017 854150 into 854151/854159 (errata): their 157 other UN links are cut to heading 8541
    assert set(out.loc[out["k_source"].isin(["854151", "854159"]), "k_target"]) == {"854150"}


def test_hs22_is_identity_and_unsupported_revisions():
    b = load_basket(sectors="crm")
    out, rep = concord_basket(b, "HS2022")
    assert out["k_target"].tolist() == out["k_source"].tolist() == b["k"].tolist()
    assert rep.lost == () and rep.mapped == len(b)
    for rev in ("HS96", "HS02"):
        with pytest.raises(ScenarioError, match="HS92"):
            concord_basket(b, rev)
    with pytest.raises(ScenarioError):
        normalize_revision("HS2030")


def test_target_basket_unique_and_loader():
    b = load_basket()
    t, rep = target_basket(b, "HS92")
    assert t["k"].is_unique and t["k"].tolist() == sorted(t["k"])
    assert len(t) == rep.n_target
    via_loader = load_basket(hs_revision="HS92")
    assert via_loader["k"].tolist() == t["k"].tolist()
    assert set(via_loader["sector"]) <= {"health", "ict", "energy", "crm"}


CODES = [f"{n:06d}" for n in range(100_000, 100_012)]
OLD = [f"{n:06d}" for n in range(200_000, 200_008)]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from(OLD), st.sampled_from(["1:1", "n:1", "1:n", "n:n"])),
                min_size=1, max_size=30, unique_by=lambda t: t[:2]),
       st.sets(st.sampled_from(CODES), min_size=1))
def test_synthetic_tables_classification(rows, basket_codes):
    un = pd.DataFrame(rows, columns=["k_source", "k_target", "pair_relationship"])
    basket = pd.DataFrame({"k": sorted(basket_codes), "sector": "crm"})
    table = derive_compact_table(un, basket["k"])
    out, rep = concord_basket(basket, "HS17", table=table)
    # independent oracle on plain python structures
    targets: dict[str, set[str]] = {}
    rels: dict[str, set[str]] = {}
    for s, t, r in rows:
        targets.setdefault(s, set()).add(t)
        rels.setdefault(s, set()).add(r)
    inb = [k for k in basket["k"] if k in targets]
    assert set(rep.lost) == set(basket["k"]) - set(targets)
    assert rep.many_to_many == sum("n:n" in rels[k] for k in inb)
    assert rep.split == sum(len(targets[k]) > 1 and "n:n" not in rels[k] for k in inb)
    assert rep.n_target == len(set().union(*[targets[k] for k in inb])) if inb else rep.n_target == 0
    assert set(zip(out["k_source"], out["k_target"], strict=False)) == {(k, t) for k in inb for t in targets[k]}
    extra = {t: len({s for s, tt, _ in rows if tt == t and s not in basket_codes}) for _, t, _ in rows}
    assert all(extra[t] == e for t, e in zip(out["k_target"], out["extra_sources"], strict=False))
