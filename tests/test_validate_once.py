"""Validate once per content (issue #27 item 1): a parquet whose bytes passed every check is read again
without normalising, per-row checks or the duplicate-key sort; other bytes are checked in full."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimize.data.baci import read_baci
from optimize.errors import DataError
from tests.corpus import BACI_CASES, HEADER, YEAR, base_rows

COLUMNS = HEADER.split(",")


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS).astype({"t": "int64", "i": "int64", "j": "int64", "v": "float64",
                                                       "q": "float64"})


def _marker_words(cache) -> list[str]:
    return [m.read_text().split() for m in cache.glob("*.validated")]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), int_codes=st.booleans(), n=st.integers(5, 60))
def test_marked_reads_equal_full_reads(tmp_path_factory, seed, int_codes, n):
    """Any row order and code form: the marked (fast) read gives the frame of an unmarked full read, filtered
    or not."""
    tmp = tmp_path_factory.mktemp("once")
    rows = base_rows()
    rng = np.random.default_rng(seed)
    df = _frame([rows[i] for i in rng.choice(len(rows), size=min(n, len(rows)), replace=False)])
    if int_codes:
        df["k"] = df["k"].astype(int)  # not in the schema's form: normalised on every read
    p = tmp / "flows.parquet"
    df.to_parquet(p, index=False)
    oracle = read_baci(p, cache=False)
    some = read_baci(p, cache=False, products=["850440"], importers=["DEU", "FRA"])
    cache = tmp / "cache"
    first = read_baci(p, cache_dir=cache)
    words = _marker_words(cache)
    assert len(words) == 1 and "unique" in words[0] and ("normal" in words[0]) != int_codes
    for got in (first, read_baci(p, cache_dir=cache)):
        pd.testing.assert_frame_equal(got.flows, oracle.flows)
    pd.testing.assert_frame_equal(read_baci(p, cache_dir=cache, products=["850440"], importers=["DEU", "FRA"]).flows,
                                  some.flows)


@pytest.mark.parametrize("defect", ["duplicate_key", "unknown_exporter", "empty_code_outside_selection"])
def test_a_changed_byte_is_checked_in_full(tmp_path, defect):
    """A validated file changed in place (same name, size and mtime) is a new content: every check runs again,
    the duplicate key and a bad product code outside the selection included."""
    cache = tmp_path / "cache"
    p = tmp_path / "flows.parquet"
    good = _frame(base_rows()).sort_values(["t", "i", "j", "k"], ignore_index=True)  # BACI's order
    good.to_parquet(p, index=False)
    read_baci(p, cache_dir=cache, years=YEAR)
    assert _marker_words(cache) == [["normal", "ordered", "unique"]]
    st_before = p.stat()
    bad = good.copy()
    if defect == "duplicate_key":
        bad.loc[len(bad) - 1, ["i", "j", "k"]] = bad.loc[len(bad) - 2, ["i", "j", "k"]].to_numpy()
    elif defect == "unknown_exporter":
        bad.loc[4, "i"] = 999
    else:
        bad.loc[3, "k"] = "      "  # six blanks: the same byte count as a code
    bad.to_parquet(p, index=False)
    os.utime(p, ns=(st_before.st_atime_ns, st_before.st_mtime_ns))
    kwargs = {"products": ["854143"]} if defect == "empty_code_outside_selection" else {}
    with pytest.raises(DataError) as info:
        read_baci(p, cache_dir=cache, years=YEAR, **kwargs)
    assert str(p) in str(info.value)
    assert len(_marker_words(cache)) == 1  # nothing marked for the bad bytes


def _corpus_as_parquet(case, folder):
    """The corpus case's CSV as a parquet of text columns (None when the case is not a CSV in BACI's header)."""
    src = case.build(folder)
    if src.suffix != ".csv" or src.read_text(errors="replace").split("\n", 1)[0] != HEADER:
        return None
    out = folder / "BACI_HS22_Y2023_V202501.parquet"
    pd.read_csv(src, dtype=str, keep_default_na=False).to_parquet(out, index=False)
    src.unlink()
    return out


@pytest.mark.parametrize("case", [c for c in BACI_CASES if c.error], ids=lambda c: c.name)
def test_corpus_first_reads_fail_alike_with_and_without_markers(case, tmp_path):
    """Every corpus defect is found on a first read, whether or not the cache holds the marker (and the cache
    entry) of good files read before: the message is the same either way."""
    messages = []
    for marked in (False, True):
        folder = tmp_path / f"in{marked}"
        folder.mkdir()
        cache = tmp_path / f"cache{marked}"
        built = [case.build(folder)]
        (tmp_path / f"pq{marked}").mkdir()
        if (parquet := _corpus_as_parquet(case, tmp_path / f"pq{marked}")) is not None:
            built.append(parquet)
        if marked:  # good bytes under the same names, read (marked, cached) before the bad ones
            for path in built:
                good = path.with_name("good" + (".parquet" if path.suffix == ".parquet" else ".csv"))
                if path.suffix == ".parquet":
                    _frame(base_rows()).to_parquet(good, index=False)
                else:
                    good.write_text("\n".join([HEADER] + [",".join(r) for r in base_rows()]) + "\n")
                read_baci(good, cache_dir=cache)
            assert list(cache.iterdir())
        for path in built:
            with pytest.raises(DataError) as info:
                read_baci(path, cache_dir=cache, **dict(case.read_kwargs))
            messages.append(str(info.value).replace(f"{marked}", "X"))
            assert str(path) in str(info.value)
    half = len(messages) // 2
    assert messages[:half] == messages[half:]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([4, 8, 12, 999]), min_size=1, max_size=60))
def test_checks_of_marked_content_name_the_rows_of_unknown_countries(exporters):
    """A read of marked bytes checks only what depends on the read; an exporter missing from the country table
    is named by its 1-based rows, the first ones (an independent count over the list)."""
    import pyarrow as pa

    from optimize.data.trade import ARROW_SCHEMA
    from optimize.data.validate import MAX_ROWS_SHOWN, context_problems

    n = len(exporters)
    tbl = pa.table({"t": [YEAR] * n, "i": exporters, "j": [4] * n, "k": ["010121"] * n, "v": [1.0] * n,
                    "q": [None] * n}, schema=ARROW_SCHEMA)
    probs = context_problems(tbl, file="f.parquet", countries=[4, 8, 12], expect_single_year=True)
    bad = [row for row, code in enumerate(exporters, start=1) if code == 999]
    if not bad:
        assert probs == []
    else:
        assert len(probs) == 1 and probs[0].count == len(bad) and list(probs[0].rows) == bad[:MAX_ROWS_SHOWN]
