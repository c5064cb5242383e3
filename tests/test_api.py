"""The public API (optimize.api, re-exported by ``optimize``): sample, user DataFrames, CLI parity."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimize
from optimize.errors import DataError, ScenarioError

ROOT = Path(__file__).resolve().parents[1]
NLD, BRA, CHN, USA, DEU, KOR, JPN = 528, 76, 156, 842, 276, 410, 392


def repo_cli():
    """The checkout's cli module."""
    import cli

    return cli


def _frame(rows, year=2023) -> pd.DataFrame:
    """(exporter, importer, hs6, value kUSD) tuples -> BACI-layout DataFrame."""
    i, j, k, v = zip(*rows, strict=False)
    return pd.DataFrame({"t": year, "i": i, "j": j, "k": k, "v": v, "q": np.nan})


@pytest.fixture(scope="module")
def sample_result():
    return optimize.run(figures=False)


def test_import_is_lazy_and_exports_the_api():
    code = "import sys, optimize; print('optimize.runs.pipeline' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
    for name in ("run", "load_scenario", "load_trade", "screen", "batch_run", "sweep_caps", "figures", "Scenario",
                 "RunResult", "DataError", "__version__"):
        assert hasattr(optimize, name), name
    with pytest.raises(AttributeError):
        optimize.no_such_thing  # noqa: B018
    # API names never shadow subpackages (``from optimize import runs`` must stay the package)
    code = "from optimize import runs, analysis; import types; print(isinstance(runs, types.ModuleType))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "True\n"


def test_help_explains_arguments():
    doc = optimize.run.__doc__
    for word in ("scenario", "data", "out_dir", "DataFrame", "SYNTHETIC", "USD"):
        assert word in doc


def test_sample_run_invariants(sample_result):
    r = sample_result
    assert r.synthetic and r.allocation.status.is_ok
    s = r.tables.summary
    assert s["total_after_usd"] == pytest.approx(s["total_usd"], rel=1e-9)  # totals kept
    assert s["risk_after_usd"] <= s["risk_before_usd"] + 1e-6
    # no ban: what alternatives gain is exactly what risk suppliers lose
    assert s["shifted_usd"] == pytest.approx(s["risk_before_usd"] - s["risk_after_usd"], rel=1e-7)
    exp = r.tables.exposure.set_index("iso3")
    assert set(exp.index) == {"CHN", "USA", "RUS", "ALL"}
    assert exp.loc["ALL", "after_usd"] == pytest.approx(exp.drop("ALL")["after_usd"].sum(), rel=1e-9)
    for name in ("exposure", "products", "flows", "beneficiaries", "by_sector", "by_stage"):
        assert isinstance(getattr(r.tables, name), pd.DataFrame), name
    assert "SYNTHETIC" in r.summary_md()


def test_keywords_map_onto_scenario_keys():
    scen = optimize.load_scenario(importer="NLD", cap_pp=3, risk=["CHN"], spread="min-hhi", year=2023)
    assert scen.importer.countries == ["NLD"] and scen.importer.label == ""
    assert scen.cap.pp == 3.0 and scen.risk.countries == ["CHN"]
    assert scen.alternatives.spread == "min-hhi" and scen.data.year == 2023
    # --set overrides come after keywords and win
    scen = optimize.load_scenario("kr-3050", cap_pp=3, overrides=["cap.pp=4"])
    assert scen.cap.pp == 4.0 and scen.cap.share_limit == 0.5
    # an existing Scenario plus keywords -> a new validated Scenario
    again = optimize.load_scenario(scen, cap_basis="importer-market")
    assert again.cap.basis == "importer-market" and again.cap.pp == 4.0
    with pytest.raises(ScenarioError, match="unknown scenario keyword"):
        optimize.load_scenario(capp=3)
    with pytest.raises(ScenarioError) as err:
        optimize.load_scenario(cap_pp=300)
    assert err.value.field == "cap.pp"


def test_user_dataframe_hand_computed():
    """China 80 and Germany 20 into NLD; Germany's world exports 1,000 (cap 50), Korea 100 (cap 5)."""
    df = _frame([(CHN, NLD, "850440", 80.0), (DEU, NLD, "850440", 20.0), (DEU, BRA, "850440", 980.0),
                 (KOR, BRA, "850440", 100.0)])
    r = optimize.run(data=df, importer="NLD", products=["850440"], figures=False)
    flows = r.tables.flows.set_index("exporter")
    assert flows.loc["CHN", "after_usd"] == pytest.approx(25_000.0)  # 80 - 50 - 5 kUSD
    assert flows.loc["DEU", "after_usd"] == pytest.approx(70_000.0)
    assert flows.loc["KOR", "after_usd"] == pytest.approx(5_000.0)
    s = r.tables.summary
    assert s["risk_share_before"] == pytest.approx(0.8) and s["risk_share_after"] == pytest.approx(0.25)
    assert s["hhi_before"] == pytest.approx(0.8**2 + 0.2**2)
    assert s["hhi_after"] == pytest.approx(0.25**2 + 0.7**2 + 0.05**2)
    assert not r.synthetic


def test_bad_dataframe_names_the_row():
    df = _frame([(CHN, NLD, "850440", 80.0), (DEU, NLD, "850440", 20.0), (DEU, BRA, "850440", -3.0)])
    with pytest.raises(DataError) as err:
        optimize.run(data=df, importer="NLD", products=["850440"])
    assert err.value.rows == [3] and err.value.field == "v"
    assert "row 3" in str(err.value)
    with pytest.raises(DataError):
        optimize.load_trade(df.drop(columns="v"))


def test_load_trade_filters_dataframe():
    df = pd.concat([_frame([(CHN, NLD, "850440", 1.0), (DEU, NLD, "271111", 2.0)]),
                    _frame([(CHN, NLD, "850440", 3.0)], year=2022)])
    td = optimize.load_trade(df, years=[2023], products="850440")
    assert td.flows[["t", "k", "v"]].values.tolist() == [[2023, "850440", 1.0]]
    assert optimize.load_trade(df, exporters="DEU").flows["i"].tolist() == [DEU]


@st.composite
def _markets(draw):
    """One product; risk suppliers CHN/USA and alternatives DEU/KOR/JPN with random flows (kUSD)."""
    rows = []
    for e in (CHN, USA, DEU, KOR, JPN):
        to_nld = draw(st.sampled_from([0.0, 0.0, 1.0, 7.5, 40.0, 120.0]))
        elsewhere = draw(st.sampled_from([0.0, 3.0, 25.0, 300.0, 2000.0]))
        if to_nld:
            rows.append((e, NLD, "850440", to_nld))
        if elsewhere:
            rows.append((e, BRA, "850440", elsewhere))
    if not any(r[1] == NLD for r in rows):
        rows.append((CHN, NLD, "850440", 10.0))
    cap_pp = draw(st.sampled_from([0.0, 1.0, 5.0, 20.0, 100.0]))
    return rows, cap_pp


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_markets())
def test_dataframe_runs_match_closed_form(market):
    """Risk after = max(0, R - C), C = sum over alternatives of min(p% world exports, exports elsewhere)."""
    rows, cap_pp = market
    df = _frame(rows)
    r = optimize.run(data=df, importer="NLD", products=["850440"], risk=["CHN", "USA"], cap_pp=cap_pp,
                     figures=False)
    world = df.groupby("i")["v"].sum()
    into = df[df["j"] == NLD].groupby("i")["v"].sum().reindex(world.index, fill_value=0.0)
    alt = ~world.index.isin([CHN, USA])
    cap = np.minimum(cap_pp / 100 * world[alt], (world - into)[alt]).sum()
    risk0 = into[~alt].sum()
    s = r.tables.summary
    assert s["risk_before_usd"] == pytest.approx(1000 * risk0)
    assert s["risk_after_usd"] == pytest.approx(1000 * max(0.0, risk0 - cap), abs=1e-3)
    assert s["total_after_usd"] == pytest.approx(1000 * into.sum())


def test_cli_and_api_give_the_same_numbers(tmp_path):
    main = repo_cli().main
    out = tmp_path / "cli-out"
    res = CliRunner().invoke(main, ["run", "--importer", "NLD", "--cap", "3", "--risk", "CHN,RUS",
                                    "--no-figures", "--quiet", "--out", str(out)])
    assert res.exit_code == 0, res.output
    cli_summary = json.loads((out / "summary.json").read_text())
    api = optimize.run(importer="NLD", cap_pp=3, risk="CHN,RUS", out_dir=tmp_path / "api-out", figures=False)
    api_summary = json.loads((tmp_path / "api-out" / "summary.json").read_text())
    for key in ("total_usd", "risk_before_usd", "risk_after_usd", "shifted_usd", "hhi_before", "hhi_after",
                "n_products", "n_cap_binds"):
        assert cli_summary["totals"][key] == pytest.approx(api.tables.summary[key], rel=1e-12), key
        assert api_summary["totals"][key] == cli_summary["totals"][key], key
    assert cli_summary["exposure"] == api_summary["exposure"]


def test_screen_and_sweep_on_sample(tmp_path):
    single = optimize.screen("single", importer="KOR", supplier="CHN")
    assert {"k", "supplier_share", "flagged"} <= set(single.columns)
    flagged = single["flagged"].to_numpy()
    assert np.array_equal(flagged, single["supplier_share"].to_numpy() > 0.5)
    res = optimize.sweep_caps(caps_pp=[0, 5], out_dir=tmp_path / "sweep", importer="NLD", risk="CHN")
    all_rows = res.table[res.table["risk"] == "ALL"].set_index("cap_pp")
    assert all_rows.loc[0.0, "share_after"] == pytest.approx(all_rows.loc[0.0, "share_before"])
    assert all_rows.loc[5.0, "share_after"] <= all_rows.loc[0.0, "share_after"] + 1e-12
    assert (tmp_path / "sweep" / "sweep.png").is_file() and (tmp_path / "sweep" / "sweep.csv").is_file()
    # the same cap through run() gives the same exposure
    one = optimize.run(importer="NLD", risk="CHN", cap_pp=5, figures=False)
    assert one.tables.summary["risk_share_after"] == pytest.approx(all_rows.loc[5.0, "share_after"], rel=1e-9)


def test_batch_run_matches_run(tmp_path):
    res = optimize.batch_run(out_dir=tmp_path / "batch", importers="NLD", caps_pp=[5], risk_sets=[["CHN"]],
                             workers=1)
    row = res.table[res.table["risk"] == "ALL"].iloc[0]
    one = optimize.run(importer="NLD", risk="CHN", cap_pp=5, figures=False)
    assert row["share_after"] == pytest.approx(one.tables.summary["risk_share_after"], rel=1e-9)
    assert (tmp_path / "batch" / "batch.csv").is_file()
    again = optimize.batch_run(out_dir=tmp_path / "batch", importers="NLD", caps_pp=[5], risk_sets=[["CHN"]],
                               workers=1)
    assert again.computed == [] and len(again.skipped) == 1  # resumable: finished cells are reused
