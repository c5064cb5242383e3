"""The fast read path against independent oracles: the packed-key sort and duplicate check
(``data.frame``) against pandas, the six-digit shortcut of ``normalise_table`` against the pandas
HS6 normaliser, and the batched cells' no-grouping shortcut against the grouping path."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.analysis.exposure import cell_metrics
from optimize.data.frame import to_frame
from optimize.data.normalise import normalise_table
from optimize.data.trade import ARROW_SCHEMA
from optimize.data.validate import normalise_hs6
from optimize.errors import DataError
from optimize.model.batched import solve_block
from optimize.model.yeararrays import year_arrays

rows = st.lists(st.tuples(st.sampled_from([2021, 2022, 2023]), st.sampled_from([4, 156, 251, 276, 842]),
                          st.sampled_from([8, 32, 76, 699]),
                          st.sampled_from(["010121", "850440", "270900", "999999", "000100"]),
                          st.floats(0, 1e6), st.one_of(st.none(), st.floats(0, 1e3))),
                min_size=1, max_size=60)


def _table(data) -> pa.Table:
    t, i, j, k, v, q = zip(*data, strict=True)
    return pa.table({"t": pa.array(t, pa.int16()), "i": pa.array(i, pa.int32()), "j": pa.array(j, pa.int32()),
                     "k": pa.array(k, pa.string()), "v": pa.array(v, pa.float64()),
                     "q": pa.array(q, pa.float64())}, schema=ARROW_SCHEMA)


@settings(max_examples=150, deadline=None)
@given(rows)
def test_sorted_frame_and_duplicates_match_pandas(data):
    tbl = _table(data)
    raw = pd.DataFrame(data, columns=list("tijkvq"))
    repeats = np.flatnonzero(raw.duplicated(subset=["t", "i", "j", "k"], keep="first").to_numpy()) + 1
    if repeats.size:
        with pytest.raises(DataError) as err:
            to_frame(tbl, label="x.parquet")
        assert err.value.problems[0].count == repeats.size
        assert list(err.value.problems[0].rows) == list(repeats[:5])
        return
    got = to_frame(tbl, label="x.parquet")
    want = raw.sort_values(["t", "i", "j", "k"], kind="stable").reset_index(drop=True)
    assert list(got["k"]) == list(want["k"])
    for c in "tijv":
        np.testing.assert_array_equal(got[c].to_numpy(), want[c].to_numpy())
    np.testing.assert_array_equal(got["q"].to_numpy(), want["q"].to_numpy(dtype=float, na_value=np.nan))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.from_regex(r"\A[0-9]{6}\Z"), st.from_regex(r"\A ?[0-9]{4,6}(\.0)? ?\Z"),
                          st.sampled_from(["", "NA", " na "])), min_size=1, max_size=30))
def test_normalised_codes_match_the_pandas_normaliser(codes):
    n = len(codes)
    raw = pa.table({"t": [2023] * n, "i": [4] * n, "j": [8] * n, "k": codes, "v": [1.0] * n, "q": [1.0] * n})
    got = normalise_table(raw)["k"].to_pylist()
    want = normalise_hs6(pd.Series(codes, dtype=object))
    assert got == [None if pd.isna(w) else w for w in want]


def test_batched_cells_do_not_depend_on_row_order():
    """Rows in reader order take the no-grouping shortcut; shuffled rows take the grouping path."""
    rng = np.random.default_rng(7)
    keys = pd.MultiIndex.from_product([["010121", "850440", "270900"], [4, 156, 251, 276, 842, 699],
                                       [4, 251, 276, 699, 842]], names=["k", "i", "j"]).to_frame(index=False)
    flows = keys.loc[keys["i"] != keys["j"]].sample(frac=0.7, random_state=3).sort_values(["i", "j", "k"])
    flows = flows.assign(v=rng.lognormal(3, 1, len(flows))).reset_index(drop=True)
    args = ([(4,), (251,), (276,), (699,), (842,), (251, 276)], [156, 842], "world-exports", [0.0, 5.0, 30.0])
    ordered = cell_metrics(solve_block(year_arrays(flows), *args))
    shuffled = cell_metrics(solve_block(year_arrays(flows.sample(frac=1.0, random_state=1).reset_index(drop=True)),
                                        *args))
    for name, value in vars(ordered).items():
        if value is None:  # no cost asked for (``YearArrays.cost``): none on either path
            assert getattr(shuffled, name) is None, name
            continue
        np.testing.assert_allclose(value, getattr(shuffled, name), rtol=1e-12, atol=1e-9, err_msg=name)


def _write(path, rows_):
    import pyarrow.parquet as pq

    pq.write_table(_table(rows_), path)
    return path


_DUP = [(2023, 4, 8, "010121", 1.0, 1.0), (2023, 4, 32, "010121", 2.0, 1.0), (2023, 4, 8, "010121", 3.0, None)]


def test_a_parquet_with_a_repeated_key_is_refused_by_read_and_convert(tmp_path):
    from optimize.data.baci import read_baci
    from optimize.data.convert import convert

    src = _write(tmp_path / "dup.parquet", _DUP)
    for call in (lambda: read_baci(src), lambda: convert(src, out=tmp_path / "out.parquet")):
        with pytest.raises(DataError) as err:
            call()
        assert err.value.problems[0].kind == "duplicate_key" and err.value.problems[0].rows == (3,)
    assert not (tmp_path / "out.parquet").exists()


def test_a_key_repeated_across_files_of_a_folder_is_refused_by_read_and_convert(tmp_path):
    from optimize.data.baci import read_baci
    from optimize.data.convert import convert

    folder = tmp_path / "release"
    folder.mkdir()
    _write(folder / "BACI_HS22_Y2023_V202501.parquet", _DUP[:2])
    _write(folder / "BACI_HS22_Y2023_V202501b.parquet", _DUP[2:])
    for call in (lambda: read_baci(folder), lambda: convert(folder, out=tmp_path / "out.parquet")):
        with pytest.raises(DataError, match="year 2023 is in two files"):
            call()


@settings(max_examples=100, deadline=None)
@given(rows)
def test_a_table_in_baci_order_is_kept_as_it_is(data):
    """Rows already in (t, i, j, k) order take the no-sort path: same frame, repeats found by position."""
    raw = pd.DataFrame(data, columns=list("tijkvq")).sort_values(["t", "i", "j", "k"], kind="stable")
    tbl = _table(list(raw.itertuples(index=False, name=None)))
    repeats = np.flatnonzero(raw.duplicated(subset=["t", "i", "j", "k"], keep="first").to_numpy()) + 1
    if repeats.size:
        with pytest.raises(DataError) as err:
            to_frame(tbl)
        assert list(err.value.problems[0].rows) == list(repeats[:5])
        return
    got = to_frame(tbl)
    assert list(got["k"]) == list(raw["k"])
    np.testing.assert_array_equal(got["v"].to_numpy(), raw["v"].to_numpy())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["010121", "850440", "270900", "999999", "000100", "7", "ab1234"]), min_size=1,
                max_size=40))
def test_hs6_index_of_a_text_column_matches_pandas_sorted_factorize(codes):
    """``hs6_index`` of the frame's text column (pandas' str dtype: Arrow large_string) equals pandas' sorted
    factorize; six-digit columns take the integer shortcut (it was skipped for large_string)."""
    from optimize.data.frame import _hs6_ints, hs6_index

    col = pd.Series(codes, dtype=pd.Series(["010121"]).dtype)
    idx, hs6 = hs6_index(col)
    want_idx, want = pd.factorize(pd.Series(codes, dtype=object), sort=True)
    assert np.array_equal(idx, want_idx) and list(hs6) == [str(c) for c in want]
    assert (_hs6_ints(col) is None) == any(len(c) != 6 or not c.isdigit() for c in codes)
