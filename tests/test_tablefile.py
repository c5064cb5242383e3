"""Output table bytes (optimize/output/tablefile.py): 14 significant digits in CSV, exactly Python's '%.14g';
CSV and Parquet read back to the frame written; the manifest's records are the bytes on disk."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from optimize.output.tablefile import CSV_DIGITS, csv_bytes, parquet_bytes, round_significant
from optimize.ownership import file_sha256


def _oracle(values) -> np.ndarray:
    """Python's own formatting, one value at a time (the independent oracle)."""
    return np.array([float(f"%.{CSV_DIGITS}g" % v) for v in np.asarray(values, dtype=float).tolist()])


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(((a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))).all())


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.integers(0, 60), elements=st.floats(allow_nan=True, allow_infinity=True)))
def test_round_significant_is_python_percent_14g(values):
    assert _same_bits(round_significant(values), _oracle(values))


def test_round_significant_near_ties_powers_of_ten_and_extremes():
    rng = np.random.default_rng(7)
    m = rng.integers(10 ** 13, 10 ** 14, 2000).astype(float)
    ties = np.concatenate([(m + 0.5) * 10.0 ** e for e in (-20, -9, -3, 0, 3, 9)])  # as near one half as doubles go
    edges = np.array([9.99999999999995, 9.999999999999949, 1e22, 1e23, 1e-9, 1e-10, 5e-324, 2.2250738585072014e-308,
                      1.7976931348623157e308, -0.0, 0.0, 23945085858.999992, 0.1 + 0.2])
    values = np.concatenate([ties, np.nextafter(ties, 0), np.nextafter(ties, np.inf), edges, -edges,
                             rng.lognormal(10, 8, 20000)])
    assert _same_bits(round_significant(values), _oracle(values))


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"k": ["010121", "850440", 'a "quoted", text'], "total_usd": [23945085858.999992, 0.1 + 0.2,
                         np.nan], "n": [1, 2, 3], "flag": [True, False, True], "note": ["", None, "x\ny"]})


def test_csv_reads_back_as_the_rounded_doubles_and_the_text_as_written():
    frame = _frame()
    rows = list(csv.reader(io.StringIO(csv_bytes(frame).decode("utf-8"), newline="")))
    assert rows[0] == list(frame.columns)
    assert [r[0] for r in rows[1:]] == ["010121", "850440", 'a "quoted", text']  # leading zeros kept
    assert [float(r[1]) if r[1] else np.nan for r in rows[1:]] == pytest.approx([23945085859, 0.3, np.nan],
                                                                                 nan_ok=True, rel=0, abs=0)
    assert _same_bits([float(r[1]) for r in rows[1:3]], round_significant(frame["total_usd"][:2]))
    assert [r[2] for r in rows[1:]] == ["1", "2", "3"] and [r[3] for r in rows[1:]] == ["true", "false", "true"]
    assert [r[4] for r in rows[1:]] == ["", "", "x\ny"]


def test_parquet_keeps_full_precision_and_the_dtypes():
    frame = _frame()
    back = pd.read_parquet(io.BytesIO(parquet_bytes(frame)))
    pd.testing.assert_frame_equal(back, frame)


def test_run_manifest_records_the_bytes_on_disk(tmp_path):
    """The records made while writing (never read back) are the files' real sizes and SHA-256."""
    import optimize

    out = optimize.run().write(tmp_path / "run", figures=False)
    files = json.loads((out / "manifest.json").read_text())["files"]
    assert {f["path"] for f in files} >= {"products.csv", "products.parquet", "flows.parquet", "datapackage.json"}
    for f in files:
        assert (f["bytes"], f["sha256"]) == ((out / f["path"]).stat().st_size, file_sha256(out / f["path"]))
    products = pd.read_csv(out / "products.csv", dtype={"k": str})
    exact = pd.read_parquet(out / "products.parquet")
    assert _same_bits(products["total_usd"], round_significant(exact["total_usd"]))
