"""`tradeopt data ...` through click's CliRunner: exit codes and printed facts."""
from __future__ import annotations

import gzip

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from tests.test_fetch import NAME, Server, make_zip

HEADER = "t,i,j,k,v,q\n"


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOPT_CACHE", str(tmp_path / "cache"))
    return CliRunner()


def test_info_sample(runner):
    r = runner.invoke(main, ["data", "info"])
    assert r.exit_code == 0, r.output
    assert "SYNTHETIC" in r.output and "2023" in r.output
    rows = pd.read_parquet(__import__("optimize.resources", fromlist=["x"]).data_dir()
                           / "BACI_SYNTHETIC_Y2023_sample.parquet")
    assert f"{len(rows):,}" in r.output
    assert f"{rows['v'].sum() * 1000:,.0f} USD" in r.output


def test_info_csv(runner, tmp_path):
    p = tmp_path / "f.csv.gz"
    p.write_bytes(gzip.compress((HEADER + "2023,4,56,10121,1.5,NA\n2023,156,842,850440,2,1\n").encode()))
    r = runner.invoke(main, ["data", "info", str(p)])
    assert r.exit_code == 0 and "SYNTHETIC" not in r.output
    assert "rows:        2" in r.output and "3,500 USD" in r.output


def test_validate_clean_and_bad(runner, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "2023,4,56,10121,1.5,NA\n")
    r = runner.invoke(main, ["data", "validate", str(good)])
    assert r.exit_code == 0 and "no problems" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "2023,4,56,10121,1.5,NA\n2023,4,4,10121,-1,1\n2023,4,56,10121,2,2\n")
    r = runner.invoke(main, ["data", "validate", str(bad)])
    assert r.exit_code == 2
    for needle in ("negative", "self_trade", "duplicate_key", "bad.csv", "rows 2", "rows 3"):
        assert needle in r.output
    assert not (tmp_path / "cache").exists()


def test_validate_missing_file_and_garbage(runner, tmp_path):
    r = runner.invoke(main, ["data", "validate", str(tmp_path / "nope.csv")])
    assert r.exit_code == 2 and "not found" in r.output
    g = tmp_path / "g.csv.gz"
    g.write_bytes(gzip.compress(b"t,i,j,k,v,q\n" * 100)[:20])
    r = runner.invoke(main, ["data", "info", str(g)])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_convert(runner, tmp_path):
    src = tmp_path / "f.csv"
    src.write_text(HEADER + "2023,4,56,10121,1.5,NA\n")
    out = tmp_path / "x.parquet"
    r = runner.invoke(main, ["data", "convert", str(src), "--to", "parquet", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert pd.read_parquet(out)["k"].tolist() == ["010121"]
    bad = tmp_path / "b.csv"
    bad.write_text(HEADER + "2023,4,56,10121,-1.5,NA\n")
    r = runner.invoke(main, ["data", "convert", str(bad), "--out", str(tmp_path / "b.parquet")])
    assert r.exit_code == 2 and not (tmp_path / "b.parquet").exists()
    below_file = src / "x.parquet"  # a path below a regular file can never be written
    r = runner.invoke(main, ["data", "convert", str(src), "--out", str(below_file)])
    assert r.exit_code == 5 and "is a file, not a folder" in r.output, r.output


def test_fetch(runner, tmp_path):
    data = make_zip(20_000)
    with Server({NAME: data}) as srv:
        r = runner.invoke(main, ["data", "fetch", "--hs", "HS22", "--release", "202501", "--base-url", srv.url,
                                 "--cache-dir", str(tmp_path / "dl"), "--quiet"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "dl" / NAME).read_bytes() == data
    with Server({}) as srv:
        r = runner.invoke(main, ["data", "fetch", "--release", "202401", "--base-url", srv.url,
                                 "--cache-dir", str(tmp_path / "dl"), "--quiet"])
    assert r.exit_code == 2 and "404" in r.output
