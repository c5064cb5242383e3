"""Real BACI data (../shared/data): the HS22 energy subset under a name without its revision, and an HS2017
file constructed from it through the concordance (in a tmp dir; trade flows are never committed)."""
from __future__ import annotations

import logging
import shutil

import pandas as pd
import pytest

from optimize.config.scenario import validate_scenario
from optimize.data.concordance import concord_codes
from optimize.runs.pipeline import prepare

pytestmark = pytest.mark.shared


def _scen(**sections):
    return validate_scenario({"name": "t", "importer": {"countries": ["EU27"]}, **sections})


@pytest.fixture(scope="module")
def hs17_file(energy_parquet, tmp_path_factory):
    """The HS22 energy subset re-coded to HS2017 (n:1 merges summed), named without a revision."""
    d = pd.read_parquet(energy_parquet)
    m = concord_codes(sorted(d["k"].unique()), "HS22", "HS17").pairs
    assert not m["split"].any()  # every code of the subset has one HS2017 code: a plain re-coding
    d["k"] = d["k"].map(dict(zip(m["k_from"], m["k_to"], strict=True)))
    d = d.groupby(["t", "i", "j", "k"], as_index=False)[["v", "q"]].sum(min_count=1)
    path = tmp_path_factory.mktemp("hs17") / "energy_2023.parquet"
    d.to_parquet(path, index=False)
    return path


def test_hs22_file_without_revision_in_its_name(energy_parquet, tmp_path):
    path = tmp_path / "energy_2023.parquet"
    shutil.copy(energy_parquet, path)
    p = prepare(_scen(basket={"sectors": ["energy", "ict"]}), path)
    assert (p.hs_revision.code, p.hs_revision.source) == ("HS22", "detected from the codes")
    assert "32 of 32 codes in the HS22 product list" in p.hs_revision.detail
    info = p.product_info.set_index("k")
    assert (info["description"] != "").all()  # every name from the HS22 table
    assert info.loc["854159", "sector"] == "ict"


def test_constructed_hs17_file(hs17_file, caplog):
    with caplog.at_level(logging.WARNING, logger="tradeopt.run"):
        p = prepare(_scen(basket={"products": "850440,854159,271600,850220"}), hs17_file)
    assert p.hs_revision.code == "HS17" and "tie with" in p.hs_revision.detail
    assert p.products == ("271600", "850220", "850440", "854150")
    assert "basket.products HS22 -> HS17: 4 codes -> 4 (854159 -> 854150)" in [r.getMessage() for r in caplog.records]
    info = p.product_info.set_index("k")
    assert (info["description"] != "").all() and info.loc["854150", "sector"] == "ict"
    whole = prepare(_scen(basket={"sectors": ["ict"]}), hs17_file)
    assert "854150" in whole.products  # the shipped basket in HS2017 keeps the semiconductors
