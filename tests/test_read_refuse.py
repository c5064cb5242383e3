"""Read right or refuse, everywhere (#22 item 7 and its exit codes): a bad product code anywhere in a Parquet file
is refused as the same rows in CSV are, even outside the selection; repeated column names are refused; a year
no data can hold is refused; unreadable layout files are exit 2 with one line, not an internal error."""
from __future__ import annotations

import gzip

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimize import api
from optimize.data.baci import read_baci
from optimize.errors import DataError

NLD, FRA = 528, 251


def _flows(n_fra: int) -> pd.DataFrame:
    """NLD and FRA imports of two products from three exporters (kUSD), ``n_fra`` FRA rows."""
    rows = [(2023, i, NLD, k, 10.0 + n, 1.0) for n, (i, k) in enumerate([(156, "850440"), (276, "850440"),
                                                                       (410, "854143"), (156, "854143")])]
    rows += [(2023, (156, 276, 410)[n % 3], FRA, ("850440", "854143", "010121")[n // 3], 5.0 + n, 2.0)
             for n in range(n_fra)]
    return pd.DataFrame(rows, columns=["t", "i", "j", "k", "v", "q"])


def _message(err: DataError, path) -> str:
    return str(err).replace(str(path), "<file>")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n_fra=st.integers(1, 9), where=st.integers(0, 100), bad=st.sampled_from(["", "  ", "12ab56", "1234567", "NA"]),
       cached=st.booleans())
def test_bad_code_outside_the_selection_is_refused_in_parquet_as_in_csv(tmp_path_factory, n_fra, where, bad, cached):
    tmp = tmp_path_factory.mktemp("codes")
    df = _flows(n_fra).astype({"k": object})
    fra_rows = df.index[df["j"] == FRA]
    df.loc[fra_rows[where % len(fra_rows)], "k"] = bad  # an FRA row: outside an NLD selection
    csv, parquet = tmp / "BACI_HS22_Y2023_V202501.csv", tmp / "BACI_HS22_Y2023_V202501.parquet"
    df.to_csv(csv, index=False)
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), parquet)
    kw = dict(importers="NLD", cache=cached, cache_dir=tmp / "cache")
    with pytest.raises(DataError) as from_csv:
        read_baci(csv, **kw)
    with pytest.raises(DataError) as from_parquet:  # used to drop the row silently
        read_baci(parquet, **kw)
    assert _message(from_parquet.value, parquet) == _message(from_csv.value, csv)
    assert from_parquet.value.field == "k" and from_parquet.value.rows == from_csv.value.rows
    with pytest.raises(DataError):  # a product filter (not pushed into the file) and a year filter alike
        read_baci(parquet, products=["850440"], years=[2023], cache=False)


def test_clean_parquet_read_with_a_selection_is_unchanged(tmp_path):
    df = _flows(6)
    parquet = tmp_path / "BACI_HS22_Y2023_V202501.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), parquet)
    got = read_baci(parquet, importers="NLD", cache=False).flows
    assert sorted(got["v"]) == sorted(df.loc[df["j"] == NLD, "v"])


def test_repeated_column_name_is_refused_by_convert(tmp_path, cli_main):
    src = tmp_path / "dup.csv"
    src.write_text("year,ex,im,code,value,value\n2023,156,528,850440,10,99\n")
    res = CliRunner().invoke(cli_main, ["data", "convert", str(src), "--columns", "t=year,i=ex,j=im,k=code,v=value",
                                        "--out", str(tmp_path / "o.parquet")])
    assert res.exit_code == 2, res.output  # used to write the first 'value' column, exit 0
    assert "column(s) ['value'] appear twice" in res.output and not (tmp_path / "o.parquet").exists()
    table = pa.Table.from_arrays([pa.array([2023]), pa.array([10.0]), pa.array([99.0])], names=["t", "v", "v"])
    pq.write_table(table, tmp_path / "dup.parquet")
    with pytest.raises(DataError, match=r"appear twice") as err:
        api.load_trade(tmp_path / "dup.parquet", columns="t=t,i=t,j=t,k=t,v=v")
    assert err.value.field == "v"


@pytest.mark.parametrize("year", ["99999999999999999999", "0", "-5", "2101"])
def test_convert_year_outside_any_data_is_exit_2(tmp_path, cli_main, year):
    src = tmp_path / "f.csv"
    src.write_text("ex,im,code,value\n156,528,850440,10\n")
    res = CliRunner().invoke(cli_main, ["data", "convert", str(src), "--year", year, "--columns",
                                        "i=ex,j=im,k=code,v=value", "--out", str(tmp_path / "o.parquet")])
    assert res.exit_code == 2, res.output  # 99999999999999999999 used to be an internal OverflowError
    assert f"year {year} is outside 1900-2100" in res.output and len(res.output.strip().splitlines()) == 1


def test_truncated_csv_gz_with_columns_is_exit_2(tmp_path, cli_main):
    whole = gzip.compress(b"year,ex,im,code,value\n" + b"2023,156,528,850440,10\n" * 2000)
    src = tmp_path / "f.csv.gz"
    src.write_bytes(whole[: len(whole) // 2])
    res = CliRunner().invoke(cli_main, ["data", "convert", str(src), "--columns", "t=year,i=ex,j=im,k=code,v=value",
                                        "--out", str(tmp_path / "o.parquet")])
    assert res.exit_code == 2, res.output  # used to be "Internal error: EOFError", exit 1
    assert "f.csv.gz" in res.output and len(res.output.strip().splitlines()) == 1


def test_comtrade_rows_all_filtered_out_says_which_filter(tmp_path, cli_main):
    src = tmp_path / "ct.csv"
    src.write_text("refYear,reporterISO,partnerISO,cmdCode,flowCode,primaryValue,netWgt\n"
                   "2023,NLD,CHN,850440,X,1000,5\n2023,NLD,W00,850440,M,1000,5\n2023,NLD,CHN,85,M,1000,5\n")
    res = CliRunner().invoke(cli_main, ["data", "convert", str(src), "--comtrade", "M",
                                        "--out", str(tmp_path / "o.parquet")])
    assert res.exit_code == 2
    assert "the Comtrade filters removed all 3 data rows" in res.output  # used to be "empty file or header only"
    assert "flowCode = M: 2; cmdCode of 5-6 digits: 2; partnerISO not World: 2" in res.output
    only_x = src.read_text().replace(",M,", ",X,")
    src.write_text(only_x)
    with pytest.raises(DataError, match="flowCode = M: 0") as err:
        api.convert_data(src, comtrade="M", out=tmp_path / "p.parquet")
    assert err.value.field == "flowCode"
