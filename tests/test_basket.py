"""Tests of the critical-goods basket table, its loader and the product selector."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.data.basket import SECTORS, default_basket_path, load_basket, select_codes
from optimize.errors import ScenarioError
from optimize.resources import data_dir


def test_default_basket_shape_and_sectors():
    b = load_basket()
    assert list(b.columns) == ["k", "sector", "subsector", "description", "source"]
    assert 300 <= len(b) <= 600
    assert b["k"].is_unique and b["k"].str.fullmatch(r"\d{6}").all()
    assert set(b["sector"]) == set(SECTORS)
    assert (b["source"] != "").all() and (b["description"] != "").all()
    assert b["k"].tolist() == sorted(b["k"])


def test_hand_known_codes_have_expected_sector():
    sec = load_basket().set_index("k")["sector"]
    expected = {"300215": "health", "901890": "health", "630790": "health", "854231": "ict",
                "848620": "ict", "854470": "ict", "270900": "energy", "850440": "energy",
                "854143": "energy", "850231": "energy", "271600": "energy", "280530": "crm",
                "850511": "crm", "260500": "crm", "811292": "crm", "250410": "crm"}
    for k, s in expected.items():
        assert sec[k] == s, k
    # excluded on purpose (see data/basket/README.md)
    assert "850410" not in sec.index and "854430" not in sec.index


def test_every_code_exists_in_hs2022(shared_data):
    codes = pd.read_csv(shared_data / "baci_codes/product_codes_HS22_V202501.csv", dtype=str)["code"]
    missing = set(load_basket()["k"]) - set(codes.str.zfill(6))
    assert not missing


def test_headings_fully_expanded(shared_data):
    """Headings declared whole in the README are complete (independent of the build script)."""
    codes = pd.read_csv(shared_data / "baci_codes/product_codes_HS22_V202501.csv", dtype=str)["code"]
    basket = set(load_basket()["k"])
    for heading in ("3002", "8542", "8486", "8507", "2846", "7110", "8517"):
        children = set(codes[codes.str[:4] == heading])
        assert children and children <= basket, heading


def test_sector_filter():
    both = load_basket(sectors="health, ICT")
    assert set(both["sector"]) == {"health", "ict"}
    assert len(both) == len(load_basket(sectors=["health"])) + len(load_basket(sectors=["ict"]))
    with pytest.raises(ScenarioError, match="crm"):
        load_basket(sectors="defence")


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "b.csv"
    p.write_text(text)
    return p


def test_user_file_zero_padded_and_sorted(tmp_path):
    b = load_basket(_write(tmp_path, "k,sector\n850440,energy\n10121,Health\n"))
    assert b["k"].tolist() == ["010121", "850440"]
    assert b["sector"].tolist() == ["health", "energy"]


@pytest.mark.parametrize("text,field,row", [
    ("k,sector\n850440,energy\n85A440,energy\n", "k", 2),
    ("k,sector\n850440,energy\n8504401,energy\n", "k", 2),
    ("k,sector\n850440,energy\n280530,metals\n", "sector", 2),
    ("k,sector\n850440,energy\n280530,crm\n850440,ict\n", "sector", 1),
    ("code,sector\n850440,energy\n", "k", None),
])
def test_user_file_errors_name_file_row_field(tmp_path, text, field, row):
    p = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as ei:
        load_basket(p)
    err = ei.value
    assert err.file == str(p) and err.field == field
    if row is not None:
        assert err.rows[0] == row
    assert str(p) in str(err)


def test_duplicate_code_same_sector_is_fine(tmp_path):
    b = load_basket(_write(tmp_path, "k,sector\n850440,energy\n850440,energy\n"))
    assert b["k"].tolist() == ["850440"]


def test_missing_file():
    with pytest.raises(ScenarioError):
        load_basket("/nonexistent/basket.csv")


AVAILABLE = ["010121", "850110", "850300", "850440", "850490", "851712", "854231", "870321"]


def test_select_codes_forms(tmp_path):
    assert select_codes("all", AVAILABLE) == sorted(AVAILABLE)
    assert select_codes("85", AVAILABLE) == ["850110", "850300", "850440", "850490", "851712", "854231"]
    assert select_codes("8504", AVAILABLE) == ["850440", "850490"]
    assert select_codes("8501-8504", AVAILABLE) == ["850110", "850300", "850440", "850490"]
    assert select_codes("850440, 10121", AVAILABLE) == ["010121", "850440"]
    f = tmp_path / "codes.txt"
    f.write_text("854231\n8504\n")
    assert select_codes(str(f), AVAILABLE) == ["850440", "850490", "854231"]
    with pytest.raises(ScenarioError):
        select_codes("9999", AVAILABLE)
    with pytest.raises(ScenarioError):
        select_codes("8504-85", AVAILABLE)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 999_999).map(lambda n: f"{n:06d}"), min_size=1, max_size=30, unique=True),
       st.integers(1, 99), st.integers(0, 98))
def test_select_chapter_range_matches_filter(codes, a, width):
    """A chapter range selects exactly the codes whose 2-digit chapter lies in it."""
    lo, hi = f"{a:02d}", f"{min(a + width, 99):02d}"
    expected = sorted(c for c in codes if lo <= c[:2] <= hi)
    if not expected:
        with pytest.raises(ScenarioError):
            select_codes(f"{lo}-{hi}", codes)
    else:
        assert select_codes(f"{lo}-{hi}", codes) == expected


def test_sample_products_covered():
    """Sample products tagged with a basket sector are in the basket with that sector."""
    p = data_dir() / "sample_products.csv"
    if not p.is_file():
        pytest.skip("data/baci/sample_products.csv not generated yet")
    sample = pd.read_csv(p, dtype=str, keep_default_na=False)
    sample["k"] = sample["k"].str.zfill(6)
    tagged = sample[sample["sector"].isin(SECTORS)]
    sec = load_basket().set_index("k")["sector"]
    # documented exceptions: molybdenum and chromium are not in the CRM Act 2024 list
    tagged = tagged[~tagged["k"].isin(["810294", "811221"])]
    bad = tagged[tagged["sector"].to_numpy() != tagged["k"].map(sec).to_numpy()]
    assert bad.empty, bad.to_string()


def test_default_path_points_to_shipped_file():
    assert default_basket_path().is_file()
