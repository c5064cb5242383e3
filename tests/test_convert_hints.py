"""`data convert` that guides (#23 item 9): implausible totals warn about the unit, another layout or ISO3
country codes get the option that fixes them, in one error and not thousands. Hand-made files; the real
energy subset for the issue's numbers."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from optimize import api
from optimize.data.hints import value_warnings
from optimize.errors import DataError

ROWS = [(2023, 251, 276, "850440", 1500.0, 2.0), (2023, 156, 276, "850440", 900.0, 1.0),
        (2023, 842, 251, "271600", 300.0, np.nan), (2023, 156, 842, "271600", 20.0, 0.5)]


def _frame(scale: float = 1.0) -> pd.DataFrame:
    df = pd.DataFrame(ROWS, columns=["t", "i", "j", "k", "v", "q"])
    return df.assign(v=df["v"] * scale)


def test_value_warnings_bounds():
    # 2 products: USD 3 trillion (3e9 kUSD) is more than any HS6 product's world trade can be, per product
    assert value_warnings([2023, 2023], ["1", "2"], [3e9, 2e9]) and not value_warnings([2023], ["1"], [1e9])
    assert "--value-unit usd" in value_warnings([2023], ["1"], [3e9])[0]
    assert value_warnings([2023], ["1"], [30e9])[0].startswith("values sum to USD 30,000.0 bn in 2023 over 1 product,")
    # a near-complete file (1,000 products) with USD 22 bn in all: world trade is ~1,000x more
    many = [f"{n:06d}" for n in range(1000)]
    assert "far less" in value_warnings([2022] * 1000, many, [22e3] * 1000)[0]
    assert not value_warnings([2022] * 1000, many, [22e6] * 1000)  # USD 22 trillion: plausible
    assert len(value_warnings([2022, 2023], ["1", "1"], [3e9, 1e6])) == 1  # one line per implausible year


def test_a_file_in_usd_warns_and_value_unit_usd_fixes_it(tmp_path, caplog):
    src = tmp_path / "flows.csv"
    _frame(scale=1e7).to_csv(src, index=False)  # USD 27 trillion on 2 products if taken as kUSD
    with caplog.at_level(logging.WARNING, logger="tradeopt.data"):
        out = api.convert_data(src)
    assert any("--value-unit usd" in r.getMessage() for r in caplog.records)
    assert api.data_info(out)["warnings"] and "WARNING: values sum to USD" in \
        CliRunner().invoke(main, ["data", "info", str(out)]).output
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tradeopt.data"):
        fixed = api.convert_data(src, value_unit="usd", overwrite=True)
    assert not caplog.records and not api.data_info(fixed)["warnings"]
    assert pd.read_parquet(fixed)["v"].sum() == pytest.approx(_frame()["v"].sum() * 1e4)  # kUSD


def test_other_column_names_get_the_columns_that_map_them(tmp_path):
    src = tmp_path / "named.csv"
    _frame().rename(columns={"t": "year", "i": "exporter", "j": "importer", "k": "hs6", "v": "value_usd",
                             "q": "qty"}).to_csv(src, index=False)
    with pytest.raises(DataError) as info:
        api.convert_data(src)
    (problem,) = info.value.problems
    fix = f"tradeopt data convert {src} --columns t=year,i=exporter,j=importer,k=hs6,v=value_usd,q=qty --value-unit usd"
    assert problem.kind == "other_layout" and problem.fix == "map the columns: " + fix
    args = fix.split()[1:]  # the hint, typed as it says, converts the file
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output


def test_unrecognised_names_get_the_syntax():
    from optimize.data.hints import columns_hint

    hint = columns_hint(["annee", "exporter", "b", "c", "d"], "f.csv")
    assert "--columns t=<year>,i=<exporter>" in hint and "(recognised: i=exporter)" in hint


def test_iso3_codes_get_country_codes_iso3_and_one_problem_per_column(tmp_path):
    src = tmp_path / "iso3.csv"
    df = _frame()
    iso = {251: "FRA", 276: "DEU", 156: "CHN", 842: "USA"}
    # many rows share (t, k): unparsed country codes must not read as thousands of repeated keys
    df = pd.concat([df.assign(k=f"{n:06d}") for n in range(850440, 850460)], ignore_index=True)
    df.assign(i=df["i"].map(iso), j=df["j"].map(iso)).to_csv(src, index=False)
    r = CliRunner().invoke(main, ["data", "convert", str(src)])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert "duplicate" not in r.output and "2 data problems" in r.output
    assert f"column i holds ISO3 codes (e.g. FRA), not BACI's numeric codes: tradeopt data convert {src} " \
           "--country-codes iso3" in r.output
    ok = CliRunner().invoke(main, ["data", "convert", str(src), "--country-codes", "iso3"])
    assert ok.exit_code == 0, ok.output
    assert sorted(pd.read_parquet(tmp_path / "iso3_baci.parquet")["i"].unique()) == [156, 251, 842]


def test_real_energy_subset_in_usd(energy_parquet, tmp_path):
    """The issue's file: the 32-product energy subset with values in USD read as kUSD -> USD 292,761 bn."""
    src = tmp_path / "energy_usd.csv"
    flows = pd.read_parquet(energy_parquet)
    flows.assign(v=flows["v"] * 1000).to_csv(src, index=False)
    out = api.convert_data(src)
    (warning,) = api.data_info(out)["warnings"]
    assert warning.startswith("values sum to USD 292,761.5 bn in 2023 over 32 products, more than is possible")
    fixed = api.convert_data(src, value_unit="usd", overwrite=True)
    assert not api.data_info(fixed)["warnings"]
    assert api.data_info(fixed)["total_value_usd"] == pytest.approx(flows["v"].sum() * 1000)
