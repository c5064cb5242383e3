"""Every output states the run's settings (summary.md, summary.json, xlsx summary sheet, figure titles)."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from optimize.output.settings import LABELS, run_settings, settings_caption


@pytest.fixture(scope="module")
def kr(tmp_path_factory):
    from optimize.api import run

    res = run("kr-3050", None, overrides=['alternatives.friends=["USA", "JPN", "DEU"]', "cap.exporter_pp.USA=3.0",
                                          'alternatives.spread="min-hhi"', "report.xlsx=true", "report.figures=false"])
    out = res.write(tmp_path_factory.mktemp("kr") / "run")
    return res, out


def test_summary_md_json_and_xlsx_state_every_setting(kr):
    _, out = kr
    md = (out / "summary.md").read_text()
    for needle in ("HS revision: HS22", "Cap: 5 pp of world-exports", "per exporter: USA 3", "friends only: DEU, JPN, USA",
                   "Spread: min-hhi", "Supplier-share limit: 50%", "Export ban: none", "Self-supply: excluded",
                   "Intra-bloc trade: include", "Risk countries: CHN",
                   "Cost: ces; sigma from the bundled ProTEE; new-supplier prior weight 0.1"):
        assert needle in md, needle
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["settings"]) == set(LABELS)
    sheet = pd.read_excel(out / "results.xlsx", sheet_name="summary")
    keys = set(sheet["key"])
    assert {f"setting: {k}" for k in LABELS} <= keys
    assert sheet.set_index("key").loc["setting: share_limit", "value"].startswith("50%")


def test_share_limit_run_lists_products_that_cannot_meet_it(kr):
    res, out = kr
    md = (out / "summary.md").read_text()
    assert "cannot meet the supplier-share limit of 50.0%" in md
    bad = list(res.allocation.infeasible_products)
    assert bad, "kr-3050 on the sample has products that cannot meet 50%"
    section = md.split("cannot meet the supplier-share limit", 1)[1].split("\n## ", 1)[0]
    assert all(f"| {k} |" in section for k in bad)


def test_figure_caption_names_importer_year_cap_and_conventions(kr):
    res, _ = kr
    cap = settings_caption(run_settings(res.meta))
    for needle in ("KOR", str(res.meta["year"]), "HS22", "cap 5 pp of world-exports", "risk CHN", "cap overrides",
                   "share limit 50%", "intra-bloc include", "self-supply excluded", "spread min-hhi"):
        assert needle in cap, needle


def test_ban_headline_gives_banned_replaced_and_shortfall(tmp_path):
    from optimize.api import run

    res = run("export-ban", None, overrides=["report.figures=false"])
    s = res.tables.summary
    assert s["banned_usd"] > 0
    assert s["replaced_usd"] + s["shortfall_usd"] == pytest.approx(s["banned_usd"], rel=1e-9)
    md = res.summary_md()
    assert set(s["banned_products"]) <= set(res.scenario.ban.products)  # those CHN exports to the EU27
    assert f"- Export ban on {len(s['banned_products'])} products with flows: banned imports USD" in md
    assert "Export ban: CHN stops exporting 10 products" in md
    # only banned products move: non-banned products keep every flow
    p = res.tables.products.set_index("k")
    others = sorted(set(p.index) - set(res.scenario.ban.products))
    assert (p.loc[others, "shifted_usd"] == 0).all()
    assert (p.loc[others, "residual_risk_usd"] == p.loc[others, "risk_before_usd"]).all()


@pytest.mark.parametrize(("section", "needle"), [
    ({"products": "85"}, "Basket: products 85 (among the data's codes)"),
    ({"file": "my_basket.csv", "products": ""}, "Basket: file my_basket.csv"),
    ({"sectors": ["ict", "crm"], "products": "", "file": ""}, "Basket: shipped critical goods, sectors ict, crm"),
])
def test_summary_states_the_product_selection(section, needle):
    """`run --products 85` analysed chapter 85 but no setting line said which products were chosen."""
    from optimize.output.settings import settings_lines
    meta = {"importer": "EU27", "year": 2023, "scenario_resolved": {"basket": section}}
    assert f"- {needle}" in settings_lines(run_settings(meta))


def test_ban_on_data_without_the_banned_flows_says_so(energy_parquet):
    """On the energy subset none of the banned products comes from CHN: the headline read 'Export ban on
    0 products with flows: banned imports USD 0; ... shortfall USD 0 (n/a)'."""
    from optimize.api import run

    res = run("export-ban", data=str(energy_parquet), figures=False)
    assert res.tables.summary["banned_products"] == []
    md = res.summary_md()
    assert "(n/a)" not in md and "Export ban on 0 products" not in md
    assert "none of the 10 banned products is imported from CHN" in md
