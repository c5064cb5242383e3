"""One kernel, many planners: a random cell gives the same numbers through every planner.

Cells are drawn at random (importer or bloc, risk set, cap, cap basis, intra-bloc trade, self-supply,
an export ban) on a tiny synthetic year, then solved by ``tradeopt run`` (its summary.json), the API
(``optimize.run``), a batch (closed-form backend where it applies, else the LP per cell), a cap sweep
(warm-started where it applies) and the frontier (its plain re-allocation and minimum exposure).
Every path must give the API's exposure per risk country, shifted imports and HHI to 1e-9.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

import optimize

#: BACI codes of the synthetic world: three risk candidates, five others.
CODES = {"CHN": 156, "USA": 842, "RUS": 643, "DEU": 276, "FRA": 251, "NLD": 528, "KOR": 410, "BRA": 76}
PRODUCTS = ["260300", "280461", "810520", "850760"]


def _world(seed: int = 11) -> pd.DataFrame:
    """One year of BACI rows [t, i, j, k, v, q] (kUSD, tonnes): most pairs trade, some do not."""
    rng = np.random.default_rng(seed)
    rows = [(2023, i, j, k, float(rng.lognormal(4, 1.2)), float(rng.lognormal(2, 1)))
            for k in PRODUCTS for i in CODES.values() for j in CODES.values() if i != j and rng.random() < 0.7]
    return pd.DataFrame(rows, columns=list("tijkvq"))


WORLD = _world()

cells = st.fixed_dictionaries({
    "importer": st.sampled_from([["DEU"], ["NLD"], ["KOR"], ["DEU", "FRA"]]),
    "risk": st.lists(st.sampled_from(["CHN", "USA", "RUS"]), min_size=1, max_size=3, unique=True).map(sorted),
    "cap_pp": st.sampled_from([0.0, 2.5, 10.0, 40.0]),
    "cap_basis": st.sampled_from(["world-exports", "importer-market", "rest-of-world"]),
    "intra_bloc": st.sampled_from(["include", "exclude"]),
    "self_supply": st.booleans(),
    "ban": st.booleans(),
})


def _scenario(cell: dict):
    keywords = {k: cell[k] for k in ("importer", "risk", "cap_pp", "cap_basis", "intra_bloc", "self_supply")}
    if cell["ban"]:
        keywords.update(ban_country=cell["risk"][0], ban_products=PRODUCTS[:2])
    return optimize.load_scenario("default", products=",".join(PRODUCTS), year=2023, figures=False, **keywords)


def _expected(result) -> dict:
    s = result.tables.summary
    out = {f"share_after:{r['iso3']}": float(r["share_after"]) for r in result.tables.exposure.to_dict("records")}
    out.update(shifted_usd=float(s["shifted_usd"]), hhi_after=float(s["hhi_after"]))
    return out


def _same(got: dict, want: dict, path: str) -> None:
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9), f"{path}: {key}"


@settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cell=cells)
@example(cell={"importer": ["DEU"], "risk": ["CHN"], "cap_pp": 10.0, "cap_basis": "world-exports",
               "intra_bloc": "include", "self_supply": False, "ban": False})  # the closed-form backend
@example(cell={"importer": ["DEU", "FRA"], "risk": ["CHN", "RUS"], "cap_pp": 2.5, "cap_basis": "importer-market",
               "intra_bloc": "include", "self_supply": False, "ban": False})  # a bloc on the closed form
def test_every_planner_gives_the_kernels_numbers(cell, tmp_path_factory, cli_main):
    from click.testing import CliRunner

    tmp = tmp_path_factory.mktemp("cross")
    scen = _scenario(cell)
    api = optimize.run(scen, data=WORLD)
    want = _expected(api)

    # tradeopt run: the same scenario as a file, the data as a CSV
    (tmp / "scenario.toml").write_text(scen.to_toml(), encoding="utf-8")
    WORLD.to_csv(tmp / "world.csv", index=False)
    out = CliRunner().invoke(cli_main, ["run", "--quiet", "--scenario", str(tmp / "scenario.toml"),
                                        "--baci", str(tmp / "world.csv"), "--out", str(tmp / "cli")])
    assert out.exit_code == 0, out.output
    totals = json.loads((tmp / "cli" / "summary.json").read_text())["totals"]
    for key in ("shifted_usd", "hhi_after", "risk_share_after"):
        assert totals[key] == pytest.approx(api.tables.summary[key], rel=1e-9, abs=1e-9), f"cli: {key}"

    # batch: the closed-form backend when the cell's features allow it, else the LP per cell
    rows = optimize.batch_run(scen, out_dir=tmp / "batch", data=WORLD, workers=1).table
    got = {f"share_after:{r['risk']}": float(r["share_after"]) for r in rows.to_dict("records")}
    all_row = rows.loc[rows["risk"] == "ALL"].iloc[0]
    got.update(shifted_usd=float(all_row["shifted_usd"]), hhi_after=float(all_row["hhi_after"]))
    _same(got, want, "batch")

    # sweep: the cell's cap among others, warm-started when the LP backend offers it
    sw = optimize.sweep_caps(scen, caps_pp=[0.0, cell["cap_pp"], 60.0], data=WORLD, plot=False).table
    point = sw.loc[sw["cap_pp"] == cell["cap_pp"]]
    got = {f"share_after:{r['risk']}": float(r["share_after"]) for r in point.to_dict("records")}
    got.update(shifted_usd=float(point["shifted_usd"].iloc[0]), hhi_after=float(point["hhi_after"].iloc[0]))
    _same(got, want, "sweep")

    # frontier (no bans): its plain re-allocation's HHI and its minimum exposure are the run's
    if not cell["ban"]:
        table, _ = optimize.frontier(scen, data=WORLD, points=3)
        basket = table.loc[table["group"] == "all"]
        assert float(basket["hhi_plain"].iloc[0]) == pytest.approx(want["hhi_after"], rel=1e-9, abs=1e-9)
        e_min_usd = float(basket.loc[basket["point"] == 0, "exposure_usd"].iloc[0])
        assert e_min_usd == pytest.approx(api.tables.summary["risk_after_usd"], rel=1e-9, abs=1e-6)


def test_the_closed_form_backend_is_chosen_by_features():
    """The batch's backend follows the cell's features (computed once on the spec)."""
    from optimize.config.resolve import resolve
    from optimize.model.kernel import CLOSED_FORM, LP

    plain = resolve(_scenario({"importer": ["DEU"], "risk": ["CHN"], "cap_pp": 5.0, "cap_basis": "world-exports",
                               "intra_bloc": "include", "self_supply": False, "ban": False})).features
    banned = resolve(_scenario({"importer": ["DEU"], "risk": ["CHN"], "cap_pp": 5.0, "cap_basis": "world-exports",
                                "intra_bloc": "include", "self_supply": False, "ban": True})).features
    assert CLOSED_FORM.supports(plain) and not CLOSED_FORM.supports(banned)
    assert LP.supports(banned) and LP.warm_start(plain) and LP.merges(plain) and not LP.merges(plain, 2)
