"""The worked example of docs/model.md, rebuilt as BACI flows and checked against the engine.

Every number below is the one printed in docs/model.md (hand-computed there); the
engine must reproduce it. Importer J is the Netherlands (528); rest-of-world flows
go to Brazil (76) so that each exporter's world exports match the example.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimize.analysis.metrics import compute_tables
from optimize.model.engine import EngineOptions, reallocate
from optimize.model.instance import CapRule, build_instance
from optimize.model.lp import closed_form

DOC = Path(__file__).resolve().parents[1] / "docs" / "model.md"
J, ROW = 528, 76
CHN, USA, RUS, DEU, JPN, KOR, NOR, GBR = 156, 842, 643, 276, 392, 410, 579, 826
A, B = "850440", "271111"  # any two HS6 codes: the example names them "A" and "B"
YEAR = 2023

# (exporter, importer, product, value kUSD)
_FLOWS = [
    (CHN, J, A, 60.0), (USA, J, A, 10.0), (DEU, J, A, 20.0), (JPN, J, A, 10.0),
    (DEU, ROW, A, 380.0),  # Germany: world exports 400
    (JPN, ROW, A, 190.0),  # Japan: 200
    (KOR, ROW, A, 100.0),  # Korea: 100, none to J yet
    (RUS, J, B, 10.0), (NOR, J, B, 30.0), (GBR, J, B, 10.0),
    (NOR, ROW, B, 970.0),  # Norway: 1,000
    (GBR, ROW, B, 90.0),  # United Kingdom: 100
]


def example_frame() -> pd.DataFrame:
    """The example as a BACI-layout DataFrame (t, i, j, k, v, q)."""
    i, j, k, v = zip(*_FLOWS, strict=False)
    return pd.DataFrame({"t": YEAR, "i": i, "j": j, "k": k, "v": v, "q": np.nan})


def _solve(spread: str):
    inst = build_instance(example_frame(), importer="J", importer_codes=[J], year=YEAR, products=[A, B],
                          risk_codes=[CHN, USA, RUS], cap=CapRule(pp=5.0, basis="world-exports"))
    (alloc,) = reallocate([inst], EngineOptions(spread=spread))
    return inst, alloc


def _flow(inst, x, product: str, exporter: int) -> float:
    idx = np.flatnonzero((inst.products[inst.pair_product] == product) & (inst.pair_exporter == exporter))
    assert idx.size == 1, (product, exporter)
    return float(x[idx[0]])


def test_doc_still_states_the_checked_numbers():
    """If the lead edits the example, this test must be revisited (the numbers are asserted below)."""
    text = DOC.read_text(encoding="utf-8")
    for fragment in ("Germany 40, Japan 20, Korea 5", "0.295", "9.0909", "0.9091", "0.6588", "0.58",
                     "(53.3%)", "(23.3%)", "value shifted $35 + 10 = 45", "0.42", "0.44"):
        assert fragment in text, fragment


def test_caps_match_the_example():
    inst, _ = _solve("proportional")
    expected = {(A, DEU): 20.0, (A, JPN): 10.0, (A, KOR): 5.0, (B, NOR): 50.0, (B, GBR): 5.0,
                (A, CHN): 0.0, (A, USA): 0.0, (B, RUS): 0.0}
    for (k, e), cap in expected.items():
        assert _flow(inst, inst.cap_kusd, k, e) == pytest.approx(cap, abs=1e-9), (k, e)
    assert inst.total_kusd == pytest.approx([100.0, 50.0] if inst.products[0] == A else [50.0, 100.0])


@pytest.mark.parametrize("spread", ["proportional", "min-hhi"])
def test_flows_after(spread):
    inst, alloc = _solve(spread)
    x = alloc.x_after_kusd
    # product A: every cap binds whatever the spread; proportional risk split 60:10
    for e, after in {CHN: 30.0, USA: 5.0, DEU: 40.0, JPN: 20.0, KOR: 5.0}.items():
        assert _flow(inst, x, A, e) == pytest.approx(after, abs=1e-6), (A, e)
    assert _flow(inst, x, B, RUS) == pytest.approx(0.0, abs=1e-6)
    if spread == "proportional":
        nor, gbr = 30.0 + 50.0 * 10.0 / 55.0, 10.0 + 5.0 * 10.0 / 55.0
        assert nor == pytest.approx(39.0909, abs=1e-4) and gbr == pytest.approx(10.9091, abs=1e-4)
    else:
        nor, gbr = 35.0, 15.0
    assert _flow(inst, x, B, NOR) == pytest.approx(nor, abs=1e-6)
    assert _flow(inst, x, B, GBR) == pytest.approx(gbr, abs=1e-6)


def test_closed_form_agrees():
    inst, alloc = _solve("proportional")
    xc = closed_form(inst)
    risk_after = np.bincount(inst.pair_product, weights=np.where(inst.is_risk, xc, 0.0), minlength=2)
    by_product = dict(zip(inst.products, risk_after, strict=False))
    assert by_product[A] == pytest.approx(35.0) and by_product[B] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("spread,hhi_b_after", [("proportional", 0.6588), ("min-hhi", 0.58)])
def test_hhi_and_basket_numbers(spread, hhi_b_after):
    inst, alloc = _solve(spread)
    tables = compute_tables(inst, alloc, None, None)
    prod = tables.products.set_index("k")
    assert prod.loc[A, "hhi_before"] == pytest.approx(0.42, abs=1e-12)
    assert prod.loc[A, "hhi_after"] == pytest.approx(0.295, abs=1e-9)
    assert prod.loc[B, "hhi_before"] == pytest.approx(0.44, abs=1e-12)
    assert prod.loc[B, "hhi_after"] == pytest.approx(hhi_b_after, abs=5e-5)  # the doc rounds to 4 decimals
    assert prod.loc[B, "hhi_after"] > prod.loc[B, "hhi_before"]  # cutting Russia raises concentration
    s = tables.summary
    assert s["total_usd"] == pytest.approx(150_000.0)  # 150 kUSD
    assert s["risk_before_usd"] == pytest.approx(80_000.0)
    assert s["risk_after_usd"] == pytest.approx(35_000.0, abs=1e-3)
    assert round(100 * s["risk_share_before"], 1) == 53.3
    assert round(100 * s["risk_share_after"], 1) == 23.3
    assert s["shifted_usd"] == pytest.approx(45_000.0, abs=1e-3)
    exp = tables.exposure.set_index("baci_code")
    assert exp.loc[CHN, "after_usd"] == pytest.approx(30_000.0, abs=1e-3)
    assert exp.loc[USA, "after_usd"] == pytest.approx(5_000.0, abs=1e-3)
    assert exp.loc[RUS, "after_usd"] == pytest.approx(0.0, abs=1e-3)


def test_hhi_numbers_in_doc_are_hand_correct():
    """Independent arithmetic of the doc's HHI lines (guards against a typo in both doc and test)."""
    hhi = lambda shares: float(np.sum(np.square(shares)))  # noqa: E731
    assert hhi([0.6, 0.1, 0.2, 0.1]) == pytest.approx(0.42)
    assert hhi([0.30, 0.05, 0.40, 0.20, 0.05]) == pytest.approx(0.295)
    assert hhi([0.2, 0.6, 0.2]) == pytest.approx(0.44)
    assert round(hhi([39.0909 / 50, 10.9091 / 50]), 4) == 0.6588
    assert hhi([0.7, 0.3]) == pytest.approx(0.58)
    assert re.search(r"\$35 \\times 60/70 = 30\$", DOC.read_text(encoding="utf-8"))
