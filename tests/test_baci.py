"""read_baci on real and hand-made files: types, filters, cache, zip, and bad inputs."""
from __future__ import annotations

import gzip
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.data.baci import data_info, from_dataframe, parse_name, read_baci
from optimize.data.convert import convert
from optimize.errors import DataError

HEADER = "t,i,j,k,v,q\n"
ROWS_2023 = "2023,4,56,10121,1.5,NA\n2023,156,251,850440,2.25,           NA\n2023,842,251,850440,4,1.5\n"
ROWS_2022 = "2022,4,56,10121,7,\n"


def write(path: Path, text: str, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


def release_zip(tmp: Path, years=(2022, 2023)) -> Path:
    z = tmp / "BACI_HS22_V202501.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for y in years:
            zf.writestr(f"BACI_HS22_Y{y}_V202501.csv", HEADER + (ROWS_2023 if y == 2023 else ROWS_2022))
        zf.writestr("country_codes_V202501.csv",
                    "country_code,country_name,country_iso2,country_iso3\n4,Afghanistan,AF,AFG\n56,Belgium,BE,BEL\n"
                    "156,China,CN,CHN\n251,France,FR,FRA\n842,USA,US,USA\n384,CÃ´te d'Ivoire,CI,CIV\n")
        zf.writestr("product_codes_HS22_V202501.csv", 'code,description\n10121,"Horses"\n850440,Converters\n')
    return z


def cache_files(d: Path) -> list[Path]:
    return sorted(d.rglob("*")) if d.exists() else []


@pytest.mark.shared
def test_real_energy_csv_and_parquet(energy_csv, energy_parquet, tmp_path):
    for p in (energy_csv, energy_parquet):
        td = read_baci(p, cache_dir=tmp_path)
        f = td.flows
        assert len(f) == 62926 and f["k"].nunique() == 32 and td.years == [2023]
        assert td.hs_revision == "HS22" and td.release == "V202501" and not td.synthetic
        assert list(f.dtypes.astype(str)[:3]) == ["int16", "int32", "int32"]
        assert f["k"].str.len().eq(6).all()
    a = read_baci(energy_csv, cache_dir=tmp_path).flows
    b = read_baci(energy_parquet).flows
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.shared
def test_real_filters_match_pandas_oracle(energy_parquet, energy_csv, tmp_path):
    full = pd.read_parquet(energy_parquet)
    eu = [40, 56, 100, 191, 196, 203, 208, 233, 246, 251, 276, 300, 348, 372, 380, 428, 440, 442, 470,
          528, 616, 620, 642, 703, 705, 724, 752]
    want = full[full.j.isin(eu) & full.k.isin(["850440", "271600"]) & (full.i == 156)]
    for p in (energy_csv, energy_parquet):
        got = read_baci(p, importers="EU27", exporters="CHN", products="850440,271600", cache_dir=tmp_path).flows
        assert len(got) == len(want)
        assert got["v"].sum() == pytest.approx(want["v"].sum())


def test_csv_types_padding_and_na(tmp_path):
    p = write(tmp_path / "flows.csv", HEADER + ROWS_2023)
    f = read_baci(p, cache_dir=tmp_path / "c").flows
    assert list(f["k"]) == ["010121", "850440", "850440"]
    assert f["q"].isna().tolist() == [True, True, False]
    assert f["v"].tolist() == [1.5, 2.25, 4.0]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 999999), min_size=1, max_size=20, unique=True))
def test_int_k_codes_read_back_six_chars(tmp_path_factory, codes):
    tmp = tmp_path_factory.mktemp("k")
    text = HEADER + "".join(f"2023,4,56,{c},1,1\n" for c in codes)  # ints: leading zeros lost
    f = read_baci(write(tmp / "f.csv", text), cache=False).flows
    assert sorted(f["k"]) == sorted(f"{c:06d}" for c in codes)


def test_cache_written_reused_and_invalidated(tmp_path):
    cache = tmp_path / "cache"
    p = write(tmp_path / "flows.csv.gz", HEADER + ROWS_2023, gz=True)
    read_baci(p, cache_dir=cache)
    files = [f for f in cache_files(cache) if f.suffix == ".parquet"]
    assert len(files) == 1 and not [f for f in cache_files(cache) if f.name.endswith(".tmp")]
    assert len(pd.read_parquet(files[0])) == 3  # full file cached, even for a filtered read
    assert len(read_baci(p, cache_dir=cache, products=["850440"]).flows) == 2
    write(p, HEADER + ROWS_2023 + "2023,4,251,850440,9,9\n", gz=True)
    os.utime(p, ns=(os.stat(p).st_atime_ns, os.stat(p).st_mtime_ns + 10**9))
    assert len(read_baci(p, cache_dir=cache).flows) == 4


def test_env_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOPT_CACHE", str(tmp_path / "env"))
    read_baci(write(tmp_path / "f.csv", HEADER + ROWS_2023))
    assert any(f.suffix == ".parquet" for f in cache_files(tmp_path / "env"))


def test_release_zip(tmp_path):
    z = release_zip(tmp_path)
    td = read_baci(z, years=2023, cache_dir=tmp_path / "c")
    assert td.years == [2023] and len(td.flows) == 3
    assert td.hs_revision == "HS22" and td.release == "V202501"
    assert dict(zip(td.country_table.baci_code, td.country_table.name, strict=False))[384] == "Côte d'Ivoire"
    assert list(td.product_table.k) == ["010121", "850440"]
    assert read_baci(z, cache_dir=tmp_path / "c").years == [2022, 2023]
    two = write(tmp_path / "two.csv", HEADER + ROWS_2023 + ROWS_2022)
    with pytest.raises(DataError, match="several years"):
        read_baci(two, expect_single_year=True, cache_dir=tmp_path / "c2")
    assert cache_files(tmp_path / "c2") == []
    cut = tmp_path / "cut.zip"
    cut.write_bytes(z.read_bytes()[: z.stat().st_size // 2])
    with pytest.raises(DataError):
        read_baci(cut, years=2023, cache_dir=tmp_path / "c3")
    assert cache_files(tmp_path / "c3") == []


def test_zip_without_year(tmp_path):
    z = release_zip(tmp_path)
    with pytest.raises(DataError, match="2021") as e:
        read_baci(z, years=2021, cache_dir=tmp_path / "c")
    assert "2022" in str(e.value)
    assert cache_files(tmp_path / "c") == []


@pytest.mark.parametrize("name,text,needle,row", [
    ("neg.csv", HEADER + "2023,4,56,10121,1,1\n2023,4,76,10121,-1,1\n", "negative", 2),
    ("dup.csv", HEADER + "2023,4,56,10121,1,1\n2023,4,76,10121,1,1\n2023,4,56,010121,2,1\n", "duplicate", 3),
    ("unk.csv", HEADER + "2023,4,56,10121,1,1\n2023,4,56,10122,1,1\n2023,4,9999,10121,1,1\n", "unknown_country", 3),
    ("txt.csv", HEADER + "2023,4,56,10121,1,1\n2023,4,76,10121,lots,1\n", "non_numeric", 2),
    ("hdr.csv", HEADER, "header only", None),
    ("empty.csv", "", "empty", None),
    ("miss.csv", "t,i,j,k,v\n2023,4,56,10121,1\n", "missing column", None),
    ("extra.csv", "t,i,j,k,v,q,z\n2023,4,56,10121,1,1,0\n", "unexpected column", None),
])
def test_bad_csv_raises_and_caches_nothing(tmp_path, name, text, needle, row):
    cache = tmp_path / "cache"
    with pytest.raises(DataError) as e:
        read_baci(write(tmp_path / name, text), cache_dir=cache)
    msg = str(e.value)
    assert needle in msg and name in msg
    if row:
        assert f"row {row}" in msg or f"rows {row}" in msg
    assert cache_files(cache) == []


@pytest.mark.parametrize("cut", [30, 60])
def test_truncated_gzip_and_garbage(tmp_path, cut):
    full = gzip.compress((HEADER + ROWS_2023 * 50).encode())
    p = tmp_path / "t.csv.gz"
    p.write_bytes(full[:cut])
    with pytest.raises(DataError, match="t.csv.gz"):
        read_baci(p, cache_dir=tmp_path / "c")
    g = tmp_path / "garbage.csv"
    g.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError):
        read_baci(g, cache_dir=tmp_path / "c")
    bz = tmp_path / "BACI_HS22_V202501.zip"
    bz.write_bytes(b"PK\x03\x04" + b"\0" * 50)
    with pytest.raises(DataError, match="zip"):
        read_baci(bz, cache_dir=tmp_path / "c")
    assert cache_files(tmp_path / "c") == []


def test_directory_and_convert(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    write(d / "BACI_HS22_Y2023_V202501.csv", HEADER + ROWS_2023)
    write(d / "BACI_HS22_Y2022_V202501.csv.gz", HEADER + ROWS_2022, gz=True)
    td = read_baci(d, cache_dir=tmp_path / "c")
    assert td.years == [2022, 2023] and len(td.flows) == 4
    assert read_baci(d, years=[2022], cache_dir=tmp_path / "c").years == [2022]
    out = convert(d / "BACI_HS22_Y2023_V202501.csv", out=tmp_path / "o.parquet")
    back = read_baci(out).flows
    pd.testing.assert_frame_equal(back, read_baci(d, years=2023, cache=False).flows)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    bad = write(tmp_path / "bad.csv", HEADER + "2023,4,56,1,-1,1\n")
    with pytest.raises(DataError):
        convert(bad, out=tmp_path / "bad.parquet")
    assert not (tmp_path / "bad.parquet").exists()


def test_from_dataframe_and_info(tmp_path):
    df = pd.DataFrame({"t": [2023, 2023], "i": [4, 156], "j": [56, 842], "k": [10121, 850440],
                       "v": [1.0, 2.0], "q": [np.nan, 3.0]})
    td = from_dataframe(df)
    assert list(td.flows.k) == ["010121", "850440"]
    with pytest.raises(DataError, match="row 2"):
        from_dataframe(df.assign(v=[1.0, -2.0]))
    info = data_info(write(tmp_path / "f.csv", HEADER + ROWS_2023), cache=False)
    assert info["rows"] == 3 and info["products"] == 2 and info["exporters"] == 3 and info["importers"] == 2
    assert info["total_value_usd"] == pytest.approx(7750.0) and info["synthetic"] is False


def test_parse_name():
    assert parse_name("BACI_HS22_Y2023_V202501.csv") == {"hs": "HS22", "year": 2023, "release": "V202501"}
    assert parse_name("BACI_HS17_V202401.zip") == {"hs": "HS17", "year": None, "release": "V202401"}
    assert parse_name("flows.csv")["hs"] is None
