"""build_instance's one-pass pair sums (``model.pairs``) against a pandas groupby oracle, and the
same instance from the frame and from the year's arrays (``yeararrays.YearArrays``)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.model.instance import build_instance
from optimize.model.yeararrays import year_arrays

J = (4, 8)  # a bloc of two codes
CODES = [4, 8, 156, 276, 842, 999]
KS = ["010121", "270900", "850440", "999999"]

rows = st.lists(st.tuples(st.sampled_from([2022, 2023]), st.sampled_from(CODES), st.sampled_from(CODES),
                          st.sampled_from(KS), st.sampled_from([0.0, 0.5, 1.0, 7.25, 1e5]),
                          st.one_of(st.none(), st.sampled_from([0.0, 2.0, 3.5]))),
                min_size=1, max_size=50).map(lambda r: list({(t, i, j, k): (t, i, j, k, v, q)
                                                             for t, i, j, k, v, q in r}.values()))


def _frame(data) -> pd.DataFrame:
    df = pd.DataFrame(data, columns=list("tijkvq")).astype({"t": "int16", "i": "int32", "j": "int32"})
    df["q"] = df["q"].astype(float)
    return df


def _oracle(df: pd.DataFrame, exclude: bool) -> pd.DataFrame:
    """Per (k, i) of 2023: world value and tonnes (NaN when none known), J's counted imports, exports to
    places outside J; only products J imports, only exporters with world exports > 0; with intra-bloc
    trade excluded, members of J (not risk countries) that do not supply J today are no pairs."""
    d = df[df["t"] == 2023].copy()
    into = d["j"].isin(J)
    d["x0"] = np.where(into & ~(exclude & d["i"].isin(J)), d["v"], 0.0)
    d["x0q"] = np.where(into & ~(exclude & d["i"].isin(J)), d["q"], np.nan)
    d["into"] = np.where(into, d["v"], 0.0)
    g = d.groupby(["k", "i"]).agg(world=("v", "sum"), wq=("q", lambda s: s.sum() if s.notna().any() else np.nan),
                                  x0=("x0", "sum"), x0q=("x0q", lambda s: s.sum() if s.notna().any() else np.nan),
                                  into=("into", "sum")).reset_index()
    g = g[g["world"] > 0]
    if exclude:
        g = g[~(g["i"].isin(J) & (g["x0"] <= 0))]
    g = g[g.groupby("k")["x0"].transform("sum") > 0]
    return g.sort_values(["k", "i"]).reset_index(drop=True)


@settings(max_examples=60, deadline=None)
@given(rows, st.booleans())
def test_pair_sums_match_a_groupby_oracle_and_the_year_arrays_path(data, exclude):
    df = _frame(data)
    want = _oracle(df, exclude)
    kw = dict(importer="J", importer_codes=J, year=2023, products=None, risk_codes=[156],
              intra_bloc="exclude" if exclude else "include")
    if want.empty:
        return
    inst = build_instance(df, **kw)
    assert list(inst.products[inst.pair_product]) == list(want["k"])
    assert inst.pair_exporter.tolist() == want["i"].tolist()
    for got, col in ((inst.world_exports_kusd, "world"), (inst.x0_kusd, "x0"), (inst.world_tonnes, "wq"),
                     (inst.x0_tonnes, "x0q")):
        np.testing.assert_allclose(got, want[col].to_numpy(dtype=float), rtol=1e-12, atol=0, err_msg=col)
    np.testing.assert_allclose(inst.row_exports_kusd, np.maximum(want["world"] - want["into"], 0.0), rtol=1e-12)
    arrays = year_arrays(df[df["t"] == 2023], tonnes=True)
    from_arrays = build_instance(arrays, **kw)
    for name in ("products", "pair_product", "pair_exporter", "x0_kusd", "world_tonnes", "cap_kusd", "upper_kusd"):
        np.testing.assert_array_equal(getattr(from_arrays, name), getattr(inst, name), err_msg=name)
    other = dict(kw, importer="DEU", importer_codes=(276,))  # a second cell on the same arrays (cells built once)
    try:
        fresh = build_instance(df, **other)
    except Exception as exc:  # no imports of DEU: the same error from both
        with pytest.raises(type(exc)):
            build_instance(arrays, **other)
        return
    again = build_instance(arrays, **other)
    for name in ("pair_exporter", "x0_kusd", "world_exports_kusd", "x0_tonnes", "row_exports_kusd"):
        np.testing.assert_array_equal(getattr(again, name), getattr(fresh, name), err_msg=name)
