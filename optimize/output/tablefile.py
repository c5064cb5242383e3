"""The bytes of an output table, made once by pyarrow: CSV (numbers to 14 significant digits) and Parquet.

``table_bytes(frame)`` converts the frame to one Arrow table and writes it twice, in memory:

- CSV by ``pyarrow.csv.write_csv``: header and text values in double quotes, booleans ``true``/``false``,
  a missing value as an empty field; floating-point numbers first rounded to ``CSV_DIGITS`` significant
  digits (``round_significant``: the double nearest the decimal ``'%.14g'`` prints), so float round-off
  in sums does not show (``23945085859``, not ``23945085858.999992``) and every number reads back as
  exactly the double written;
- Parquet by ``pyarrow.parquet.write_table`` with pandas' metadata (``pd.read_parquet`` gives the frame's
  dtypes), full double precision, dictionary encoding for text and integer columns only.

The caller writes the bytes and records them (``ownership.write_recorded``): nothing is read back to hash.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

#: Significant digits of CSV numbers (0.01 USD on a USD 1 trillion total).
CSV_DIGITS = 14
_EXACT_POW10 = 22  # 10.0**k is exact for |k| <= 22, so m / 10**k is the double nearest that decimal
_POW10 = 10.0 ** np.arange(_EXACT_POW10 + 1)


def round_significant(values, digits: int = CSV_DIGITS) -> np.ndarray:
    """``values`` (float64) rounded to ``digits`` significant digits: each finite value becomes
    ``float('%.{digits}g' % value)`` exactly; NaN, +-inf, 0 and -0 are kept. Vectorised: the decimal mantissa
    ``m`` is found by scaling; values whose scaled fraction is too near one half to be sure of the rounding
    (or outside the exact powers of ten) are formatted by Python."""
    x = np.array(values, dtype=np.float64)  # a copy
    idx = np.flatnonzero(np.isfinite(x) & (x != 0))
    v = x[idx]
    k = digits - 1 - np.floor(np.log10(np.abs(v))).astype(np.int64)  # |v| * 10**k has `digits` digits
    kk = np.clip(k, -_EXACT_POW10, _EXACT_POW10)
    p = _POW10[np.abs(kk)]
    with np.errstate(over="ignore"):  # in the branch np.where does not take
        scaled = np.where(kk >= 0, np.abs(v) * p, np.abs(v) / p)  # one rounding: error < 2**-53 * 10**digits
    m = np.rint(scaled)
    sure = ((k == kk) & (np.abs(scaled - np.floor(scaled) - 0.5) > 2.0 ** -52 * 10.0 ** digits)
            & (m >= 10.0 ** (digits - 1)) & (m < 10.0 ** digits))
    with np.errstate(over="ignore"):
        out = np.copysign(np.where(kk >= 0, m / p, m * p), v)
    fmt = f"%.{digits}g"
    out[~sure] = [float(fmt % a) for a in v[~sure].tolist()]
    x[idx] = out
    return x


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as an Arrow table (no index; pandas' metadata kept, so ``pd.read_parquet`` restores dtypes)."""
    return pa.Table.from_pandas(frame, preserve_index=False)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The CSV bytes of ``frame`` (UTF-8, '\\n' line ends; numbers to ``CSV_DIGITS`` significant digits)."""
    return _csv(arrow_table(frame))


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The Parquet bytes of ``frame`` (snappy; dictionary encoding for text and integer columns)."""
    return _parquet(arrow_table(frame))


def table_bytes(frame: pd.DataFrame) -> tuple[bytes, bytes]:
    """(CSV bytes, Parquet bytes) of ``frame`` from one Arrow table."""
    tbl = arrow_table(frame)
    return _csv(tbl), _parquet(tbl)


def _csv(tbl: pa.Table) -> bytes:
    import pyarrow.csv as pcsv

    cols = [pa.array(round_significant(c.to_numpy()), type=c.type, from_pandas=True)  # NaN: null, as read
            if pa.types.is_floating(c.type) else c for c in tbl.columns]
    sink = pa.BufferOutputStream()
    pcsv.write_csv(pa.table(cols, names=tbl.column_names), sink)
    return sink.getvalue().to_pybytes()


def _parquet(tbl: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    coded = [f.name for f in tbl.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
             or pa.types.is_integer(f.type) or pa.types.is_dictionary(f.type)]
    sink = pa.BufferOutputStream()
    pq.write_table(tbl, sink, compression="snappy", use_dictionary=coded)
    return sink.getvalue().to_pybytes()
