"""Fuzzing the readers and the whole pipeline with random small, partly broken trade tables.

- ``from_dataframe`` and ``read_baci`` (CSV bytes written to a tmp file) never raise
  anything but tradeopt's own errors (``TradeoptError`` subclasses);
- whatever validates runs through ``single.run``: totals per product kept, no
  negative flow, no alternative above today's flow + its cap, risk exposure not up
  (hand checks on the arrays), and the highs and pyomo backends agree on the
  exposure per product.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from optimize.config.scenario import validate_scenario
from optimize.data.baci import from_dataframe, read_baci
from optimize.data.trade import BACI_COLUMNS
from optimize.errors import TradeoptError
from optimize.runs.single import run

# real BACI codes: CHN, USA, RUS (risk), JPN, KOR, CAN, FRA, DEU, NLD (EU importers); 999 is unknown
COUNTRIES = (156, 842, 643, 392, 410, 124, 251, 276, 528)
EU = (251, 276, 528)
CODES = ("850440", "854143", "271600")

clean_cell = {
    "t": st.sampled_from([2023]),
    "i": st.sampled_from(COUNTRIES),
    "j": st.sampled_from(COUNTRIES),
    "k": st.sampled_from(CODES),
    "v": st.floats(0.001, 1e6, allow_nan=False, allow_infinity=False),
    "q": st.one_of(st.none(), st.floats(0, 1e5, allow_nan=False, allow_infinity=False)),
}
junk = st.one_of(
    st.none(), st.just(float("nan")), st.just(float("inf")), st.just(-1.0), st.just(-0.5), st.just(2023.5),
    st.just(""), st.just("NA"), st.just("abc"), st.just("8504400"), st.just("85A440"), st.just(10121),
    st.just(999), st.just(True), st.integers(-(2**40), 2**40), st.text(max_size=6),
)


@st.composite
def dirty_tables(draw, max_rows=12, p_junk=0.15):
    """A DataFrame with BACI columns (sometimes one dropped or one extra) and some junk cells."""
    n = draw(st.integers(0, max_rows))
    data = {c: [draw(clean_cell[c]) for _ in range(n)] for c in BACI_COLUMNS}
    for c in BACI_COLUMNS:
        for r in range(n):
            if draw(st.floats(0, 1)) < p_junk:
                data[c][r] = draw(junk)
    df = pd.DataFrame(data, columns=list(BACI_COLUMNS))
    shape = draw(st.sampled_from(["as is", "as is", "as is", "drop", "extra", "strings"]))
    if shape == "drop":
        df = df.drop(columns=draw(st.sampled_from(list(BACI_COLUMNS))))
    elif shape == "extra":
        df["z"] = 0
    elif shape == "strings":
        df = df.astype(str)
    return df


def _check_ok(td) -> None:
    f = td.flows
    assert f["k"].map(lambda s: isinstance(s, str) and len(s) == 6 and s.isdigit()).all()
    assert np.isfinite(f["v"]).all() and (f["v"] >= 0).all()
    assert (f["i"] != f["j"]).all()
    assert not f.duplicated(["t", "i", "j", "k"]).any()


_ROW = {"t": 2023, "i": 156, "j": 842, "k": "850440", "v": 1.0, "q": None}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=dirty_tables())
@example(df=pd.DataFrame([_ROW, {**_ROW, "k": 10121, "v": "8504400"}]))  # mixed str/float column (was ArrowInvalid)
@example(df=pd.DataFrame([{**_ROW, "t": 8504400}]))  # year outside int16 (was ArrowInvalid)
def test_from_dataframe_raises_only_our_errors(df):
    try:
        td = from_dataframe(df)
    except TradeoptError as exc:
        assert str(exc)  # a message, never empty
        return
    _check_ok(td)


def _csv_cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return str(v).replace("\n", " ")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(df=dirty_tables(), mangle=st.sampled_from(["none", "none", "cut", "garbage", "quote", "blank_lines"]))
def test_read_baci_csv_raises_only_our_errors(tmp_path_factory, df, mangle):
    tmp = tmp_path_factory.mktemp("fuzz")
    text = ",".join(df.columns) + "\n" + "".join(",".join(_csv_cell(v) for v in row) + "\n"
                                                 for row in df.itertuples(index=False))
    raw = text.encode("utf-8", "surrogatepass")
    if mangle == "cut":
        raw = raw[: len(raw) // 2]
    elif mangle == "garbage":
        raw = raw + bytes(range(256))
    elif mangle == "quote":
        raw = raw.replace(b",", b',"', 1)
    elif mangle == "blank_lines":
        raw = raw.replace(b"\n", b"\n\n")
    path = tmp / "BACI_HS22_Y2023_V202501.csv"
    path.write_bytes(raw)
    try:
        td = read_baci(path, cache_dir=tmp / "cache")
    except TradeoptError as exc:
        assert str(path) in str(exc)
        assert not any((tmp / "cache").glob("*")) if (tmp / "cache").exists() else True
        return
    _check_ok(td)


# ------------------------------------------------------------------ pipeline on whatever validates
@st.composite
def valid_tables(draw):
    """Clean tables with at least one EU import of a risk-country product and a non-risk exporter."""
    rows = {}
    n = draw(st.integers(4, 25))
    for _ in range(n):
        i, j = draw(st.sampled_from(COUNTRIES)), draw(st.sampled_from(COUNTRIES))
        if i == j:
            continue
        rows[(i, j, draw(st.sampled_from(CODES)))] = draw(st.floats(0.01, 1e4, allow_nan=False))
    rows[(156, EU[0], CODES[0])] = draw(st.floats(1, 1e4))
    rows[(392, EU[1], CODES[0])] = draw(st.floats(1, 1e4))
    rows[(392, 842, CODES[0])] = draw(st.floats(1, 1e4))
    return pd.DataFrame([{"t": 2023, "i": i, "j": j, "k": k, "v": round(v, 3), "q": None}
                         for (i, j, k), v in sorted(rows.items())])


def _scenario(cap_pp: float, backend: str, risk: list[str]):
    return validate_scenario({"name": "fuzz", "basket": {"products": "all"}, "risk": {"countries": risk},
                              "cap": {"pp": cap_pp}, "solver": {"backend": backend},
                              "report": {"figures": False}})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=valid_tables(), cap_pp=st.sampled_from([0.0, 1.0, 5.0, 25.0, 100.0]),
       risk=st.sampled_from([["CHN"], ["CHN", "USA"], ["CHN", "USA", "RUS"]]))
def test_engine_invariants_and_backends_agree_on_validated_tables(df, cap_pp, risk):
    td = from_dataframe(df)
    res = run(_scenario(cap_pp, "highs", risk), td)
    inst, alloc = res.instance, res.allocation
    x0, x1 = inst.x0_kusd, alloc.x_after_kusd
    p = inst.pair_product
    tol = 1e-6 * max(1.0, float(inst.total_kusd.max()))
    tot1 = np.bincount(p, weights=x1, minlength=inst.n_products)
    np.testing.assert_allclose(tot1, inst.total_kusd, atol=tol)  # totals kept (no bans here)
    assert (x1 >= -tol).all()
    alt = ~inst.is_risk
    assert (x1[alt] <= x0[alt] + inst.cap_kusd[alt] + tol).all()  # caps respected
    assert (x1[inst.is_risk] <= x0[inst.is_risk] + tol).all()  # risk flows never grow
    risk0 = np.bincount(p, weights=np.where(inst.is_risk, x0, 0.0), minlength=inst.n_products)
    risk1 = np.bincount(p, weights=np.where(inst.is_risk, x1, 0.0), minlength=inst.n_products)
    assert (risk1 <= risk0 + tol).all()
    # hand oracle per product: risk cut = min(risk today, sum of alternatives' caps)
    room = np.bincount(p, weights=np.where(alt, inst.cap_kusd, 0.0), minlength=inst.n_products)
    np.testing.assert_allclose(risk0 - risk1, np.minimum(risk0, room), atol=tol)
    other = run(_scenario(cap_pp, "pyomo", risk), td)
    r_other = np.bincount(other.instance.pair_product,
                          weights=np.where(other.instance.is_risk, other.allocation.x_after_kusd, 0.0),
                          minlength=other.instance.n_products)
    np.testing.assert_allclose(r_other, risk1, atol=tol)
