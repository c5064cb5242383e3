"""Sigma per product: ProTEE rule on hand-made rows, the bundled tables against ProTEE itself, the
user's file (one clear error per bad input)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimize.analysis.protee import fill, to_revision, usable_protee
from optimize.analysis.sigma import product_sigmas, read_elasticities, sigma_table
from optimize.errors import EXIT_INPUT, ScenarioError

ROOT = Path(__file__).resolve().parents[1]


def _protee(rows):
    return pd.DataFrame(rows, columns=["HS6", "zero", "positive", "sigma"])


def test_fill_rule_by_hand():
    usable = usable_protee(_protee([
        ("010110", 0, 0, -4.0), ("010120", 0, 0, -8.0), ("010130", 1, 0, -100.0),  # not significant: unused
        ("010210", 0, 0, -6.0), ("020110", 0, 1, 3.0),  # wrong sign: unused
        ("030110", 0, 0, -20.0),
    ]))
    assert usable.to_dict() == {"010110": 4.0, "010120": 8.0, "010210": 6.0, "030110": 20.0}
    f = fill(["010110", "010130", "010990", "020110", "990000"], usable).set_index("k")
    assert f.loc["010110", ["sigma", "sigma_source"]].tolist() == [4.0, "ProTEE"]
    assert f.loc["010130", ["sigma", "sigma_source"]].tolist() == [6.0, "HS4 median"]  # median(4, 8)
    assert f.loc["010990", ["sigma", "sigma_source"]].tolist() == [6.0, "HS2 median"]  # median(4, 8, 6)
    assert f.loc["020110", ["sigma", "sigma_source"]].tolist() == [7.0, "all-products median"]
    # band: chapter 01 has 3 usable values -> its quartiles (5, 7); widened to contain sigma
    assert f.loc["010110", ["sigma_low", "sigma_high"]].tolist() == [4.0, 7.0]
    assert f.loc["010130", ["sigma_low", "sigma_high"]].tolist() == [5.0, 7.0]
    # chapter 99 has none: quartiles of all usable values (4, 6, 8, 20) -> 5.5, 11
    assert f.loc["990000", ["sigma_low", "sigma_high"]].tolist() == [5.5, 11.0]


def test_bundled_hs22_equals_protee_for_energy_codes(shared_data):
    raw = pd.read_csv(shared_data / "elasticities" / "ProTEE_0_1.csv", dtype={"HS6": str}).set_index("HS6")
    t = sigma_table("HS22").set_index("k")
    for code, want in (("761300", 11.139477), ("280410", 22.837751)):
        assert -raw.loc[code, "sigma"] == pytest.approx(want)
        assert t.loc[code, "sigma"] == pytest.approx(want, abs=1e-6)
        assert t.loc[code, "sigma_source"] == "ProTEE"
        assert t.loc[code, "sigma_low"] <= want <= t.loc[code, "sigma_high"]


def test_bundled_tables_are_what_the_script_builds(shared_data, tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_sigma.py"), "--shared", str(shared_data),
                    "--out", str(tmp_path)], check=True, capture_output=True)
    for rev in ("HS07", "HS12", "HS17", "HS22"):
        built = (tmp_path / f"sigma_{rev}.csv").read_text()
        assert built == (ROOT / "data" / "elasticities" / f"sigma_{rev}.csv").read_text(), rev
        assert built.startswith("# Derived by scripts/build_sigma.py")


def test_where_codes_meet_the_mean_is_trade_weighted_when_weights_are_given():
    f07 = pd.DataFrame({"k": ["010110", "010120", "010130"], "sigma": [4.0, 8.0, 20.0], "sigma_low": [3.0, 6.0, 10.0],
                        "sigma_high": [5.0, 9.0, 30.0], "sigma_source": "ProTEE"})
    links = pd.DataFrame({"k": ["A00001", "A00001", "A00002", "A00002", "A00003"],
                          "k07": ["010110", "010120", "010120", "010130", "010130"]})
    usable = f07.set_index("k")["sigma"]
    weights = pd.Series({"010110": 3.0, "010120": 1.0})  # 010130: no trade
    w = to_revision(f07, links, ["A00001", "A00002", "A00003"], usable, weights).set_index("k")
    assert w.loc["A00001", ["sigma", "sigma_low", "sigma_high"]].tolist() == [5.0, 3.75, 6.0]  # (3 x 4 + 8) / 4
    assert w.loc["A00002", "sigma"] == 8.0  # 010130 has weight 0
    assert w.loc["A00003", "sigma"] == 20.0 and w.loc["A00003", "n_hs07"] == 1
    plain = to_revision(f07, links, ["A00001", "A00002", "A00003"], usable).set_index("k")
    assert plain.loc["A00001", "sigma"] == 6.0 and plain.loc["A00002", "sigma"] == 14.0  # simple means
    none = to_revision(f07, links, ["A00001"], usable, pd.Series({"990000": 5.0})).set_index("k")
    assert none.loc["A00001", "sigma"] == 6.0  # linked codes without trade: the simple mean


def test_build_sigma_weights_from_a_baci_hs07_file(shared_data, tmp_path):
    """HS12 010290 meets HS2007 010210 and 010290 (both ProTEE): weighted 3:1 by a tiny synthetic HS07 year."""
    baci = tmp_path / "BACI_HS07_Y2020_V202401.csv"
    baci.write_text("t,i,j,k,v,q\n2020,156,276,010210,2000.0,1.0\n2020,842,276,010210,1000.0,1.0\n"
                    "2020,156,842,010290,1000.0,1.0\n")
    out = tmp_path / "out"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_sigma.py"), "--shared", str(shared_data),
                    "--out", str(out), "--weights", str(baci)], check=True, capture_output=True)
    raw = pd.read_csv(shared_data / "elasticities" / "ProTEE_0_1.csv", dtype={"HS6": str}).set_index("HS6")["sigma"]
    t = pd.read_csv(out / "sigma_HS12.csv", comment="#", dtype={"k": str}).set_index("k")
    assert t.loc["010290", "sigma"] == pytest.approx((3 * -raw["010210"] - raw["010290"]) / 4, abs=1e-6)
    assert "trade-weighted by BACI_HS07_Y2020_V202401.csv" in (out / "sigma_HS12.csv").read_text().splitlines()[0]
    bundled = sigma_table("HS12").set_index("k")
    assert bundled.loc["010290", "sigma"] == pytest.approx((-raw["010210"] - raw["010290"]) / 2, abs=1e-6)


def test_every_code_has_a_positive_sigma_and_band():
    for rev in ("HS07", "HS12", "HS17", "HS22"):
        t = sigma_table(rev)
        assert (t["sigma"] > 0).all() and (t["sigma_low"] <= t["sigma"]).all() and (t["sigma"] <= t["sigma_high"]).all()
        assert t["k"].str.fullmatch(r"\d{6}").all() and t["k"].is_unique


def test_override_and_missing_revision(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("k,sigma\n761300,3.5\n")
    user = read_elasticities(f, "HS22")
    got = product_sigmas(["280410", "761300"], "HS22", user).set_index("k")
    assert got.loc["761300", ["sigma", "sigma_low", "sigma_high", "sigma_source"]].tolist() == [3.5, 3.5, 3.5, "file"]
    assert got.loc["280410", "sigma"] == pytest.approx(22.837751)
    none = product_sigmas(["010121"], "HS92")
    assert np.isnan(none["sigma"].iloc[0]) and "no sigma table for HS92" in none["sigma_source"].iloc[0]
    with_file = product_sigmas(["010121"], "HS92", pd.DataFrame({"k": ["010121"], "sigma": [2.0]}))
    assert with_file["sigma"].iloc[0] == 2.0


@pytest.mark.parametrize(("text", "field", "row"), [
    ("k,sigma\n761300,0\n", "sigma", "row 1"),
    ("k,sigma\n761300,8\n76130,-1\n", "sigma", "row 2"),
    ("k,sigma\n7613AB,8\n", "k", "row 1"),
    ("k,sigma\n761300,8\n761300,9\n", "k", "row 1, 2"),
    ("k,sigma\n010100,8\n", "k", "row 1"),
    ("code,sigma\n761300,8\n", "k", None),
    ("k,sigma\n", "k", None),  # header only: was accepted and changed no sigma, silently
])
def test_bad_elasticities_file_is_one_clear_error(tmp_path, text, field, row):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(ScenarioError) as ei:
        read_elasticities(f, "HS22")
    msg = str(ei.value)
    assert ei.value.exit_code == EXIT_INPUT and "\n" not in msg
    assert str(f) in msg and f"field '{field}'" in msg and "Fix:" in msg
    if row:
        assert row in msg
