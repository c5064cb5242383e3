"""Honest errors (issue 16, items 7 and 8): input problems exit 2, output problems exit 5, with the file, key
or row and a fix; the Python API raises tradeopt's error types for bad arguments."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.errors import (
    EXIT_INPUT,
    EXIT_OUTPUT,
    InputError,
    ScenarioError,
    TradeoptError,
)
from tests.corpus import NAME, base_rows, csv_text, files_below, leftovers, write_csv


def _run(cli_main, *args):
    return CliRunner().invoke(cli_main, ["run", *args, "--no-figures", "--quiet"])


def _clean_error(res, code: int, *needles: str) -> None:
    assert res.exit_code == code, res.output
    assert res.output.startswith("Error: ") and "Traceback" not in res.output and "Fix:" in res.output, res.output
    for n in needles:
        assert n.lower() in res.output.lower(), res.output


# ------------------------------------------------------------------ scenario files
TOML_FILES = {
    "nested_5000_deep": lambda: ("name = 'x'\nx = " + "[" * 5000 + "]" * 5000 + "\n").encode(),
    "utf16_le": lambda: "name = 'x'\n[cap]\npp = 3\n".encode("utf-16"),
    "utf16_be_no_bom": lambda: "name = 'x'\n[cap]\npp = 3\n".encode("utf-16-be"),
    "latin1": lambda: "name = 'x'\ndescription = 'Côte'\n".encode("latin-1"),
}


@pytest.mark.parametrize("case", sorted(TOML_FILES))
def test_unreadable_scenario_file_is_exit_2_naming_the_file(case, tmp_path, cli_main):
    from optimize.config.scenario import load_scenario

    p = tmp_path / "s.toml"
    p.write_bytes(TOML_FILES[case]())
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert info.value.file == str(p) and info.value.fix
    out = tmp_path / "out"
    res = _run(cli_main, "--scenario", str(p), "--out", str(out))
    _clean_error(res, EXIT_INPUT, str(p))
    assert not out.exists()


def test_utf8_bom_scenario_reads_like_the_same_file_without_it(tmp_path):
    from optimize.config.scenario import load_scenario

    text = "name = 'bom'\n[cap]\npp = 3\n[risk]\ncountries = ['CHN']\n"
    plain, bom = tmp_path / "plain.toml", tmp_path / "bom.toml"
    plain.write_text(text, encoding="utf-8")
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_scenario(bom) == load_scenario(plain)


def test_deeply_nested_override_is_exit_2(tmp_path, cli_main):
    res = _run(cli_main, "--set", "x=" + "[" * 5000 + "]" * 5000, "--out", str(tmp_path / "out"))
    _clean_error(res, EXIT_INPUT, "nested")


# ------------------------------------------------------------------ output paths
@pytest.mark.parametrize("out", ["a" * 300, "a/" * 3000])
def test_overlong_out_path_is_exit_5_before_reading(out, tmp_path, cli_main):
    res = _run(cli_main, "--out", str(tmp_path / out))
    _clean_error(res, EXIT_OUTPUT, "--out")
    assert files_below(tmp_path) == []


# ------------------------------------------------------------------ data files
def test_bad_country_table_in_a_zip_names_the_member(tmp_path):
    from optimize.data.baci import read_baci
    from optimize.errors import DataError

    z = tmp_path / "BACI_HS22_V202501.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(NAME, csv_text(base_rows()))
        zf.writestr("country_codes_V202501.csv", "country_code,country_iso3\nabc,CHN\n")
    with pytest.raises(DataError) as info:
        read_baci(z, cache=False)
    msg = str(info.value)
    assert f"{z}!country_codes_V202501.csv" in msg and "BytesIO" not in msg and info.value.rows == [1]


def test_screen_years_backwards_is_exit_2(cli_main):
    res = CliRunner().invoke(cli_main, ["screen", "ec", "--years", "2023-2021"])
    _clean_error(res, EXIT_INPUT, "2023-2021", "--years")


# ------------------------------------------------------------------ the Python API
def _dup_column_frame():
    import pandas as pd

    from optimize.api import load_trade

    f = load_trade().flows
    return pd.concat([f, f[["v"]]], axis=1)


API_CALLS = {
    "run_data_int": lambda api: api.run(data=123),
    "run_duplicated_column": lambda api: api.run(data=_dup_column_frame()),
    "load_trade_duplicated_column": lambda api: api.load_trade(_dup_column_frame()),
    "sweep_no_caps": lambda api: api.sweep_caps(caps_pp=[]),
    "load_trade_years_text": lambda api: api.load_trade(years="twenty"),
    "load_trade_years_list_text": lambda api: api.load_trade(years=[2023, "x"]),
    "load_trade_years_empty": lambda api: api.load_trade(years=[]),
    "load_trade_products_int": lambda api: api.load_trade(products=850440),
    "load_trade_frame_years_text": lambda api: api.load_trade(api.load_trade().flows, years="twenty"),
    "load_trade_frame_products_int": lambda api: api.load_trade(api.load_trade().flows, products=[850440]),
}


@pytest.mark.parametrize("case", sorted(API_CALLS))
def test_api_bad_arguments_raise_tradeopt_input_errors(case):
    from optimize import api

    with pytest.raises(TradeoptError) as info:
        API_CALLS[case](api)
    assert isinstance(info.value, InputError) and info.value.exit_code == EXIT_INPUT
    assert "Fix:" in str(info.value) and (info.value.field or info.value.file)


def test_api_years_from_a_generator_still_filter():
    from optimize.api import load_trade

    assert load_trade(years=(y for y in [2023])).years == [2023]


def test_risk_set_containing_the_importer_warns():
    """The warning reaches an API caller in the result's warnings (the CLI prints them once; since the user
    test it is no longer logged as well, which printed it twice: test_own_risk_warning_is_printed_once)."""
    from optimize.api import run

    res = run(importer="USA", risk=["USA", "CHN"])
    assert any("USA" in w and "also the importer" in w for w in res.meta["warnings"])
    assert any("also the importer" in n for n in res.meta["notes"])
    quiet = run(importer="USA", risk=["CHN"])
    assert not any("also the importer" in n for n in quiet.meta["notes"])


# ------------------------------------------------------------------ batch cell keys
def _cell(cap: float):
    from optimize.runs.batch import Cell

    return Cell(2023, "DEU", "world-exports", cap, ("CHN",))


@settings(max_examples=200, deadline=None)
@given(a=st.floats(0, 100, allow_nan=False), b=st.floats(0, 100, allow_nan=False))
def test_distinct_caps_never_share_a_cell_key(a, b):
    """Any two caps, and a cap against itself rounded to 6 significant digits (what '{:g}' keeps)."""
    assert (_cell(a).key == _cell(b).key) == (a == b)
    near = float(f"{a:g}")
    assert (_cell(a).key == _cell(near).key) == (a == near)


def test_caps_equal_to_6_significant_digits_get_two_keys_and_round_caps_keep_short_keys():
    assert _cell(5.0000001).key != _cell(5.0).key
    assert _cell(5.0).key.endswith("__cap5__CHN") and _cell(2.5).key.endswith("__cap2.5__CHN")


# ------------------------------------------------------------------ scenario.resolved.toml re-runs
def test_resolved_scenario_reruns_from_another_folder_with_control_characters(tmp_path, monkeypatch, cli_main):
    monkeypatch.setenv("TRADEOPT_CACHE", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    write_csv(work / NAME, base_rows())
    monkeypatch.chdir(work)
    desc = 'tab\there, bell\u0007, del\u007f, nul-free "quotes" and \\\\ back\\slash'
    res = _run(cli_main, "--baci", NAME, "--risk", "CHN", "--set", f"description={json.dumps(desc)}",
               "--out", "first")
    assert res.exit_code == 0, res.output
    resolved = work / "first" / "scenario.resolved.toml"
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    again = _run(cli_main, "--scenario", str(resolved), "--out", "second")
    assert again.exit_code == 0, again.output
    one = json.loads((work / "first" / "summary.json").read_text())
    two = json.loads((other / "second" / "summary.json").read_text())
    for key in ("exposure", "totals", "hhi", "shifted_usd", "year", "status", "cap_pp", "risk_iso3", "description"):
        assert one[key] == two[key], key
    assert two["description"] == json.loads(json.dumps(desc))
    assert Path(two["scenario_resolved"]["data"]["baci"]) == work / NAME
    assert leftovers(tmp_path) == []
