"""Outputs meant for others (issue #23): bloc members among the beneficiaries, the export-ban headline,
the data package's sources and licences, xlsx formats. Hand-made tables; values kUSD in, USD out."""
from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
from test_metrics import CHN, COUNTRIES, DEU, JPN, NOR, PRODUCT_INFO, USA, make_allocation, make_instance
from test_report import META

from optimize.analysis.metrics import compute_tables
from optimize.output.plots import plot_beneficiaries
from optimize.output.report import render_summary_md
from optimize.output.runfiles import write_outputs
from optimize.output.settings import run_settings


def _tables(**kw):
    # product 000001: CHN 60 -> 30; DEU (a member of the importing bloc DEU+FRA) +10, NOR +20 (thousand USD x 1e3)
    inst, _ = make_instance([
        ("000001", CHN, 60e3, 0), ("000001", DEU, 30e3, 10e3), ("000001", NOR, 10e3, 20e3),
        ("000002", USA, 50e3, 0), ("000002", JPN, 50e3, 0),
    ])
    after = {CHN: 30e3, DEU: 40e3, NOR: 30e3, USA: 50e3, JPN: 50e3}
    x1 = np.array([after[int(e)] for e in inst.pair_exporter])
    return compute_tables(inst, make_allocation(inst, x1), PRODUCT_INFO, COUNTRIES, **kw)


@pytest.mark.parametrize("exclude", [False, True])
def test_bloc_members_marked_and_totals_split(exclude, tmp_path):
    t = _tables(exclude_members=exclude)
    meta = dict(META, scenario_resolved={"report": {"exclude_bloc_members": exclude}}, importer_iso3=["DEU", "FRA"])
    md = render_summary_md(t, meta)
    # members take 10,000 kUSD = USD 10 m of the 30 m shifted, non-members 20 m, whether listed or not
    assert "- Of which to bloc members: USD 10.00 m; to non-members: USD 20.00 m" in md
    assert f"report.exclude_bloc_members = {str(exclude).lower()}" in run_settings(meta)["bloc_members"]
    assert "Bloc members among beneficiaries:" in md
    rows = [ln for ln in md.splitlines() if ln.startswith("| 2 | Germany")]
    assert rows == [] if exclude else rows == ["| 2 | Germany | DEU | USD 10.00 m | yes | Energy | 15.0% | 20.0% |"]
    svg = plot_beneficiaries(t, tmp_path / "b")[1].read_text()
    assert ("<pattern" in svg) is (not exclude)  # members hatched (and in the legend) only when listed
    assert ("member of the importing bloc" in svg) is (not exclude)


def test_beneficiaries_csv_has_bloc_member(tmp_path):
    out = write_outputs(_tables(), META, tmp_path / "run", figures=False)
    rows = list(csv.reader((out / "beneficiaries.csv").read_text().splitlines()))
    assert rows[0][5] == "bloc_member" and rows[2][:2] == ["2", "DEU"]
    assert rows[2][5] == "true"
    s = json.loads((out / "summary.json").read_text())["totals"]
    assert (s["shifted_to_members_usd"], s["shifted_to_non_members_usd"]) == pytest.approx((1e7, 2e7))


# ---------------------------------------------------------------- export ban headline

@pytest.fixture(scope="module")
def ban_tables():
    """DEU imports (kUSD); CHN banned on 000001 and 000003. Cap 10 pp of DEU's imports of the product:
    000001 (CHN 100, NOR 50): NOR and JPN may add 15 each -> replaced 30, shortfall 70;
    000003 (CHN 10, no other exporter): shortfall 10, unfixable; 000002 (CHN 40, JPN 60): not banned, frozen."""
    import pandas as pd

    from optimize.model.engine import EngineOptions, reallocate
    from optimize.model.instance import CapRule, build_instance

    rows = [("000001", CHN, DEU, 100), ("000001", NOR, DEU, 50), ("000001", NOR, USA, 1000),
            ("000001", JPN, USA, 1000), ("000002", CHN, DEU, 40), ("000002", JPN, DEU, 60),
            ("000002", JPN, USA, 500), ("000003", CHN, DEU, 10)]
    flows = pd.DataFrame(rows, columns=["k", "i", "j", "v"]).assign(t=2023, q=np.nan)
    inst = build_instance(flows, importer="DEU", importer_codes=[DEU], year=2023, products=None,
                          risk_codes=[CHN], cap=CapRule(pp=10.0, basis="importer-market"),
                          ban={CHN: {"000001", "000003"}})
    (alloc,) = reallocate([inst], EngineOptions())
    return compute_tables(inst, alloc, PRODUCT_INFO, COUNTRIES)


def test_ban_totals_frozen_and_unfixable(ban_tables):
    s, p = ban_tables.summary, ban_tables.products.set_index("k")
    assert (s["banned_usd"], s["replaced_usd"], s["shortfall_usd"]) == pytest.approx((110e3, 30e3, 80e3))
    assert s["banned_products"] == ["000001", "000003"] and s["n_frozen"] == 1
    assert p["frozen"].tolist() == [False, True, False]
    assert p["unfixable"].tolist() == [False, False, True]  # only a banned product can be unfixable
    assert s["n_unfixable"] == 1 and p.loc["000002", "note"].startswith("frozen")


def test_ban_headline_json_md_and_figure(ban_tables, tmp_path):
    meta = dict(META, importer="DEU", risk_iso3=["CHN"], notes=["3 of 5 selected products have no flows in 2023"],
                scenario_resolved={"ban": {"country": "CHN", "products": ["000001", "000003", "999999"]}})
    out = write_outputs(ban_tables, meta, tmp_path / "ban")
    ban = json.loads((out / "summary.json").read_text())["ban"]
    assert ban == {"country": "CHN", "products": ["000001", "000003"], "banned_usd": pytest.approx(110e3),
                   "replaced_usd": pytest.approx(30e3), "shortfall_usd": pytest.approx(80e3), "n_frozen": 1}
    md = (out / "summary.md").read_text()
    assert ("- Export ban on 2 products with flows: banned imports USD 0.11 m; replaced by alternatives "
            "USD 30,000; shortfall (supply lost, not re-allocated) USD 80,000 (72.7%)") in md
    assert "the fall includes the shortfall of USD 80,000: lost supply, not re-allocation" in md
    assert ("- Banned products that cannot be fixed (no alternative headroom): 1; products where a cap binds: 1; "
            "frozen (not banned, kept at today's flows): 1") in md
    assert "- Note: 3 of 5 selected products have no flows in 2023" in md
    svg = (out / "figures" / "exposure.svg").read_text()
    assert "Export ban: banned imports" in svg and "shortfall" in svg


def test_no_ban_no_ban_block(tmp_path):
    out = write_outputs(_tables(), META, tmp_path / "run", figures=True)
    assert "ban" not in json.loads((out / "summary.json").read_text())
    md = (out / "summary.md").read_text()
    assert "Export ban on" not in md and "frozen" not in md
    assert "- Products that cannot be fixed (no alternative headroom): 1;" in md
    assert "Export ban" not in (out / "figures" / "exposure.svg").read_text()


# ---------------------------------------------------------------- publishable outputs (#23 item 8)

REAL = dict(META, hs_revision="HS22", release="V202501", synthetic=False,
            data_source="/somewhere/BACI_HS22_Y2023_V202501.csv")


def test_datapackage_sources_licenses_created_and_title(tmp_path):
    from datetime import datetime, timezone

    out = write_outputs(_tables(), REAL, tmp_path / "real", figures=False)
    pkg = json.loads((out / "datapackage.json").read_text())
    assert pkg["title"] == ("tradeopt scenario 'eu-critical': EU27 imports in 2023 away from CHN, USA, RUS "
                            "(cap 5 pp of world-exports)")
    assert pkg["name"] == "tradeopt-eu-critical-eu27-2023"
    data, tables = pkg["sources"]
    assert data["title"] == "CEPII BACI HS22, release V202501" and "bdd_modele_item.asp?id=37" in data["path"]
    assert data["description"].endswith("BACI_HS22_Y2023_V202501.csv") and "/somewhere" not in data["description"]
    assert "country codes" in tables["title"] and "HS22" in tables["title"]
    assert [lic["name"] for lic in pkg["licenses"]] == ["etalab-2.0"]
    created = datetime.fromisoformat(pkg["created"])
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 600


def test_datapackage_of_the_synthetic_sample_and_an_unknown_release(tmp_path):
    from optimize.output.datapackage import provenance

    synth = provenance(dict(META, synthetic=True, hs_revision="HS22"))
    assert "SYNTHETIC" in synth["sources"][0]["title"]
    assert [lic["name"] for lic in synth["licenses"]] == ["MIT", "etalab-2.0"]  # the sample; BACI's code tables
    unknown = provenance(dict(REAL, release=None))
    assert unknown["sources"][0]["title"] == "CEPII BACI HS22, release unknown"


def test_data_label_never_says_none():
    import pandas as pd

    from optimize.data.trade import TradeData

    flows = pd.DataFrame(columns=["t", "i", "j", "k", "v", "q"])
    assert TradeData(flows=flows, source="f.csv", hs_revision="HS22").label() == "f.csv (HS22)"
    assert TradeData(flows=flows, source="f.csv", hs_revision="HS22", release="V202501").label() == \
        "f.csv (HS22, V202501)"
    assert TradeData(flows=flows, source="f.csv").label() == "f.csv"


def test_xlsx_formats_filter_header_and_widths(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    out = write_outputs(_tables(), REAL, tmp_path / "x", figures=False, xlsx=True)
    wb = openpyxl.load_workbook(out / "results.xlsx")
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
    ws = wb["products"]
    fmt = {c.value: ws.cell(row=2, column=c.column).number_format for c in ws[1]}
    assert fmt["total_usd"] == "#,##0" and fmt["risk_share_before"] == "0.00%" and fmt["hhi_before"] == "0.000"
    assert fmt["k"] == "General" and ws.cell(row=2, column=1).value == "000001"  # codes stay text
    assert ws.column_dimensions["B"].width >= len("description")
    summary = {ws_row[0].value: ws_row[1] for ws_row in wb["summary"].iter_rows(min_row=2)}
    assert summary["shifted_usd"].number_format == "#,##0" and summary["risk_share_after"].number_format == "0.00%"


def test_progress_only_on_a_terminal_unless_forced(monkeypatch):
    import io
    import sys

    from click.testing import CliRunner

    from optimize import progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv(progress.ENV, raising=False)
    monkeypatch.delenv("TRADEOPT_QUIET", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress.progress_disabled() is True  # a log file
    monkeypatch.setattr(sys, "stderr", Tty())
    assert progress.progress_disabled() is False and progress.progress_disabled(quiet=True) is True
    import cli

    for flag, env, disabled in (("--no-progress", "0", True), ("--progress", "1", False)):
        monkeypatch.setenv(progress.ENV, "")
        assert CliRunner().invoke(cli.main, ["scenarios", flag]).exit_code == 0  # accepted after the command too
        assert os.environ[progress.ENV] == env and progress.progress_disabled() is disabled


def test_plurals():
    from optimize.vocab import plural

    assert (plural(1, "product"), plural(0, "product"), plural(2, "country", "countries")) == \
        ("1 product", "0 products", "2 countries")
    inst, _ = make_instance([("000001", CHN, 60, 0), ("000001", NOR, 10, 20)])
    md = render_summary_md(compute_tables(inst, make_allocation(inst, [50, 20]), PRODUCT_INFO, COUNTRIES), META)
    assert "year 2023; 1 product, basket imports" in md and "HHI rises for 0 of 1 product\n" in md


def test_screen_and_analysis_folders_carry_sources_and_licences(tmp_path):
    import pandas as pd

    from optimize.output.folder import write_folder

    settings = {"importer": "EU27", "years": [2022, 2023], "data_source": "/x/BACI_HS22_Y2023_V202501.csv (HS22)"}
    write_folder(tmp_path / "s", {"screen_single": pd.DataFrame({"k": ["850440"], "share": [0.6]})},
                 {"settings": settings}, title="screen-single")
    pkg = json.loads((tmp_path / "s" / "datapackage.json").read_text())
    assert pkg["title"] == "tradeopt screen-single: EU27 2022,2023" and "created" in pkg
    assert pkg["sources"][0]["description"] == "trade flows read from BACI_HS22_Y2023_V202501.csv (HS22)"
    assert [lic["name"] for lic in pkg["licenses"]] == ["etalab-2.0"]
    write_folder(tmp_path / "y", {"t": pd.DataFrame({"a": [1]})}, {}, title="cost", synthetic=True)
    assert [lic["name"] for lic in json.loads((tmp_path / "y" / "datapackage.json").read_text())["licenses"]] == \
        ["MIT", "etalab-2.0"]
