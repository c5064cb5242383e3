"""Scenario schema, TOML loading, overrides, errors naming the file and the dotted key."""
from __future__ import annotations

from pathlib import Path

import pytest
import tomllib
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.config.overrides import apply_overrides, parse_override
from optimize.config.scenario import Scenario, load_scenario, validate_scenario
from optimize.errors import ScenarioError


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def test_defaults_are_the_reference_setup():
    s = validate_scenario({})
    assert s.importer.countries == ["EU27"]
    assert s.risk.countries == ["CHN", "USA", "RUS"]
    assert s.cap.pp == 5.0 and s.cap.basis == "world-exports"
    assert s.data.baci == ""  # embedded sample


@pytest.mark.parametrize(
    "text, key, words",
    [
        ("[cap]\nppp = 3\n", "cap.ppp", "cap.pp"),  # close match suggested
        ("[solvr]\nbackend = 'highs'\n", "solvr", "solver"),
        ("[cap]\npp = 101\n", "cap.pp", "100"),
        ("[cap]\npp = -1\n", "cap.pp", "0"),
        ("[cap]\npp = 'five'\n", "cap.pp", "number"),
        ("[cap]\nshare_limit = 1.5\n", "cap.share_limit", "1"),
        ("[cap]\nbasis = 'gdp'\n", "cap.basis", "world-exports"),
        ("[risk]\ncountries = []\n", "risk.countries", "empty"),
        ("[risk]\nsplit = 'random'\n", "risk.split", "proportional"),
        ("[alternatives]\nspread = 'even'\n", "alternatives.spread", "min-hhi"),
        ("[basket]\nsectors = ['helth']\n", "basket.sectors", "health"),
        ("[solver]\nkeep_going = 'yes'\n", "solver.keep_going", "bool"),
        ("[risk]\ncountries = ['XYZ']\n", "risk.countries", "XYZ"),
        ("[importer]\ncountries = ['ATLANTIS']\n", "importer.countries", "ATLANTIS"),
        ("[alternatives]\nfriends = ['G7+allies']\n", "alternatives.friends", "risk"),  # USA is risk and friend
        ("[ban]\ncountry = 'CHN'\n", "ban", "product"),
        ("[ban]\ncountry = 'CHN'\nproducts = [811292]\n", "ban.products", ""),
        ("[risk]\ncountries = ['CHN']\n[ban]\ncountry = 'USA'\nproducts = ['811292']\n", "ban.country", "risk"),
        ("[risk]\ncountries = ['CHN']\nweights = {RUS = 2.0}\n", "risk.weights", "risk"),
        ("[risk]\nweights = {CHN = 0.0}\n", "risk.weights", "> 0"),
    ],
)
def test_broken_file_names_file_and_key(tmp_path, text, key, words):
    p = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    err = info.value
    assert err.field == key
    assert err.file == str(p)
    assert str(p) in str(err) and key in str(err)
    assert words.lower() in str(err).lower()


def test_toml_syntax_error_names_file(tmp_path):
    p = _write(tmp_path, "[cap\npp = 3\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert str(p) in str(info.value)


def test_unknown_scenario_name_suggests():
    with pytest.raises(ScenarioError) as info:
        load_scenario("eu27-friendshorin")
    assert "eu27-friendshoring" in str(info.value)


def test_overrides_apply_before_validation(tmp_path):
    p = _write(tmp_path, "name = 'x'\n[cap]\npp = 5\n")
    s = load_scenario(p, ["cap.pp=3", 'risk.countries=["CHN"]', "importer.countries=NLD", "cap.exporter_pp.JPN=2.5"])
    assert s.cap.pp == 3.0
    assert s.risk.countries == ["CHN"]
    assert s.importer.countries == ["NLD"]
    assert s.cap.exporter_pp == {"JPN": 2.5}
    # later overrides win
    assert load_scenario(p, ["cap.pp=3", "cap.pp=7"]).cap.pp == 7.0


def test_override_comma_list_and_bad_values(tmp_path):
    p = _write(tmp_path, "")
    assert load_scenario(p, ["risk.countries=CHN,RUS"]).risk.countries == ["CHN", "RUS"]
    with pytest.raises(ScenarioError) as info:
        load_scenario(p, ["cap.ppx=3"])
    assert info.value.field == "cap.ppx" and "cap.pp" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p, ["cap.pp=300"])
    assert info.value.field == "cap.pp"
    with pytest.raises(ScenarioError):
        load_scenario(p, ["cap.pp"])  # no '='
    with pytest.raises(ScenarioError) as info:
        load_scenario(p, ["cap.pp.x=1"])
    assert info.value.field == "cap.pp.x"


def test_apply_overrides_does_not_mutate_input():
    raw = {"cap": {"pp": 5}}
    out = apply_overrides(raw, ["cap.pp=1"], Scenario)
    assert raw == {"cap": {"pp": 5}} and out["cap"]["pp"] == 1


@settings(max_examples=40, deadline=None)
@given(
    pp=st.floats(min_value=0, max_value=100, allow_nan=False),
    share=st.one_of(st.just(0.0), st.floats(min_value=0.01, max_value=1.0)),
    basis=st.sampled_from(["world-exports", "importer-market", "rest-of-world"]),
    risk=st.lists(st.sampled_from(["CHN", "USA", "RUS", "156"]), min_size=1, max_size=3, unique=True),
    keep=st.booleans(),
    desc=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
)
def test_to_toml_round_trips(pp, share, basis, risk, keep, desc):
    raw = {
        "name": "rt",
        "description": desc,
        "cap": {"pp": pp, "basis": basis, "share_limit": share, "product_pp": {"850440": 2.0}},
        "risk": {"countries": risk},
        "solver": {"keep_going": keep},
    }
    s = validate_scenario(raw)
    again = validate_scenario(tomllib.loads(s.to_toml()))
    assert again == s
    resolved = s.resolved()
    # fully resolved: every section has every schema key
    for section, model in Scenario.model_fields.items():
        if hasattr(model.annotation, "model_fields"):
            assert set(resolved[section]) == set(model.annotation.model_fields)


@settings(max_examples=40, deadline=None)
@given(value=st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False), st.booleans()))
def test_parse_override_values_are_toml(value):
    text = str(value).lower() if isinstance(value, bool) else repr(value)
    path, parsed = parse_override(f"a.b={text}")
    assert path == ["a", "b"]
    assert parsed == value and type(parsed) is type(value)


def test_risk_roles_errors_name_countries_by_iso3():
    """`run --friends G7` (default risk CHN, USA, RUS) said 'BACI codes [842]': name the country the user typed."""
    from optimize.config.resolve import check_risk_roles
    with pytest.raises(ScenarioError, match=r"USA") as exc:
        check_risk_roles({"risk.countries": (156, 842), "alternatives.friends": (842, 392)})
    assert "842" not in exc.value.message
    with pytest.raises(ScenarioError, match=r"JPN"):
        check_risk_roles({"risk.countries": (156,), "ban.country": (392,)})


@pytest.mark.parametrize("key", ["cap.pp", "cap.exporter_total_pp", "cap.share_limit", "cost.prior_lambda"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_cap_or_weight_that_is_no_finite_number_says_so(key, value):
    """--cap nan said 'Input should be less than or equal to 100 (got nan)'."""
    with pytest.raises(ScenarioError, match=rf"field '{key}': Input should be a finite number") as err:
        load_scenario("default").update({key: value})
    assert err.value.exit_code == 2
