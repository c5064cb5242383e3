"""The data's HS revision detected from the codes and written to every output; user codes of another
revision converted to it with one console line (basket file, --products, ban.products, cap.product_pp)."""
from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.config.scenario import validate_scenario
from optimize.data.revision import detect_revision
from optimize.errors import ScenarioError
from optimize.resources import data_dir
from optimize.runs.codes import convert_codes
from optimize.runs.pipeline import prepare
from optimize.runs.single import run

REVS = ("HS92", "HS96", "HS02", "HS07", "HS12", "HS17", "HS22")
CHN, DEU, JPN, USA, NLD, KOR = 156, 276, 392, 842, 528, 410


def _lists() -> dict[str, set[str]]:
    """Each revision's codes read straight from the bundled CEPII files (independent of the code's cache)."""
    return {r: set(pd.read_csv(next(data_dir().glob(f"product_codes_{r}_V*.csv")), dtype=str)["code"].str.zfill(6))
            for r in REVS}


LISTS = _lists()
ONLY = {r: sorted(LISTS[r] - set().union(*(LISTS[o] for o in REVS if o != r))) for r in REVS}
COMMON = sorted(set.intersection(*LISTS.values()))


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([r for r in REVS if ONLY[r]]), st.data())
def test_detected_revision_is_the_one_holding_its_own_codes(rev, data):
    own = data.draw(st.lists(st.sampled_from(ONLY[rev]), min_size=1, max_size=5, unique=True))
    common = data.draw(st.lists(st.sampled_from(COMMON), max_size=20, unique=True))
    got = detect_revision(own + common, 2023)
    assert got.code == rev and "tie" not in got.detail
    assert got.label == f"{rev} (detected from the codes)"


def test_tie_goes_to_the_newest_revision_of_the_year_and_is_stated():
    codes = COMMON[:50]
    assert detect_revision(codes, 2023).code == "HS22"
    got = detect_revision(codes, 2019)
    assert got.code == "HS17" and "tie with HS92, HS96, HS02, HS07, HS12, HS22" in got.detail


# ---------------------------------------------------------------- a hand-made HS2017 file

HS17_ONLY = "854150"  # other semiconductor devices: HS2022 split it into 854151/854159
assert HS17_ONLY in LISTS["HS17"] and HS17_ONLY not in LISTS["HS22"]


def _hs17_file(tmp_path, name="flows.csv"):
    rows = [(k, i, j, v) for k in (HS17_ONLY, "850440", "271600")
            for i, j, v in ((CHN, NLD, 60.0), (USA, NLD, 20.0), (DEU, NLD, 20.0), (JPN, KOR, 300.0),
                            (DEU, KOR, 200.0), (USA, KOR, 100.0))]
    df = pd.DataFrame(rows, columns=["k", "i", "j", "v"]).assign(t=2023, q=np.nan)
    path = tmp_path / name
    df[["t", "i", "j", "k", "v", "q"]].to_csv(path, index=False)
    return path


def _scen(**sections):
    return validate_scenario({"name": "t", "importer": {"countries": ["NLD"]}, **sections})


def test_revision_detected_written_to_every_output_and_names_from_its_table(tmp_path):
    res = run(_scen(), _hs17_file(tmp_path))
    out = tmp_path / "out"
    res.write(out, figures=False)
    assert "- HS revision: HS17 (detected from the codes)" in (out / "summary.md").read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["hs_revision"], summary["hs_revision_source"]) == ("HS17", "detected from the codes")
    assert summary["settings"]["hs_revision"] == "HS17 (detected from the codes)"
    assert any(n.startswith("HS revision HS17 (detected from the codes): 3 of 3 codes") for n in summary["notes"])
    shipped = [n for n in summary["notes"] if n.startswith("shipped basket HS22 -> HS17: ")]
    assert len(shipped) == 1 and "0 lost" in shipped[0] and "854151, 854159" in shipped[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["data"]["hs_revision"] == "HS17"
    assert manifest["data"]["hs_revision_source"] == "detected from the codes"
    info = prepare(_scen(), _hs17_file(tmp_path)).product_info.set_index("k")["description"]
    hs17 = pd.read_csv(next(data_dir().glob("product_codes_HS17_V*.csv")), dtype=str).set_index("code")
    assert info[HS17_ONLY] == hs17.loc[HS17_ONLY, "description"].strip()
    assert (info != "").all()
    assert (pd.read_csv(out / "products.csv", dtype=str, keep_default_na=False)["description"] != "").all()


def test_revision_given_by_the_setting_is_written(tmp_path):
    res = run(_scen(data={"hs_revision": "HS2017"}), _hs17_file(tmp_path))
    assert res.meta["hs_revision"] == "HS17" and res.meta["hs_revision_source"] == "data.hs_revision"
    assert "- HS revision: HS17 (data.hs_revision)" in res.summary_md()


def test_user_codes_of_another_revision_converted_and_said(tmp_path, caplog):
    basket = tmp_path / "my_basket_hs22.csv"
    basket.write_text("k,sector\n854159,ict\n850440,energy\n271600,energy\n")
    scen = _scen(basket={"file": str(basket)}, ban={"country": "CHN", "products": ["854151"]},
                 cap={"product_pp": {"854159": 2.0, "854151": 3.0}})
    with caplog.at_level(logging.WARNING, logger="tradeopt.run"):
        p = prepare(scen, _hs17_file(tmp_path))
    assert p.products == ("271600", "850440", HS17_ONLY)
    assert p.scenario.ban.products == [HS17_ONLY]
    assert p.scenario.cap.product_pp == {HS17_ONLY: 2.0}  # two HS22 keys merge: the strictest cap is kept
    lines = [r.getMessage() for r in caplog.records]
    assert "basket HS22 -> HS17: 3 codes -> 3 (854159 -> 854150)" in lines
    assert "ban.products HS22 -> HS17: 1 code -> 1 (854151 -> 854150)" in lines
    assert "cap.product_pp HS22 -> HS17: 2 codes -> 1 (854159 -> 854150, 854151 -> 854150)" in lines
    assert p.product_info.set_index("k").loc[HS17_ONLY, "sector"] == "ict"
    res = run(scen, _hs17_file(tmp_path))
    conv = {c["what"]: c for c in res.meta["code_conversions"]}
    assert conv["basket"]["changed"] == {"854159": [HS17_ONLY]} and conv["basket"]["from"] == ["HS22"]


def test_products_option_converted_in_run_and_batch(tmp_path, caplog):
    from optimize.api import batch_run

    scen = _scen(basket={"products": "854159,850440"})
    with caplog.at_level(logging.WARNING, logger="tradeopt.run"):
        res = run(scen, _hs17_file(tmp_path))
    assert res.meta["code_conversions"][0]["changed"] == {"854159": [HS17_ONLY]}
    assert set(res.tables.products["k"]) == {HS17_ONLY, "850440"}
    assert "basket.products HS22 -> HS17: 2 codes -> 2 (854159 -> 854150)" in [r.getMessage() for r in caplog.records]
    b = batch_run(scen, out_dir=tmp_path / "batch", data=_hs17_file(tmp_path), workers=1)
    assert (b.table["status"].astype(str) == "optimal").all()


def test_a_code_valid_in_no_revision_is_an_error_naming_it(tmp_path, cli_main):
    with pytest.raises(ScenarioError, match="valid in no HS revision: 999991") as exc:
        convert_codes(["850440", "999991"], "HS17", "basket.products")
    assert exc.value.field == "basket.products"
    from click.testing import CliRunner

    r = CliRunner().invoke(cli_main, ["run", "--baci", str(_hs17_file(tmp_path)), "--importer", "NLD",
                                      "--products", "850440,999991", "--no-figures", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "999991" in r.output


def test_codes_of_the_data_revision_are_kept_as_they_are():
    mapping, conv = convert_codes(["850440", HS17_ONLY], "HS17", "basket")
    assert conv is None and mapping == {"850440": ["850440"], HS17_ONLY: [HS17_ONLY]}


def test_data_info_says_the_detected_revision(tmp_path):
    from optimize.data.baci import data_info
    from optimize.output.console import data_info_text

    info = data_info(_hs17_file(tmp_path), cache=False)
    assert (info["hs_revision"], info["hs_revision_source"]) == ("HS17", "detected from the codes")
    assert "hs revision: HS17 (detected from the codes)" in data_info_text(info)


def test_a_file_named_in_another_revision_is_flagged(tmp_path, caplog):
    path = _hs17_file(tmp_path, "BACI_HS22_Y2023_V202501.csv")
    with caplog.at_level(logging.WARNING, logger="tradeopt.run"):
        p = prepare(_scen(basket={"products": "all"}), path)
    assert (p.hs_revision.code, p.hs_revision.source) == ("HS22", "from the file name")
    said = [r.getMessage() for r in caplog.records if "not in the HS22 product list" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("1 of 3 product codes in 2023") and HS17_ONLY in said[0]
    assert "--set data.hs_revision=HS17" in said[0] and said[0] in p.notes


def test_shipped_basket_is_mapped_once_per_revision_and_handed_out_as_copies(tmp_path, monkeypatch):
    """A run on HS17 data with --products maps the shipped HS22 basket to HS17 once (it was mapped for the
    basket, again for the product selection and again for the note); a caller changing its copy changes
    nobody else's."""
    from optimize.data import basket as basket_mod
    from optimize.data import concordance

    basket_mod._shipped.cache_clear()
    calls = []
    real = concordance.concord_basket
    monkeypatch.setattr(concordance, "concord_basket", lambda *a, **kw: calls.append(a[1]) or real(*a, **kw))
    res = run(_scen(basket={"products": "85"}), _hs17_file(tmp_path))
    assert res.meta["hs_revision"] == "HS17" and HS17_ONLY in set(res.tables.products["k"])
    run(_scen(), _hs17_file(tmp_path))  # sectors: the same mapping, already made
    assert calls == ["HS17"]
    a = basket_mod.load_basket(None, hs_revision="HS17")
    a.loc[:, "sector"] = "changed"
    assert (basket_mod.load_basket(None, hs_revision="HS2017")["sector"] != "changed").all()
