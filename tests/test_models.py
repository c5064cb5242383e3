"""The shipped scenario files: all load, describe themselves, and use real codes."""
from __future__ import annotations

import pandas as pd
import pytest

from optimize.config.scenario import list_scenarios, load_scenario
from optimize.config.tomlio import read_toml
from optimize.data.countries import EU27, group_members, resolve_countries
from optimize.resources import models_dir

SHIPPED = ["default", "eu27-friendshoring", "nl-concentration", "kr-3050", "export-ban", "friends-only"]


def test_every_required_scenario_is_shipped_with_a_description():
    listed = dict(list_scenarios())
    for name in SHIPPED:
        assert name in listed, name
        desc = listed[name]
        assert desc and "\n" not in desc and not desc.startswith("(broken")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_loads_and_names_itself(name):
    s = load_scenario(name)
    assert s.name == name
    assert read_toml(models_dir() / f"{name}.toml")["name"] == name  # the file says its own name
    assert s.data.baci == ""  # every shipped scenario runs on the embedded sample


def test_reference_setups():
    eu = load_scenario("eu27-friendshoring")
    assert tuple(sorted(resolve_countries(eu.importer.countries))) == EU27
    assert sorted(resolve_countries(eu.risk.countries)) == [156, 643, 842]
    assert (eu.cap.pp, eu.cap.basis) == (5.0, "world-exports")
    default = load_scenario("default")
    assert default.model_dump(exclude={"name", "description"}) == eu.model_dump(exclude={"name", "description"})
    kr = load_scenario("kr-3050")
    assert resolve_countries(kr.importer.countries) == resolve_countries("KOR")
    assert kr.cap.share_limit == 0.5 and kr.solver.keep_going
    assert resolve_countries(load_scenario("nl-concentration").importer.countries) == resolve_countries("NLD")
    fr = load_scenario("friends-only")
    assert set(resolve_countries(fr.alternatives.friends)) == set(group_members("G7+allies"))
    assert not set(resolve_countries(fr.risk.countries)) & set(group_members("G7+allies"))


def test_export_ban_codes_are_real_hs22_codes(shared_data):
    table = pd.read_csv(shared_data / "baci_codes" / "product_codes_HS22_V202501.csv", dtype=str)
    desc = dict(zip(table["code"], table["description"].str.lower(), strict=False))
    ban = load_scenario("export-ban").ban
    assert resolve_countries(ban.country) == [156]
    assert ban.products and all(code in desc for code in ban.products)
    text = " ".join(desc[c] for c in ban.products)
    for material in ("gallium", "germanium", "graphite", "rare", "magnets"):
        assert material in text, material


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_runs_end_to_end_on_the_sample(name, tmp_path):
    import json

    from optimize.runs.single import run

    scen = load_scenario(name, ["report.figures=false"])
    res = run(scen)
    out = res.write(tmp_path / name)
    summary = json.loads((out / "summary.json").read_text())
    md = (out / "summary.md").read_text()
    assert "SYNTHETIC" in md and summary["synthetic"] is True
    assert summary["scenario"] == name
    s = res.tables.summary
    assert s["risk_after_usd"] <= s["risk_before_usd"] + 1e-6
    # the resolved scenario written next to the outputs loads back to the same scenario
    again = load_scenario(out / "scenario.resolved.toml")
    assert again == scen
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"]["name"] == name and manifest["inputs"]["trade_data"]
    if name == "export-ban":
        banned = set(scen.ban.products) & set(res.tables.products["k"])
        assert banned, "the sample must carry some banned products"
        prod = res.tables.products.set_index("k")
        # shortfall is reported per product and only where the ban applies
        assert (prod.loc[sorted(set(prod.index) - banned), "shortfall_usd"].abs() < 1e-6).all()
    if name == "kr-3050":
        assert scen.solver.keep_going
        assert set(res.allocation.infeasible_products) <= set(res.tables.products["k"])  # reported, not dropped


def test_nl_concentration_report_ranks_products_by_hhi_from_the_flows(tmp_path):
    """The report's concentration table starts with a product of maximal HHI, recomputed here from flows.parquet."""
    from optimize.runs import single

    result = single.run("nl-concentration")
    out = result.write(tmp_path / "nl", figures=False)
    md = (out / "summary.md").read_text()
    assert "## Concentration of imports per product" in md
    flows = pd.read_parquet(out / "flows.parquet")
    shares = flows["before_usd"] / flows.groupby("k")["before_usd"].transform("sum")
    hhi = (shares ** 2).groupby(flows["k"]).sum()
    top = set(hhi[hhi >= hhi.max() - 1e-12].index)
    section = md.split("## Concentration of imports per product")[1]
    first_row = [line for line in section.splitlines() if line.startswith("| 1 |")][0]
    assert first_row.split("|")[2].strip() in top


def test_kr_3050_report_counts_single_country_dependence(tmp_path):
    """Counts of products above 50% from one supplier, before, recomputed from flows.parquet."""
    from optimize.runs import single

    result = single.run("kr-3050")
    out = result.write(tmp_path / "kr", figures=False)
    md = (out / "summary.md").read_text()
    flows = pd.read_parquet(out / "flows.parquet")
    top_share = (flows["before_usd"] / flows.groupby("k")["before_usd"].transform("sum")).groupby(flows["k"]).max()
    n_before = int((top_share > 0.5).sum())
    assert f"| 50.0% | any | {n_before} |" in md
