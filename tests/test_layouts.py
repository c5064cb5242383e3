"""Other trade-data layouts and UN Comtrade bulk CSV -> BACI layout: each option, row-numbered errors, same run."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import optimize
from optimize.data.layouts import iso3_to_baci, read_comtrade
from optimize.errors import DataError, InputError
from tests.corpus import NAME, base_rows, write_csv

ISO3 = {156: "CHN", 842: "USA", 643: "RUS", 392: "JPN", 410: "KOR", 124: "CAN", 251: "FRA", 276: "DEU", 528: "NLD"}
SPEC = "t=year,i=ex_id,j=im_id,k=code,v=value,q=quantity"


def _sorted(flows: pd.DataFrame) -> pd.DataFrame:
    f = flows[["t", "i", "j", "k", "v", "q"]].astype({"t": "int64", "i": "int64", "j": "int64", "v": "float64",
                                                      "q": "float64"})
    return f.sort_values(["t", "i", "j", "k"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def baci_file(tmp_path_factory):
    return write_csv(tmp_path_factory.mktemp("baci") / NAME, base_rows())


def _other(tmp, *, names=True, year_col=True, iso3=False, usd=False, name="other.csv"):
    """The BACI sample rows in another layout (each option independently)."""
    df = pd.DataFrame(base_rows(), columns=list("tijkvq"))
    if iso3:
        df["i"] = df["i"].astype(int).map(ISO3)
        df["j"] = df["j"].astype(int).map(ISO3)
    if usd:
        df["v"] = (df["v"].astype(float) * 1000).map(repr)
    if not year_col:
        df = df.drop(columns="t")
    if names:
        df = df.rename(columns={"t": "year", "i": "ex_id", "j": "im_id", "k": "code", "v": "value", "q": "quantity"})
    path = tmp / name
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("opts", [
    {"names": True}, {"names": False, "year_col": False}, {"names": False, "iso3": True},
    {"names": False, "usd": True}, {"names": True, "year_col": False, "iso3": True, "usd": True}],
    ids=["columns", "year", "iso3", "usd", "all"])
def test_each_option_reads_the_same_flows(opts, baci_file, tmp_path):
    src = _other(tmp_path, **opts)
    kw = {"columns": SPEC if opts.get("names") else None, "year": None if opts.get("year_col", True) else 2023,
          "country_codes": "iso3" if opts.get("iso3") else "baci", "value_unit": "usd" if opts.get("usd") else "kusd"}
    if kw["columns"] and kw["year"]:
        kw["columns"] = SPEC.replace("t=year,", "")
    got = optimize.load_trade(src, **kw).flows
    want = optimize.load_trade(baci_file, cache=False).flows
    pd.testing.assert_frame_equal(_sorted(got), _sorted(want), check_exact=False, rtol=1e-12)


def test_cli_convert_gives_the_same_run_result(cli_main, baci_file, tmp_path):
    src = _other(tmp_path, year_col=False, iso3=True, usd=True)
    out = tmp_path / "conv" / NAME.replace(".csv", ".parquet")
    r = CliRunner().invoke(cli_main, ["data", "convert", str(src), "--columns", SPEC.replace("t=year,", ""),
                                      "--year", "2023", "--country-codes", "iso3", "--value-unit", "usd",
                                      "--out", str(out)])
    assert r.exit_code == 0, r.output
    a = optimize.run(data=str(baci_file), importer="DEU", figures=False)
    b = optimize.run(data=str(out), importer="DEU", figures=False)
    pd.testing.assert_frame_equal(a.tables.exposure, b.tables.exposure)
    pd.testing.assert_frame_equal(a.tables.flows, b.tables.flows)


def test_iso3_maps_to_the_code_valid_in_the_year():
    iso = ["BEL", "BEL", "DEU", "DEU", "SDN", "SDN", "DDR", "SUN", "SUN", "TWN", "XXX"]
    yrs = [1998, 1999, 1990, 1991, 2011, 2012, 1990, 1990, 1995, 2023, 2023]
    got = iso3_to_baci(iso, yrs)
    want = [58, 56, 280, 276, 736, 729, 278, 810, np.nan, 490, np.nan]
    np.testing.assert_array_equal(got, np.array(want, dtype=float))


def test_problems_name_rows_and_fields(tmp_path):
    df = pd.DataFrame(base_rows(), columns=list("tijkvq"))
    df["i"] = df["i"].astype(int).map(ISO3)
    df["j"] = df["j"].astype(int).map(ISO3)
    df.loc[2, "i"] = "XXX"  # data row 3
    df.loc[4, "v"] = "-5"  # data row 5: a BACI check, reported on the source row
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError) as exc:
        optimize.load_trade(path, country_codes="iso3")
    assert "bad.csv" in str(exc.value) and "rows 3" in str(exc.value) and "'i'" in str(exc.value)
    df.loc[2, "i"] = "CHN"
    df.to_csv(path, index=False)
    with pytest.raises(DataError) as exc:
        optimize.load_trade(path, country_codes="iso3")
    assert "rows 5" in str(exc.value) and "negative" in str(exc.value)
    with pytest.raises(DataError, match="missing column.*year"):
        optimize.load_trade(_other(tmp_path), columns="t=year,i=ex_id,j=im_id,k=code,v=value_usd")
    with pytest.raises(InputError, match="BACI=SOURCE"):
        optimize.load_trade(path, columns="t:year")
    with pytest.raises(InputError, match="unknown BACI column"):
        optimize.load_trade(path, columns="x=year")


def _comtrade(tmp_path, flow="M"):
    """The BACI sample as a Comtrade bulk CSV (reporter = importer for M), plus rows the reader must drop."""
    recs = []
    for t, i, j, k, v, q in base_rows():
        rep, par = (int(j), int(i)) if flow == "M" else (int(i), int(j))
        recs.append({"typeCode": "C", "freqCode": "A", "refYear": t, "period": t, "reporterCode": rep,
                     "reporterISO": ISO3[rep], "flowCode": flow, "partnerCode": par, "partnerISO": ISO3[par],
                     "partner2Code": 0, "classificationCode": "H6", "cmdCode": k, "customsCode": "C00",
                     "motCode": 0, "netWgt": float(q) * 1000, "primaryValue": float(v) * 1000})
    extra = dict(recs[0])
    recs.append({**extra, "partnerCode": 0, "partnerISO": "W00"})              # partner World
    recs.append({**extra, "flowCode": "X" if flow == "M" else "M"})            # the other flow
    recs.append({**extra, "cmdCode": "8504"})                                   # a 4-digit aggregate
    recs.append({**extra, "motCode": 1000})                                     # a transport-mode breakdown
    path = tmp_path / "comtrade.csv"
    pd.DataFrame(recs).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("flow", ["M", "X"])
def test_comtrade_bulk_csv_reads_as_baci(flow, baci_file, tmp_path):
    got = read_comtrade(_comtrade(tmp_path, flow), flow=flow).flows
    want = optimize.load_trade(baci_file, cache=False).flows
    pd.testing.assert_frame_equal(_sorted(got), _sorted(want), check_exact=False, rtol=1e-12)


def test_cli_convert_comtrade(cli_main, tmp_path, baci_file):
    out = tmp_path / "c.parquet"
    r = CliRunner().invoke(cli_main, ["data", "convert", str(_comtrade(tmp_path)), "--comtrade", "M",
                                      "--out", str(out)])
    assert r.exit_code == 0, r.output
    pd.testing.assert_frame_equal(_sorted(pd.read_parquet(out)), _sorted(optimize.load_trade(baci_file).flows),
                                  check_exact=False, rtol=1e-12)
    bad = tmp_path / "nocols.csv"
    bad.write_text("a,b\n1,2\n")
    r = CliRunner().invoke(cli_main, ["data", "convert", str(bad), "--comtrade", "M",
                                      "--out", str(tmp_path / "bad.parquet")])  # a new output: the input is at fault
    assert r.exit_code == 2 and "refYear" in r.output
