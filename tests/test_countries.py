"""Country tables, ISO3/BACI resolution and groups."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.data import countries as C
from optimize.errors import ScenarioError

# Hand-written from the EU treaty list (ISO3) and BACI's France code 251.
EU27_ISO3 = set("AUT BEL BGR HRV CYP CZE DNK EST FIN FRA DEU GRC HUN IRL ITA LVA LTU LUX MLT NLD POL PRT ROU SVK SVN ESP SWE".split())
# The BACI codes listed in shared/data/PROVENANCE.md for EU27.
EU27_CODES = (40, 56, 100, 191, 196, 203, 208, 233, 246, 251, 276, 300, 348, 372, 380, 428, 440, 442, 470,
              528, 616, 620, 642, 703, 705, 724, 752)


def test_project_table_shape():
    t = C.country_table()
    assert list(t.columns) == ["baci_code", "iso3", "iso2", "name"]
    assert t["baci_code"].is_unique and len(t) == 238
    assert t.loc[t.baci_code == 516, "iso2"].item() == "NA"  # Namibia's ISO2 is not a missing value


@pytest.mark.shared
@pytest.mark.parametrize("fname", ["country_codes_V202401.csv", "country_codes_V202501.csv"])
def test_project_table_matches_cepii(shared_data, fname):
    ref = pd.read_csv(shared_data / "baci_codes" / fname, keep_default_na=False)
    ours = C.country_table().set_index("baci_code")["iso3"]
    refs = ref.set_index("country_code")["country_iso3"]
    assert set(ours.index) == set(refs.index)
    diff = [c for c in refs.index if ours[c] != refs[c]]
    assert diff == [490]  # the one deliberate difference: Taiwan is TWN in outputs (CEPII: S19)
    assert refs[490] == "S19" and ours[490] == "TWN"


@pytest.mark.shared
def test_cepii_mojibake_repaired(shared_data):
    t = C.country_table(shared_data / "baci_codes" / "country_codes_V202501.csv")
    names = dict(zip(t.baci_code, t.name, strict=False))
    assert names[384] == "Côte d'Ivoire"
    assert "Ã" not in "".join(t.name)
    good = C.country_table(shared_data / "baci_codes" / "country_codes_V202401.csv")
    assert dict(zip(good.baci_code, good.name, strict=False))[384] == "Côte d'Ivoire"


def test_eu27():
    assert C.EU27 == EU27_CODES
    assert set(C.to_iso3(C.EU27)) == EU27_ISO3
    assert 251 in C.EU27 and 250 not in C.EU27


def test_groups_sizes():
    assert len(C.group_members("OECD")) == 38
    assert len(C.group_members("G7")) == 7
    ga = set(C.group_members("g7+allies"))
    assert set(C.group_members("G7")) | set(EU27_CODES) <= ga
    assert {36, 410, 554, 579, 757} <= ga  # AUS KOR NZL NOR CHE


def test_resolve_mixed_tokens():
    assert C.resolve_countries("chn, 842,RUS") == [156, 842, 643]
    assert C.resolve_countries(["USA", 842, "usa"]) == [842]
    assert C.resolve_countries("DEU") == [276]  # not the historical 280
    assert C.resolve_countries("TWN") == [490]
    both = C.resolve_countries("FRA,EU27")
    assert both[0] == 251 and len(both) == 27


@pytest.mark.parametrize("tok,hint", [("CHNA", "CHN"), ("EU28", "EU27"), ("99999", None)])
def test_resolve_unknown(tok, hint):
    with pytest.raises(ScenarioError) as e:
        C.resolve_countries(f"USA,{tok}")
    assert tok in str(e.value)
    if hint:
        assert hint in str(e.value)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(list(C.country_table().query("baci_code not in @C.HISTORICAL_CODES").baci_code)),
                min_size=1, max_size=12))
def test_iso3_roundtrip(codes):
    iso = C.to_iso3(codes)
    back = C.resolve_countries(list(iso))
    assert back == list(dict.fromkeys(codes))  # dedup, order kept
    assert C.resolve_countries([str(c) for c in codes]) == back


def test_names_and_unknown():
    assert list(C.country_names([842, 251])) == ["USA", "France"]
    assert list(C.to_iso3([156, 1])) == ["CHN", "?1"]


def test_countries_by_english_name_case_insensitive():
    from optimize.data.countries import resolve_countries

    assert resolve_countries("Germany, china, Korea") == [276, 156, 410]
    assert resolve_countries(["united states", "RUSSIA", "russian federation"]) == [842, 643]
    with pytest.raises(Exception, match="unknown country 'Atlantis'"):
        resolve_countries("Atlantis")


def test_taiwan_is_twn_in_outputs_and_accepted_as_s19():
    from optimize.data.countries import country_table, resolve_countries, to_iso3

    assert to_iso3([490]).tolist() == ["TWN"]
    assert resolve_countries("TWN") == resolve_countries("S19") == resolve_countries("taiwan") == [490]
    assert "S19" not in set(country_table()["iso3"])


# ---------------------------------------------------------------- names users type (#23 item 7)

@pytest.mark.parametrize("text,code", [
    ("Turkey", 792), ("Türkiye", 792), ("turkiye", 792), ("Cote d'Ivoire", 384), ("CÔTE D’IVOIRE", 384),
    ("DE", 276), ("de", 276), ("CN", 156), ("Korea, Rep.", 410), ("US", 842), ("UK", 826),
    ("French Republic", 251),  # country_converter's pattern gives FRA; BACI's own table decides the code
    ("Iran, Islamic Rep.", 364), ("Viet Nam", 704),
])
def test_names_iso2_accents_and_country_converter(text, code):
    assert C.resolve_countries(text) == [code]


def test_a_comma_inside_a_name_joins_only_a_piece_that_is_no_country():
    assert C.resolve_countries("Korea, Rep., DE, Japan") == [410, 276, 392]
    assert C.resolve_countries(["Germany", "France"]) == [276, 251]
    assert C.resolve_countries("Korea, Dem. People's Rep.") == [408]


def test_unknown_name_suggests_without_paths():
    from optimize.config.scenario import load_scenario

    with pytest.raises(ScenarioError) as info:
        load_scenario("default", {"importer.countries": ["Germny"]})
    text = str(info.value)
    assert "unknown country 'Germny'" in text and "Germany (DEU)" in text
    assert "/" not in text.replace("ISO3 (DEU), ISO2 (DE)", "") and "site-packages" not in text
    assert text.startswith("scenario 'default' with override importer.countries")


def test_country_converter_is_imported_only_on_a_miss():
    import subprocess
    import sys

    code = ("import sys; from optimize.data.countries import resolve_countries as r; r('DEU, Germany, DE, EU27'); "
            "a = 'country_converter' in sys.modules; r('Turkey'); print(a, 'country_converter' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
