"""One path per concept: the same cell computed by every entry point gives the same numbers and labels.

Paths: ``optimize.run`` (API), the ``tradeopt run`` command (its summary.json), a batch cell, a sweep
point and a joint group of one importer. Scenarios are drawn at random (hypothesis).
"""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import optimize
from optimize.config import resolve as resolve_mod

IMPORTERS = ["NLD", "DEU", "KOR", "EU27"]
BASES = ["world-exports", "importer-market", "rest-of-world"]
RISKS = ["CHN", "USA", "RUS"]

cells = st.fixed_dictionaries({
    "importer": st.sampled_from(IMPORTERS),
    "cap_pp": st.sampled_from([0.0, 2.5, 5.0, 10.0]),
    "cap_basis": st.sampled_from(BASES),
    "risk": st.lists(st.sampled_from(RISKS), min_size=1, max_size=3, unique=True).map(sorted),
    "spread": st.sampled_from(["proportional", "min-hhi"]),
})


def _by_risk(rows, share_key="share_after"):
    return {r["risk"]: r[share_key] for r in rows}


@settings(max_examples=4, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cell=cells)
def test_every_path_gives_the_same_cell(cell, tmp_path_factory, cli_main):
    from click.testing import CliRunner

    tmp = tmp_path_factory.mktemp("paths")
    base = optimize.load_scenario("default", sectors=["crm"], figures=False, **cell)
    api = optimize.run(base)
    s = api.tables.summary
    expected = {str(r["iso3"]): float(r["share_after"]) for r in api.tables.exposure.to_dict("records")}

    # the command line, through its --set overrides (the scenario keys, not the Python keywords)
    sets = [f"importer.countries={cell['importer']}", f"cap.pp={cell['cap_pp']}", f"cap.basis={cell['cap_basis']}",
            f"risk.countries={','.join(cell['risk'])}", f"alternatives.spread={cell['spread']}",
            "basket.sectors=crm", "report.figures=false"]
    args = ["run", "--quiet", "--out", str(tmp / "cli")] + [a for kv in sets for a in ("--set", kv)]
    out = CliRunner().invoke(cli_main, args)
    assert out.exit_code == 0, out.output
    cli_summary = json.loads((tmp / "cli" / "summary.json").read_text())
    assert (cli_summary["totals"]["importer"], cli_summary["totals"]["year"]) == (s["importer"], s["year"])
    for key in ("risk_share_before", "risk_share_after", "shifted_usd", "hhi_after"):
        assert cli_summary["totals"][key] == pytest.approx(s[key], rel=1e-12, abs=1e-9), key

    # a batch cell (the scenario's cap basis is the batch default: the defect this guards against)
    res = optimize.batch_run(base, out_dir=tmp / "batch", workers=1)
    rows = res.table
    assert set(rows["cap_basis"]) == {cell["cap_basis"]}
    got = {str(r["risk"]): float(r["share_after"]) for r in rows.to_dict("records")}
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)

    # a joint group of one importer equals the cell alone
    joint = optimize.batch_run(base, out_dir=tmp / "joint", workers=1, joint=True).table
    got = {str(r["risk"]): float(r["share_after"]) for r in joint.to_dict("records")}
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)

    # a sweep point at the cell's cap (warm-started HiGHS)
    sw = optimize.sweep_caps(base, caps_pp=[0.0, cell["cap_pp"], 20.0], plot=False).table
    point = sw[sw["cap_pp"] == cell["cap_pp"]]
    got = {str(r["risk"]): float(r["share_after"]) for r in point.to_dict("records")}
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_one_run_resolves_the_scenario_countries_once(monkeypatch):
    calls = []
    real = resolve_mod._build

    def counting(scen, *rest):
        calls.append(scen.name)
        return real(scen, *rest)

    monkeypatch.setattr(resolve_mod, "_build", counting)
    optimize.run("default", importer="NLD", sectors=["crm"], figures=False)
    assert len(calls) == 1


def test_update_is_validated_and_leaves_the_original():
    base = optimize.load_scenario("default")
    new = base.update({"cap.pp": 3, "risk.countries": ["CHN"]})
    assert (base.cap.pp, base.risk.countries) == (5.0, ["CHN", "USA", "RUS"])
    assert (new.cap.pp, new.risk.countries) == (3.0, ["CHN"])
    with pytest.raises(optimize.ScenarioError) as err:
        base.update({"cap.ppp": 3})
    assert "cap.pp" in str(err.value)  # close match suggested
    with pytest.raises(optimize.ScenarioError):
        base.update({"cap.pp": 300})


def test_cli_choices_come_from_the_schema(cli_main):
    from click.testing import CliRunner

    from optimize.config.aliases import literal_choices
    from optimize.config.scenario import Scenario

    out = CliRunner().invoke(cli_main, ["run", "--help"])
    for basis in literal_choices(Scenario, "cap.basis"):
        assert basis in out.output
