"""``tradeopt backtest`` (issue #26 item 4) on real BACI flows (the 2023 subset as Y0, a Y1 built from it in a
temporary folder): a Y1 that is the model's own re-allocation of Y0 gives Spearman and captured share of 1
and the predicted cut; a Y1 with the same gains shuffled over the pairs gives Spearman about 0 and a
captured share at chance level."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import optimize as to
from optimize.runs.backtest import BACKTEST_COLUMNS

CAP = 0.5  # binding for FRA <- CHN on this subset: the cut depends on the cap


def _importer_rows(flows: pd.DataFrame, values_usd: np.ndarray, importer: int, year: int) -> pd.DataFrame:
    keep = values_usd > 0
    f = flows.loc[keep]
    return pd.DataFrame({"t": np.int16(year), "i": f["exporter_code"].astype("int32").to_numpy(),
                         "j": np.int32(importer), "k": f["k"].astype(str).to_numpy(),
                         "v": values_usd[keep] / 1000.0, "q": np.nan})


def _write_years(folder, y0: pd.DataFrame, importer_rows: pd.DataFrame, importer: int) -> None:
    y0.to_parquet(folder / "BACI_HS22_Y2022_V202501.parquet", index=False)
    rest = y0.loc[y0["j"] != importer].assign(t=np.int16(2023))
    y1 = pd.concat([rest, importer_rows]).astype(y0.dtypes.to_dict())
    y1.sort_values(["t", "i", "j", "k"]).to_parquet(folder / "BACI_HS22_Y2023_V202501.parquet", index=False)


@pytest.fixture(scope="module")
def base(energy_parquet, tmp_path_factory):
    """Y0 (the real subset as 2022) and the model's run on it (FRA, risk CHN, cap CAP)."""
    folder = tmp_path_factory.mktemp("y0")
    y0 = pd.read_parquet(energy_parquet).assign(t=np.int16(2022))
    y0.to_parquet(folder / "BACI_HS22_Y2022_V202501.parquet", index=False)
    run = to.run(data=str(folder / "BACI_HS22_Y2022_V202501.parquet"), importer="FRA", risk="CHN",
                 products="all", cap_pp=CAP)
    return y0, run, int(run.instance.importer_codes[0])


def _backtest(folder, **kw):
    return to.backtest(data=str(folder), importer="FRA", risk="CHN", products="all", from_year=2022, to_year=2023,
                       **kw)


def test_the_models_own_reallocation_fits_perfectly(base, tmp_path):
    y0, run, fra = base
    f = run.tables.flows
    _write_years(tmp_path, y0, _importer_rows(f, f["after_usd"].to_numpy(float), fra, 2023), fra)
    res = _backtest(tmp_path, caps_pp=[0.1, CAP, 5])
    assert list(res.table.columns) == list(BACKTEST_COLUMNS)
    at = res.table.set_index("cap_pp").loc[CAP]
    assert at["spearman"] == pytest.approx(1.0, abs=1e-9)
    assert at["captured_share"] == pytest.approx(1.0, abs=1e-9)
    assert at["realised_cut"] == pytest.approx(at["predicted_cut"], abs=1e-12)
    ex = run.tables.exposure.set_index("iso3").loc["ALL"]  # the run's own cut, an independent reading
    assert at["predicted_cut"] == pytest.approx(ex["share_before"] - ex["share_after"], abs=1e-12)
    assert res.block["best_cap"] == CAP and res.block["spearman"] == pytest.approx(1.0, abs=1e-9)
    assert res.block["best_basis"] == "world-exports"
    assert res.table.set_index("cap_pp").loc[0.1, "predicted_cut"] < at["realised_cut"]  # the cap matters here


def test_shuffled_gains_fit_no_better_than_chance(base, tmp_path):
    y0, run, fra = base
    f = run.tables.flows
    gain = (f["after_usd"] - f["before_usd"]).to_numpy(float)
    alt = ~f["is_risk"].to_numpy(bool)
    shuffled = gain.copy()
    shuffled[alt] = np.random.default_rng(7).permutation(gain[alt])
    values = np.where(alt, f["before_usd"].to_numpy(float) + shuffled, f["after_usd"].to_numpy(float))
    _write_years(tmp_path, y0, _importer_rows(f, values, fra, 2023), fra)
    at = _backtest(tmp_path, caps_pp=[CAP]).table.iloc[0]
    assert abs(at["spearman"]) < 0.1
    chance = float((gain[alt] > 0).mean())  # a gain lands on a pair the model favoured with this probability
    assert at["captured_share"] == pytest.approx(chance, abs=0.1)


def test_cli_backtest_writes_the_folder(cli_main, base, tmp_path):
    y0, run, fra = base
    f = run.tables.flows
    _write_years(tmp_path, y0, _importer_rows(f, f["after_usd"].to_numpy(float), fra, 2023), fra)
    out = tmp_path / "bt"
    res = CliRunner().invoke(cli_main, ["backtest", "--baci", str(tmp_path), "--importer", "FRA", "--risk", "CHN",
                                        "--products", "all", "--from", "2022", "--to", "2023", "--caps", f"{CAP},5",
                                        "--cap-basis", "world-exports,rest-of-world", "-o", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "backtest.csv")
    assert sorted(zip(table["cap_basis"], table["cap_pp"], strict=True)) == [
        ("rest-of-world", CAP), ("rest-of-world", 5.0), ("world-exports", CAP), ("world-exports", 5.0)]
    world = table.loc[(table["cap_basis"] == "world-exports") & (table["cap_pp"] == CAP)].iloc[0]
    assert world["spearman"] == pytest.approx(1.0, abs=1e-9)  # Y1 was made at this basis and cap
    summary = json.loads((out / "summary.json").read_text())
    assert {"spearman", "captured_share", "by_cap", "best_cap"} <= set(summary["backtest"])
    assert summary["settings"]["years"] == [2022, 2023]
    assert list(pd.read_csv(out / "backtest.csv").columns) == list(BACKTEST_COLUMNS)
    assert (out / "figures" / "backtest.png").is_file() and (out / "summary.md").is_file()
    bad = CliRunner().invoke(cli_main, ["backtest", "--baci", str(tmp_path), "--from", "2023", "--to", "2022",
                                        "-o", str(tmp_path / "no")])
    assert bad.exit_code == 2 and "--to" in bad.output and not (tmp_path / "no").exists()


def test_caption_writes_the_caps_as_numbers():
    """The figure title and console line said 'cap [0.5, 5.0] pp' (a Python list) for the backtest's caps."""
    from optimize.output.trend import caption
    settings = {"importer": "FRA", "years": [2022, 2023], "hs_revision": "HS22", "cap_basis": "world-exports",
                "risk": ["CHN"]}
    assert "cap 0.5, 5 pp (world-exports)" in caption(dict(settings, cap_pp=[0.5, 5.0]))
    assert "cap 5 pp (world-exports)" in caption(dict(settings, cap_pp=5.0))


def test_caps_share_one_model_per_basis_and_y1_is_not_solved(base, tmp_path, monkeypatch):
    """Issue #26 item 5: one backend call per year. Y0's caps re-solve one warm-started HiGHS model per cap
    basis (one LP built each); Y1 is read for its observed values only (never solved). On two workers the
    result is the same."""
    from optimize.model import lp as lpmod
    from optimize.model.kernel import LPBackend

    y0, run, fra = base
    f = run.tables.flows
    _write_years(tmp_path, y0, _importer_rows(f, f["after_usd"].to_numpy(float), fra, 2023), fra)
    built, solved = [], []
    real_build, real_solve = lpmod.build_lp, LPBackend.solve
    monkeypatch.setattr(lpmod, "build_lp", lambda *a, **k: built.append(1) or real_build(*a, **k))
    monkeypatch.setattr(LPBackend, "solve", lambda self, problem: solved.extend([problem.rows.year] * problem.n_cells)
                        or real_solve(self, problem))  # the cells each LP solve is asked for, by year
    kw = {"caps_pp": [0.1, CAP, 5], "cap_bases": ["world-exports", "rest-of-world"]}
    inline = _backtest(tmp_path, **kw)
    assert solved == [2022] * 6 and len(built) == 2
    pooled = _backtest(tmp_path, workers=2, **kw)
    pd.testing.assert_frame_equal(pooled.table, inline.table)
    pd.testing.assert_frame_equal(pooled.pairs, inline.pairs)
