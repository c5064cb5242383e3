"""An Arrow flow table (``ARROW_SCHEMA``) -> the flows frame, sorted by (t, k, i, j).

One pass does the sort and the duplicate-key check: the key (t, k, i, j) is packed
into one int64 whose order is the sort order (HS6 codes of six digits sort as
integers like as text), a stable argsort orders the rows, and equal neighbours in
that order are the repeated keys (the later file rows are reported). Each distinct
HS6 code is formatted once, not once per row. Tables whose codes
do not pack (only possible without validation) take the pandas sort.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from optimize.data.validate import Problem, duplicate_key_problem, duplicate_problems, raise_for_problems

_PACK_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def sort_key(tbl: pa.Table) -> tuple[np.ndarray, np.ndarray] | None:
    """(key, k): an (n,) int64 whose ascending order is the (t, k, i, j) order and the HS6 codes as int64;
    None when the codes do not pack (nulls, negative codes, HS codes that are not six digits, or a key
    wider than 62 bits)."""
    if tbl.num_rows == 0 or any(tbl[c].null_count for c in ("t", "i", "j", "k")):
        return None
    lengths = pc.min_max(pc.utf8_length(tbl["k"]))
    if lengths["min"].as_py() != 6 or lengths["max"].as_py() != 6:
        return None
    try:
        k = pc.cast(tbl["k"], pa.int64()).to_numpy()
    except _PACK_ERRORS:
        return None
    t, i, j = (tbl[c].to_numpy() for c in ("t", "i", "j"))
    lows = [int(c.min()) for c in (t, k, i, j)]
    highs = [int(c.max()) for c in (t, k, i, j)]
    if min(lows[1:]) < 0:
        return None
    radix = [highs[0] - lows[0] + 1] + [h + 1 for h in highs[1:]]
    if float(np.prod(np.array(radix, dtype="float64"))) >= 2.0 ** 62:
        return None
    key = k * (radix[2] * radix[3])  # int32 codes are added in place: no int64 copies of them
    key += i.astype(np.int64) * radix[3] if radix[2] * radix[3] >= 2 ** 31 else i * radix[3]
    key += j
    if radix[0] > 1:
        key += (t.astype(np.int64) - lows[0]) * (radix[1] * radix[2] * radix[3])
    return key, k


def _hs6_column(k_sorted: np.ndarray):
    """Six-digit HS codes (int64, sorted) as the frame's text column: each distinct code is formatted once
    and spread by position; pandas' default string dtype (Arrow-backed where pandas infers it)."""
    new = np.empty(k_sorted.shape[0], dtype=bool)
    new[:1] = True
    np.not_equal(k_sorted[1:], k_sorted[:-1], out=new[1:])
    words = pc.utf8_lpad(pa.array(k_sorted[new]).cast(pa.string()), width=6, padding="0")
    codes = pc.take(words, pa.array(np.cumsum(new) - 1))
    dtype = _TEXT_DTYPE
    if dtype == np.dtype(object):
        return np.asarray(words.to_pylist(), dtype=object)[np.cumsum(new) - 1]
    return pd.array(codes, dtype=dtype)


_TEXT_DTYPE = pd.Series(["010121"]).dtype  # what pandas makes of text: object, or its str dtype


def _take(col: pa.ChunkedArray, dtype: str, order: np.ndarray) -> np.ndarray:
    """``col`` as numpy ``dtype`` (no copy when it already is), rows in ``order``."""
    return col.to_numpy().astype(dtype, copy=False).take(order)


def to_frame(tbl: pa.Table, *, label: str = "<table>", check_duplicates: bool = True) -> pd.DataFrame:
    """The flows frame of ``tbl`` (contract dtypes, sorted by t, k, i, j); with ``check_duplicates``
    a repeated (t, i, j, k) raises ``DataError`` naming the 1-based rows of ``tbl`` that repeat one."""
    packed = sort_key(tbl)
    if packed is None:
        if check_duplicates:
            check_duplicate_keys(tbl, label)
        return _pandas_sorted(tbl)
    key, k = packed
    order = np.argsort(key, kind="stable")
    if check_duplicates:
        raise_for_problems(_repeats(key, order, label))
    return pd.DataFrame({
        "t": _take(tbl["t"], "int16", order), "i": _take(tbl["i"], "int32", order),
        "j": _take(tbl["j"], "int32", order), "k": _hs6_column(k.take(order)),
        "v": _take(tbl["v"], "float64", order),
        "q": tbl["q"].to_numpy(zero_copy_only=False).astype("float64", copy=False).take(order),
    }, copy=False)


def _repeats(key: np.ndarray, order: np.ndarray, label: str) -> list[Problem]:
    """The duplicate-key problem when equal keys follow each other in ``order`` (the later rows repeat)."""
    ordered = key.take(order)
    repeats = np.sort(order[1:][ordered[1:] == ordered[:-1]])
    return [duplicate_key_problem(repeats + 1, int(repeats.size), label)] if repeats.size else []


def repeated_keys(tbl: pa.Table, label: str) -> list[Problem]:
    """Problems for the 1-based rows of ``tbl`` that repeat an earlier (t, i, j, k) (``tbl``: t, i, j, k
    at least, typed as ``ARROW_SCHEMA``)."""
    packed = sort_key(tbl)
    if packed is None:
        if not tbl.num_rows:
            return []
        return duplicate_problems(tbl["t"].to_numpy(), tbl["i"].to_numpy(), tbl["j"].to_numpy(), tbl["k"],
                                  np.arange(1, tbl.num_rows + 1), label)
    ordered = np.sort(packed[0])  # unstable sort: about twice as fast; rows are found only if a key repeats
    if not (ordered[1:] == ordered[:-1]).any():
        return []
    return _repeats(packed[0], np.argsort(packed[0], kind="stable"), label)


def check_duplicate_keys(tbl: pa.Table, label: str) -> None:
    """``DataError`` naming the 1-based rows of ``tbl`` that repeat an earlier (t, i, j, k)."""
    raise_for_problems(repeated_keys(tbl, label))


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
