"""An Arrow flow table (``ARROW_SCHEMA``) -> the flows frame, sorted by (t, k, i, j).

One pass does the sort and the duplicate-key check: the key (t, k, i, j) is packed
into one int64 whose order is the sort order (HS6 codes of six digits sort as
integers like as text), a stable argsort orders the rows, and equal neighbours in
that order are the repeated keys (the later file rows are reported). HS6 codes
become Python strings once per distinct code, not once per row. Tables whose codes
do not pack (only possible without validation) take the pandas sort.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from optimize.data.validate import duplicate_key_problem, duplicate_problems, raise_for_problems

_PACK_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def sort_key(tbl: pa.Table) -> np.ndarray | None:
    """(n,) int64 whose ascending order is the (t, k, i, j) order, or None when the codes do not pack
    (nulls, negative codes, HS codes that are not six digits, or a key wider than 62 bits)."""
    if tbl.num_rows == 0 or any(tbl[c].null_count for c in ("t", "i", "j", "k")):
        return None
    lengths = pc.min_max(pc.utf8_length(tbl["k"]))
    if lengths["min"].as_py() != 6 or lengths["max"].as_py() != 6:
        return None
    try:
        k = pc.cast(tbl["k"], pa.int64()).to_numpy()
    except _PACK_ERRORS:
        return None
    cols = [tbl["t"].to_numpy().astype(np.int64), k, tbl["i"].to_numpy().astype(np.int64),
            tbl["j"].to_numpy().astype(np.int64)]
    cols[0] = cols[0] - cols[0].min()
    if min(int(c.min()) for c in cols) < 0:
        return None
    radix = [int(c.max()) + 1 for c in cols]
    if float(np.prod(np.array(radix, dtype="float64"))) >= 2.0 ** 62:
        return None
    key = cols[0]
    for col, r in zip(cols[1:], radix[1:], strict=True):
        key = key * r + col
    return key


def _hs6_objects(k: pa.ChunkedArray, order: np.ndarray) -> np.ndarray:
    """HS6 codes as an object array of str in ``order``: one Python string per distinct code."""
    enc = pc.dictionary_encode(k).combine_chunks()
    words = np.asarray(enc.dictionary.to_pylist(), dtype=object)
    return words[enc.indices.to_numpy(zero_copy_only=False)[order]]


def to_frame(tbl: pa.Table, *, label: str = "<table>", check_duplicates: bool = True) -> pd.DataFrame:
    """The flows frame of ``tbl`` (contract dtypes, sorted by t, k, i, j); with ``check_duplicates``
    a repeated (t, i, j, k) raises ``DataError`` naming the 1-based rows of ``tbl`` that repeat one."""
    key = sort_key(tbl)
    if key is None:
        if check_duplicates and tbl.num_rows:
            raise_for_problems(duplicate_problems(tbl["t"].to_numpy(), tbl["i"].to_numpy(), tbl["j"].to_numpy(),
                                                  tbl["k"], np.arange(1, tbl.num_rows + 1), label))
        return _pandas_sorted(tbl)
    order = np.argsort(key, kind="stable")
    if check_duplicates:
        ordered = key[order]
        repeats = np.sort(order[1:][ordered[1:] == ordered[:-1]])
        if repeats.size:
            raise_for_problems([duplicate_key_problem(repeats + 1, int(repeats.size), label)])
    return pd.DataFrame({
        "t": tbl["t"].to_numpy().astype("int16")[order],
        "i": tbl["i"].to_numpy().astype("int32")[order],
        "j": tbl["j"].to_numpy().astype("int32")[order],
        "k": _hs6_objects(tbl["k"], order),
        "v": tbl["v"].to_numpy().astype("float64")[order],
        "q": tbl["q"].to_numpy(zero_copy_only=False).astype("float64")[order],
    })


def _pandas_sorted(tbl: pa.Table) -> pd.DataFrame:
    """The frame sorted by pandas (codes that do not pack)."""
    df = pd.DataFrame({
        "t": tbl["t"].to_numpy(zero_copy_only=False).astype("int16"),
        "i": tbl["i"].to_numpy(zero_copy_only=False).astype("int32"),
        "j": tbl["j"].to_numpy(zero_copy_only=False).astype("int32"),
        "k": np.asarray(tbl["k"].to_numpy(zero_copy_only=False), dtype=object),
        "v": tbl["v"].to_numpy(zero_copy_only=False).astype("float64"),
        "q": tbl["q"].to_numpy(zero_copy_only=False).astype("float64"),
    })
    return df.sort_values(["t", "k", "i", "j"], kind="stable").reset_index(drop=True)
