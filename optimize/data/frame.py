"""An Arrow flow table (``ARROW_SCHEMA``) -> the flows frame, in BACI's order (t, i, j, k).

One pass does the sort and the duplicate-key check: the key (t, i, j, k) is packed
into one int64 whose order is the sort order (HS6 codes of six digits sort as
integers like as text). BACI files come in this order, so mostly the key is found
sorted and nothing moves; else a stable argsort orders the rows. Equal neighbours
in that order are the repeated keys (the later file rows are reported). Each
HS6 code column stays Arrow text (no Python string per row). Tables whose codes do
not pack (only possible without validation) take the pandas sort.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from optimize.data.trade import BACI_COLUMNS
from optimize.data.validate import Problem, duplicate_key_problem, duplicate_problems, raise_for_problems

ORDER = ("t", "i", "j", "k")
#: HS6 codes are below this (six digits).
_HS6_RANGE = 1_000_000
#: The frame's numeric columns and their dtypes (the contract of ``TradeData.flows``; k is text).
_DTYPES = {"t": "int16", "i": "int32", "j": "int32", "v": "float64", "q": "float64"}
_TEXT_DTYPE = pd.Series(["010121"]).dtype  # what pandas makes of text: object, or its str dtype


def _hs6_ints(k) -> np.ndarray | None:
    """HS6 text codes (Arrow or pandas) as int64 when every one is six ASCII digits (no null), else None."""
    arr = k if isinstance(k, (pa.Array, pa.ChunkedArray)) else pa.array(k)
    if arr.null_count or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    if len(arr) == 0:
        return np.zeros(0, dtype=np.int64)
    lengths = pc.min_max(pc.utf8_length(arr))
    if lengths["min"].as_py() != 6 or lengths["max"].as_py() != 6 or not pc.all(pc.ascii_is_decimal(arr)).as_py():
        return None
    return pc.cast(arr, pa.int64()).to_numpy(zero_copy_only=False)


def sort_key(tbl: pa.Table) -> tuple[np.ndarray, np.ndarray] | None:
    """(key, k): an (n,) int64 whose ascending order is the (t, i, j, k) order and the HS6 codes as int64;
    None when the codes do not pack (nulls, negative codes, HS codes that are not six digits, or a key
    wider than 62 bits)."""
    if tbl.num_rows == 0 or any(tbl[c].null_count for c in ORDER):
        return None
    k = _hs6_ints(tbl["k"])
    if k is None:
        return None
    t, i, j = (tbl[c].to_numpy() for c in ("t", "i", "j"))
    if min(int(i.min()), int(j.min())) < 0:
        return None
    t_low = int(t.min())
    radix_t, radix_i, radix_j = int(t.max()) - t_low + 1, int(i.max()) + 1, int(j.max()) + 1
    if float(radix_t) * radix_i * radix_j * _HS6_RANGE >= 2.0 ** 62:
        return None
    key = i.astype(np.int64)
    if radix_t > 1:
        key += (t.astype(np.int64) - t_low) * radix_i
    key *= radix_j
    key += j
    key *= _HS6_RANGE
    key += k
    return key, k


def _hs6_column(k: pa.ChunkedArray, order: np.ndarray | None):
    """The validated six-character HS codes as the frame's text column, rows in ``order`` (None: as they
    are): pandas' default string dtype, Arrow-backed where pandas infers that (no Python strings)."""
    codes = k if order is None else pc.take(k, pa.array(order))
    if _TEXT_DTYPE == np.dtype(object):
        enc = pc.dictionary_encode(codes).combine_chunks()  # one Python string per distinct code
        return np.asarray(enc.dictionary.to_pylist(), dtype=object)[enc.indices.to_numpy(zero_copy_only=False)]
    return pd.array(codes, dtype=_TEXT_DTYPE)



def _column(col: pa.ChunkedArray, dtype: str, order: np.ndarray | None) -> np.ndarray:
    """``col`` as numpy ``dtype`` (no copy when it already is), rows in ``order`` (None: as they are)."""
    out = col.to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    return out if order is None else out.take(order)


def to_frame(tbl: pa.Table, *, label: str = "<table>", check_duplicates: bool = True) -> pd.DataFrame:
    """The flows frame of ``tbl`` (contract dtypes, sorted by t, i, j, k); with ``check_duplicates``
    a repeated (t, i, j, k) raises ``DataError`` naming the 1-based rows of ``tbl`` that repeat one."""
    return frame_and_order(tbl, label=label, check_duplicates=check_duplicates)[0]


def frame_and_order(tbl: pa.Table, *, label: str = "<table>", check_duplicates: bool = True,
                    ordered: bool = False) -> tuple[pd.DataFrame, bool]:
    """(``to_frame(tbl)``, whether ``tbl`` was in (t, i, j, k) order already). ``ordered``: the caller knows
    it is (a validated file marked so) and no key is made or checked (only without ``check_duplicates``)."""
    packed = None if ordered and not check_duplicates else sort_key(tbl)
    if packed is None and not ordered:
        if check_duplicates:
            check_duplicate_keys(tbl, label)
        return _pandas_sorted(tbl), False
    key = None if packed is None else packed[0]
    order = None if key is None or bool(np.all(key[1:] >= key[:-1])) else np.argsort(key, kind="stable")
    if check_duplicates:
        raise_for_problems(_repeats(key, order, label))
    columns = {c: _column(tbl[c], dtype, order) for c, dtype in _DTYPES.items()}
    columns["k"] = _hs6_column(tbl["k"], order)
    return pd.DataFrame({c: columns[c] for c in BACI_COLUMNS}, copy=False), order is None


def _repeats(key: np.ndarray, order: np.ndarray | None, label: str) -> list[Problem]:
    """The duplicate-key problem when equal keys follow each other in ``order`` (None: ``key`` is sorted;
    the later rows repeat)."""
    ordered = key if order is None else key.take(order)
    same = ordered[1:] == ordered[:-1]
    repeats = np.flatnonzero(same) + 1 if order is None else np.sort(order[1:][same])
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
    key = packed[0]
    if bool(np.all(key[1:] >= key[:-1])):  # BACI's own order: nothing to sort
        return _repeats(key, None, label)
    ordered = np.sort(key)  # unstable sort: about twice as fast; rows are found only if a key repeats
    if not (ordered[1:] == ordered[:-1]).any():
        return []
    return _repeats(key, np.argsort(key, kind="stable"), label)


def check_duplicate_keys(tbl: pa.Table, label: str) -> None:
    """``DataError`` naming the 1-based rows of ``tbl`` that repeat an earlier (t, i, j, k)."""
    raise_for_problems(repeated_keys(tbl, label))


def _pandas_sorted(tbl: pa.Table) -> pd.DataFrame:
    """The frame sorted by pandas (codes that do not pack)."""
    columns = {c: _column(tbl[c], dtype, None) for c, dtype in _DTYPES.items()}
    columns["k"] = np.asarray(tbl["k"].to_numpy(zero_copy_only=False), dtype=object)
    df = pd.DataFrame({c: columns[c] for c in BACI_COLUMNS})
    return df.sort_values(list(ORDER), kind="stable").reset_index(drop=True)


def take_text(labels, idx) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """``labels[idx]`` as a column of pandas' text dtype, made by Arrow's take (no Python string per row);
    ``labels``: the distinct texts, ``idx``: one integer position per row."""
    labels = np.asarray(labels, dtype=object)
    if not isinstance(_TEXT_DTYPE, pd.StringDtype):  # pandas without its str dtype: object columns
        return labels[np.asarray(idx)]
    taken = pa.array(labels.tolist(), type=pa.large_string()).take(pa.array(np.asarray(idx, dtype=np.int64)))
    return pd.array(taken, dtype=_TEXT_DTYPE)


def dense_index(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(inverse, distinct) of non-negative ints below ``size``: ``distinct`` sorted, ``distinct[inverse] ==
    values``; one counting pass, no hashing or sorting of the values."""
    present = np.bincount(values, minlength=size) > 0
    distinct = np.flatnonzero(present)
    slot = np.zeros(size, dtype=np.int64)
    slot[distinct] = np.arange(distinct.shape[0])
    return slot[values], distinct


def hs6_index(k: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(index of each row's HS6 code among the distinct codes, the distinct codes as str, sorted): six-digit
    codes by counting over their integer values; other text by pandas' hashing."""
    codes = _hs6_ints(k)
    if codes is None:
        idx, uniques = pd.factorize(k, sort=True)
        return idx.astype(np.int64), np.asarray(uniques, dtype=object).astype(str)
    idx, distinct = dense_index(codes, _HS6_RANGE)
    return idx, np.char.zfill(distinct.astype(str), 6)
