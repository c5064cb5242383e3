"""The embedded synthetic sample: shape, realism properties, real HS codes, determinism."""
from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from optimize.data.baci import read_baci
from optimize.data.countries import EU27, country_table
from optimize.data.products import product_table
from optimize.resources import data_dir


@pytest.fixture(scope="module")
def sample():
    return read_baci(cache=False)


def test_sample_shape(sample):
    f = sample.flows
    assert sample.synthetic and "SYNTHETIC" in sample.label()
    assert 60_000 <= len(f) <= 150_000 and sample.years == [2023]
    assert f["k"].str.fullmatch(r"\d{6}").all()
    assert 150 <= f["k"].nunique() <= 250
    assert f["i"].nunique() >= 180 and f["j"].nunique() >= 180
    assert set(EU27) <= set(f["j"]) and {156, 842, 643, 392, 410, 490, 699, 757, 579} <= set(f["i"])
    assert 0.05 < f["q"].isna().mean() < 0.15
    assert (f["v"] > 0).all() and not f.duplicated(["t", "i", "j", "k"]).any()
    assert set(f["i"]) | set(f["j"]) <= set(country_table()["baci_code"])
    assert (data_dir() / "BACI_SYNTHETIC_Y2023_sample.parquet").stat().st_size < 5e6


def test_sample_tables_agree(sample):
    uni = pd.read_csv(data_dir() / "sample_products.csv", dtype=str)
    assert set(uni["sector"]) == {"health", "ict", "energy", "crm", "other"}
    assert (uni["sector"] == "other").sum() >= 15
    assert set(sample.flows["k"]) <= set(uni["k"])
    assert list(product_table()["k"]) == sorted(uni["k"])


def _top_share(f, k):
    s = f[(f.k == k) & f.j.isin(EU27) & ~f.i.isin(EU27)].groupby("i")["v"].sum()
    return int(s.idxmax()), float(s.max() / s.sum())


@pytest.mark.parametrize("k,who", [("810411", 156), ("280530", 156), ("854143", 156), ("270900", 643),
                                   ("284420", 643), ("300241", 842)])
def test_sample_dominant_suppliers(sample, k, who):
    top, share = _top_share(sample.flows, k)
    assert top == who and share > 0.4


def test_sample_few_suppliers(sample):
    n_exp = sample.flows.groupby("k")["i"].nunique()
    assert (n_exp <= 4).sum() >= 4 and n_exp.median() > 50


@pytest.mark.shared
def test_sample_codes_are_real_hs2022(shared_data):
    real = product_table(path=shared_data / "baci_codes" / "product_codes_HS22_V202501.csv")
    uni = pd.read_csv(data_dir() / "sample_products.csv", dtype=str)
    assert sorted(set(uni["k"]) - set(real["k"])) == []


def test_generator_deterministic():
    spec = importlib.util.spec_from_file_location("gen", data_dir() / "make_synthetic_sample.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    table, _ = gen.generate()
    shipped = pd.read_parquet(data_dir() / "BACI_SYNTHETIC_Y2023_sample.parquet")
    fresh = table.to_pandas()
    assert len(fresh) == len(shipped)
    np.testing.assert_allclose(fresh["v"].to_numpy(), shipped["v"].to_numpy())
    assert (fresh["k"].to_numpy() == shipped["k"].to_numpy()).all()
