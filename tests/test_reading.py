"""Read right or refuse, and the content-keyed cache (issue 16, items 3 and 4).

Oracles are independent of the reader: totals are summed from the rows the test
wrote, hashes are ``hashlib.sha256`` of the file's bytes.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.data.baci import read_baci
from optimize.errors import DataError
from tests.corpus import (
    CLI_FILE,
    NAME,
    PRODUCTS,
    YEAR,
    base_rows,
    csv_text,
    files_below,
    write_csv,
)


def _total(rows, k=None) -> float:
    return sum(float(r[4]) for r in rows if k is None or r[3].strip().zfill(6) == k)


def _parquet(path: Path, rows, k_values=None) -> Path:
    """A user parquet with k as strings (optionally replaced) and t/i/j integers."""
    ks = [r[3] for r in rows] if k_values is None else k_values
    pq.write_table(pa.table({"t": [int(r[0]) for r in rows], "i": [int(r[1]) for r in rows],
                             "j": [int(r[2]) for r in rows], "k": ks, "v": [float(r[4]) for r in rows],
                             "q": [float(r[5]) for r in rows]}), path)
    return path


# ------------------------------------------------------------------ normalise before filtering
@settings(max_examples=25, deadline=None)
@given(pads=st.lists(st.sampled_from(["", " ", "  ", "\t"]), min_size=2, max_size=2))
def test_parquet_k_needing_a_trim_is_kept_by_a_product_filter(tmp_path_factory, pads):
    """Codes like ' 850440' in a user parquet: the product filter sees them normalised (old code dropped them)."""
    tmp = tmp_path_factory.mktemp("pq")
    rows = base_rows()
    ks = [pads[n % 2] + r[3] + pads[(n + 1) % 2] for n, r in enumerate(rows)]
    p = _parquet(tmp / "BACI_HS22_Y2023_V202501.parquet", rows, ks)
    for k in PRODUCTS:
        got = read_baci(p, products=[k], cache=False).flows
        assert got["v"].sum() == pytest.approx(_total(rows, k))
        assert set(got["k"]) == {k}


def test_parquet_k_without_leading_zero_is_kept_by_a_product_filter(tmp_path):
    rows = base_rows() + [[str(YEAR), "156", "251", "10121", "5", "1"], [str(YEAR), "842", "276", "10121", "7", "1"]]
    p = _parquet(tmp_path / "BACI_HS22_Y2023_V202501.parquet", rows)
    got = read_baci(p, products=["010121"], cache=False).flows
    assert got["v"].sum() == pytest.approx(12.0)
    assert set(got["k"]) == {"010121"}


def test_parquet_empty_k_is_an_error_naming_the_row(tmp_path):
    rows = base_rows()
    ks = [r[3] for r in rows]
    ks[6] = "  "
    p = _parquet(tmp_path / "BACI_HS22_Y2023_V202501.parquet", rows, ks)
    with pytest.raises(DataError) as info:
        read_baci(p)
    assert info.value.field == "k" and info.value.rows == [7] and "empty" in str(info.value)


def test_parquet_header_with_spaces_is_read(tmp_path):
    rows = base_rows()
    p = tmp_path / "BACI_HS22_Y2023_V202501.parquet"
    pq.write_table(pa.table({" t": [int(r[0]) for r in rows], "i ": [int(r[1]) for r in rows],
                             " j": [int(r[2]) for r in rows], " k ": [r[3] for r in rows],
                             "v": [float(r[4]) for r in rows], "q": [float(r[5]) for r in rows]}), p)
    assert read_baci(p).flows["v"].sum() == pytest.approx(_total(rows))


def test_dataframe_empty_k_is_an_error():
    from optimize.data.baci import from_dataframe

    df = pd.DataFrame(base_rows(), columns=list("tijkvq"))
    df.loc[2, "k"] = ""
    with pytest.raises(DataError) as info:
        from_dataframe(df)
    assert info.value.field == "k" and info.value.rows == [3]


# ------------------------------------------------------------------ the year chosen
def _small_latest_year(tmp: Path) -> Path:
    rows = [[str(YEAR - 1)] + r[1:] for r in base_rows()] + base_rows()[:2]
    return write_csv(tmp / "BACI_HS22_V202501.csv", rows)


def test_small_latest_year_is_reported_and_the_year_chosen_is_in_the_metadata(tmp_path, caplog, monkeypatch):
    from optimize.config.scenario import load_scenario
    from optimize.runs.single import run

    monkeypatch.setenv("TRADEOPT_CACHE", str(tmp_path / "cache"))
    p = _small_latest_year(tmp_path)
    with caplog.at_level(logging.WARNING, logger="tradeopt"):
        td = read_baci(p)
    assert any("latest year 2023 holds only 2 rows" in r.getMessage() for r in caplog.records)
    assert any("2023" in n and "only 2 rows" in n for n in td.notes)
    res = run(load_scenario("default", ["risk.countries=['CHN']"]), td)
    assert res.meta["year"] == YEAR and res.meta["year_source"] == "latest year in the data"
    assert any("only 2 rows" in n for n in res.meta["notes"])
    manifest = res.manifest()
    assert manifest["run"]["year_source"] == "latest year in the data"
    asked = run(load_scenario("default", ["risk.countries=['CHN']", f"data.year={YEAR - 1}"]), str(p))
    assert asked.meta["year_source"] == "data.year" and not any("only 2 rows" in n for n in asked.meta["notes"])


def test_balanced_years_give_no_note(tmp_path):
    rows = [[str(YEAR - 1)] + r[1:] for r in base_rows()] + base_rows()
    td = read_baci(write_csv(tmp_path / "BACI_HS22_V202501.csv", rows), cache=False)
    assert not any("only" in n for n in td.notes)


# ------------------------------------------------------------------ honest errors on odd bytes
def test_200mb_member_without_newline_exits_2_without_aborting(tmp_path):
    """The interpreter used to abort (SIGABRT, PyGILState_Release) after printing the error."""
    from tests.corpus import _long_line_member

    z = _long_line_member(tmp_path, line_mb=200)
    env = {**os.environ, "TRADEOPT_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(CLI_FILE.parent)}
    res = subprocess.run([sys.executable, str(CLI_FILE), "run", "--baci", str(z), "--out", str(tmp_path / "out"),
                          "--no-figures", "--quiet"], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert res.returncode == 2, res.stderr[-2000:]
    assert "line break" in res.stderr and "Fatal Python error" not in res.stderr
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ content-keyed cache
def _parquet_entries(cache: Path) -> list[str]:
    return [f for f in files_below(cache) if f.endswith(".parquet")]


def test_same_length_edit_with_same_mtime_is_seen(tmp_path):
    cache = tmp_path / "cache"
    rows = base_rows()
    p = write_csv(tmp_path / NAME, rows)
    st0 = os.stat(p)
    assert read_baci(p, cache_dir=cache).flows["v"].sum() == pytest.approx(_total(rows))
    assert len(_parquet_entries(cache)) == 1
    old = rows[3][4]
    rows[3][4] = str(int(float(old)) + 1) if len(str(int(float(old)) + 1)) == len(old) else old
    assert rows[3][4] != old
    data = csv_text(rows).encode()
    assert len(data) == st0.st_size
    p.write_bytes(data)
    os.utime(p, ns=(st0.st_atime_ns, st0.st_mtime_ns))
    assert os.stat(p).st_size == st0.st_size and os.stat(p).st_mtime_ns == st0.st_mtime_ns
    td = read_baci(p, cache_dir=cache)
    assert td.flows["v"].sum() == pytest.approx(_total(rows))
    assert td.sha256 == hashlib.sha256(data).hexdigest()


def test_unvalidated_read_writes_no_cache_entry(tmp_path):
    cache = tmp_path / "cache"
    rows = base_rows()
    rows[4][1] = "999"  # unknown exporter: only a validated read notices
    p = write_csv(tmp_path / NAME, rows)
    assert len(read_baci(p, cache_dir=cache, validate=False).flows) == len(rows)
    assert _parquet_entries(cache) == []
    with pytest.raises(DataError) as info:
        read_baci(p, cache_dir=cache)
    assert info.value.rows == [5] and info.value.field == "i"


def test_cache_entry_is_revalidated_for_a_single_year_read(tmp_path):
    cache = tmp_path / "cache"
    rows = base_rows() + [[str(YEAR - 1)] + r[1:] for r in base_rows()[:2]]
    p = write_csv(tmp_path / "BACI_HS22_V202501.csv", rows)
    read_baci(p, cache_dir=cache)
    assert len(_parquet_entries(cache)) == 1
    with pytest.raises(DataError, match="several years"):
        read_baci(p, cache_dir=cache, expect_single_year=True)


def test_trade_data_carries_the_hash_of_the_bytes_read_and_the_manifest_records_it(tmp_path, monkeypatch):
    """The manifest records the data used, not the file as it is when the outputs are written."""
    from optimize.config.scenario import load_scenario
    from optimize.runs.pipeline import prepare

    monkeypatch.setenv("TRADEOPT_CACHE", str(tmp_path / "cache"))
    p = write_csv(tmp_path / NAME, base_rows())
    used = hashlib.sha256(p.read_bytes()).hexdigest()
    td = read_baci(p)
    assert td.sha256 == used
    write_csv(p, base_rows()[:-3])  # the file changes after the read
    prepared = prepare(load_scenario("default", ["risk.countries=['CHN']"]), td)
    assert prepared.input_sha256["trade_data"] == used


def test_folder_hash_covers_every_file(tmp_path):
    d = tmp_path / "rel"
    d.mkdir()
    a = write_csv(d / "BACI_HS22_Y2022_V202501.csv", [[str(YEAR - 1)] + r[1:] for r in base_rows()])
    b = write_csv(d / "BACI_HS22_Y2023_V202501.csv", base_rows())
    h1 = read_baci(d, cache=False).sha256
    write_csv(b, base_rows()[:-1])
    h2 = read_baci(d, cache=False).sha256
    assert h1 and h2 and h1 != h2 and a.exists()


def _read_only_tempfile(*a, **k):
    raise PermissionError(errno.EACCES, "Permission denied")


class _FullDiskWriter(pq.ParquetWriter):
    def write_table(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("where", ["a_file", "read_only", "full"])
def test_unusable_cache_location_warns_and_the_run_goes_on(where, tmp_path, monkeypatch, caplog, cli_main):
    from click.testing import CliRunner

    import optimize.data.cache as cache_mod

    cache = tmp_path / "cache"
    if where == "a_file":
        cache.write_text("not a folder")
    elif where == "read_only":
        monkeypatch.setattr(cache_mod, "temp_sibling", _read_only_tempfile)
    else:
        monkeypatch.setattr(cache_mod.pq, "ParquetWriter", _FullDiskWriter)
    p = write_csv(tmp_path / NAME, base_rows())
    with caplog.at_level(logging.WARNING, logger="tradeopt"):
        td = read_baci(p, cache_dir=cache)
    assert td.flows["v"].sum() == pytest.approx(_total(base_rows()))
    assert any("without a cache" in r.getMessage() for r in caplog.records)
    if where != "a_file":
        assert files_below(cache) == []  # no entry and no temporary leftover
    monkeypatch.setenv("TRADEOPT_CACHE", str(cache))
    res = CliRunner().invoke(cli_main, ["run", "--baci", str(p), "--risk", "CHN", "--no-figures", "--quiet",
                                        "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "summary.json").is_file()


def test_a_parquet_validated_once_is_read_with_the_context_checks_only(tmp_path, monkeypatch):
    """A user's parquet whose every row passed validation is marked (by content hash) and read again without
    the per-row checks, with the same frame; an edit of the bytes, a read that left rows out or a failed read
    leaves no such mark, and the context checks (a single year asked for) still run."""
    import optimize.data.filters as filters

    cache = tmp_path / "cache"
    rows = base_rows()
    frame = pd.DataFrame(rows, columns=["t", "i", "j", "k", "v", "q"]).astype({"t": int, "i": int, "j": int,
                                                                               "v": float, "q": float})
    p = tmp_path / "flows.parquet"
    frame.to_parquet(p, index=False)
    calls = []
    real = filters.validate_flows
    monkeypatch.setattr(filters, "validate_flows", lambda *a, **k: calls.append(1) or real(*a, **k))
    some = read_baci(p, cache_dir=cache, products=["850440"])  # rows left out: not every row checked
    assert len(calls) == 1 and not list(cache.glob("*.validated"))
    first = read_baci(p, cache_dir=cache, years=[YEAR])  # a filter that keeps every row: all checked
    assert len(calls) == 2 and len(list(cache.glob("*.validated"))) == 1
    second = read_baci(p, cache_dir=cache)
    assert len(calls) == 2  # no per-row validation the second time
    pd.testing.assert_frame_equal(first.flows, second.flows)
    again = read_baci(p, cache_dir=cache, products=["850440"])  # filters pushed into the scan of marked bytes
    pd.testing.assert_frame_equal(some.flows, again.flows)
    assert len(calls) == 2
    two = pd.concat([frame, frame.assign(t=YEAR - 1)])
    two.to_parquet(p, index=False)  # other bytes: validated again, and the context check still runs
    with pytest.raises(DataError, match="several years"):
        read_baci(p, cache_dir=cache, expect_single_year=True)
    assert len(calls) == 3
    bad = frame.copy()
    bad.loc[4, "i"] = 999  # unknown exporter: the read fails, nothing is marked for these bytes
    bad.to_parquet(p, index=False)
    before = set(cache.glob("*.validated"))
    for _ in range(2):
        with pytest.raises(DataError) as info:
            read_baci(p, cache_dir=cache)
        assert info.value.field == "i"
    assert set(cache.glob("*.validated")) == before
