"""Tests of the HS6 -> value-chain stage tables (UNCTAD stages on BEC Rev.4)."""
from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.data.stages import BEC4_STAGE, STAGES, assign_stages, choose_stage, stage_table
from optimize.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
# independent restatement of the documented mapping (raw / intermediate / capital / final)
RAW, INTER, CAP, FINAL = {"111", "21", "31"}, {"121", "22", "32", "321", "322", "42", "53"}, {"41", "521"}, \
    {"112", "122", "522", "61", "62", "63", "51"}
ORDER = ["raw", "intermediate", "capital", "final"]


def _stage_of(bec: str) -> str:
    for name, group in zip(ORDER, (RAW, INTER, CAP, FINAL), strict=False):
        if bec in group:
            return name
    return "unclassified"


def _oracle(cands: set[str], enduse: str | None) -> str:
    real = {c for c in cands if c != "7"}
    if not real:
        return "unclassified"
    stages = {_stage_of(c) for c in real}
    if len(stages) > 1 and enduse:
        allowed = {"INT": {"raw", "intermediate"}, "CAP": {"capital"}, "CONS": {"final"}}.get(enduse, set())
        if stages & allowed:
            stages &= allowed
    return max(stages, key=ORDER.index)


def _script():
    spec = importlib.util.spec_from_file_location("derive_stages", ROOT / "scripts" / "derive_stages.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("rev,bec_file,use_file,code_col,use_col", [
    ("HS22", "HS2022_to_BEC4_UNSD.csv", "DERIVED_HS2022_to_BEC5_enduse_via_HS2017.csv", "HS2022",
     "bec5_primary_enduse"),
    ("HS17", "HS2017_to_BEC4_UNSD.csv", "UNSD_HS2017_to_BEC5_08Nov2018.csv", "HS6", "BEC5EndUse"),
])
def test_counts_per_stage_recomputed_from_un_file(shared_data, rev, bec_file, use_file, code_col, use_col):
    un = pd.read_csv(shared_data / "concordances" / bec_file, dtype=str, keep_default_na=False,
                     encoding="utf-8-sig")
    hs, bec = un.columns[:2]
    un = un[(un[hs] != "") & (un[bec] != "")]
    uses = pd.read_csv(shared_data / "concordances" / use_file, dtype=str, keep_default_na=False)
    enduse = {}
    for code, use in zip(uses[code_col], uses[use_col], strict=False):
        enduse.setdefault(code, use.split("/")[0].strip() or None)
    cands: dict[str, set[str]] = {}
    for code, b in zip(un[hs], un[bec], strict=False):
        cands.setdefault(code, set()).add(b)
    expected = {code: _oracle(c, enduse.get(code)) for code, c in cands.items()}
    table = stage_table(rev).set_index("k")
    # every HS code of the UN table gets a stage (unclassified only when all its BEC4 codes are 7)
    assert set(expected) <= set(table.index)
    got = table.loc[list(expected), "stage"]
    assert Counter(got) == Counter(expected.values())
    assert (got == pd.Series(expected)).all()
    assert set(table["stage"]) <= set(STAGES) | {"unclassified"}


def test_shipped_tables_are_current(shared_data):
    mod = _script()
    for rev in ("HS22", "HS17"):
        fresh = mod.derive(shared_data, rev)
        shipped = pd.read_csv(ROOT / "data" / "stages" / f"stages_{rev}.csv", dtype=str,
                              keep_default_na=False, comment="#")
        pd.testing.assert_frame_equal(fresh.reset_index(drop=True), shipped[fresh.columns])


def test_spot_checks_hs22():
    t = stage_table("HS22").set_index("k")
    # crude petroleum: BEC4 31 (fuels, primary) -> raw
    assert t.loc["270900", ["stage", "bec4"]].tolist() == ["raw", "31"]
    # static converters (inverters): the UN file maps 850440 to BEC4 41 only -> capital
    assert t.loc["850440", ["stage", "stage_detail", "bec4"]].tolist() == ["capital", "capital", "41"]
    # PV modules 854143: BEC4 42 (parts of capital goods) -> intermediate, parts and components
    assert t.loc["854143", ["stage", "stage_detail"]].tolist() == ["intermediate", "parts_components"]
    # passenger cars (BEC4 51, mixed) are allocated to final
    assert t.loc["870321", "stage"] == "final"
    # refined petroleum 271012: UN maps to non-leaf 32 -> intermediate, semi-finished
    assert t.loc["271012", ["stage", "stage_detail"]].tolist() == ["intermediate", "semi_finished"]
    # asses 010130: BEC4 111 (raw) and 41 (capital); BEC5 end use INT -> raw
    assert t.loc["010130", ["stage", "bec4", "rule"]].tolist() == ["raw", "111", "bec5_enduse"]
    # BACI aggregate 271000 (heading 2710: BEC4 32 and 21) -> most processed: intermediate
    assert t.loc["271000", ["stage", "rule"]].tolist() == ["intermediate", "baci_aggregate"]


def test_assign_stages_unclassified_counted():
    out = assign_stages(["850440", "270900", "999998", "850440", 10121], "HS22")
    assert out["k"].tolist() == ["010121", "270900", "850440", "999998"]
    assert out.set_index("k").loc["999998", "stage"] == "unclassified"
    assert out.attrs["n_unclassified"] == 1
    with pytest.raises(ScenarioError):
        assign_stages(["850440"], "HS92")


BECS = sorted(BEC4_STAGE)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["000001", "000002", "000003", "000004"]), st.sampled_from(BECS)),
                min_size=1, max_size=25),
       st.dictionaries(st.sampled_from(["000001", "000002", "000003"]), st.sampled_from(["INT", "CAP", "CONS"])),
       st.randoms(use_true_random=False))
def test_choose_stage_matches_oracle_and_ignores_row_order(rows, enduse, rnd):
    pairs = pd.DataFrame(rows, columns=["k", "bec4"])
    out = choose_stage(pairs, pd.Series(enduse, dtype=object))
    shuffled = pairs.sample(frac=1, random_state=rnd.randint(0, 10_000))
    pd.testing.assert_frame_equal(out, choose_stage(shuffled, pd.Series(enduse, dtype=object)))
    assert out["k"].is_unique
    for k, b, stage in zip(out["k"], out["bec4"], out["stage"], strict=False):
        cands = set(pairs.loc[pairs["k"] == k, "bec4"])
        assert b in cands and BEC4_STAGE[b] == stage
        assert stage == _oracle(cands, enduse.get(k))
