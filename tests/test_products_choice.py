"""One answer to "is ``products`` a basket file?" (``tokens.basket_file``) for the API, the CLI and the screens:
a CSV whose header names ``sector`` is a basket, anything else a selection (codes, chapters, ranges, a codes file)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import optimize
from optimize.tokens import basket_file

COLUMN = st.sampled_from(["k", "sector", "Sector", " sector ", '"sector"', "subsector", "description", "850440"])


@settings(max_examples=60, deadline=None)
@given(st.lists(COLUMN, min_size=1, max_size=4))
def test_a_file_is_a_basket_exactly_when_its_header_names_sector(tmp_path_factory, columns):
    f = tmp_path_factory.mktemp("b") / "p.csv"
    f.write_text(",".join(columns) + "\n850440,energy,x,y\n", encoding="utf-8")
    named = any(c.strip().strip('"').lower() == "sector" for c in columns)  # oracle: the header, read here
    assert (basket_file(str(f)) == f) is named and (basket_file(f) == f) is named


def test_typed_selections_and_missing_files_are_no_basket(tmp_path):
    for spec in ("850440,854143", "85", "8501-8504", "all", ["850440"], None, "", str(tmp_path / "absent.csv"),
                 str(tmp_path)):
        assert basket_file(spec) is None


def _files(tmp_path):
    basket = tmp_path / "basket.csv"  # 850440 is "energy" in the shipped basket: the file's "health" must win
    basket.write_text("k,sector\n850440,health\n854143,energy\n", encoding="utf-8")
    codes = tmp_path / "codes.txt"
    codes.write_text("850440\n854143\n", encoding="utf-8")
    return basket, codes


def test_the_api_reads_products_as_the_cli_does(tmp_path):
    basket, codes = _files(tmp_path)
    scen = optimize.load_scenario(products=str(basket))
    assert scen.basket.file == str(basket) and scen.basket.products == optimize.load_scenario().basket.products
    scen = optimize.load_scenario(products=str(codes))
    assert scen.basket.products == str(codes) and not scen.basket.file
    res = optimize.run(products=str(basket), figures=False)
    sectors = res.tables.products.set_index("k")["sector"]
    assert sectors.to_dict() == {"850440": "health", "854143": "energy"}


def test_cli_run_takes_a_basket_and_a_codes_file(cli_main, tmp_path):
    basket, codes = _files(tmp_path)
    for spec, name in ((basket, "b"), (codes, "c")):
        res = CliRunner().invoke(cli_main, ["run", "--products", str(spec), "--no-figures", "--quiet",
                                            "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        assert json.loads((tmp_path / name / "summary.json").read_text())["totals"]["n_products"] == 2


def test_screen_takes_a_codes_file_and_a_basket_alike(tmp_path):
    basket, codes = _files(tmp_path)
    got = [set(optimize.screen("single", products=str(p))["k"].astype(str)) for p in (basket, codes)]
    assert got[0] == got[1] <= {"850440", "854143"} and got[0]


def test_an_empty_codes_file_is_an_input_error(tmp_path):
    empty = tmp_path / "codes.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(optimize.ScenarioError, match="codes.txt"):
        optimize.screen("single", products=str(empty))
