"""Report writers: content of summary.json/md, EUR only with a rate, atomic replacement, preflight."""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from test_metrics import CHN, COUNTRIES, DEU, JPN, NOR, PRODUCT_INFO, USA, make_allocation, make_instance

from optimize.analysis.metrics import compute_tables
from optimize.atomic import atomic_dir, atomic_write_text, check_writable
from optimize.data.trade import SYNTHETIC_LABEL
from optimize.errors import OutputError
from optimize.output.report import render_summary_md, with_eur
from optimize.output.runfiles import write_outputs

META = {"scenario": "eu-critical", "importer": "EU27", "year": 2023, "data_source": "hand-made test table",
        "synthetic": False, "risk_iso3": ["CHN", "USA", "RUS"], "cap_pp": 5.0, "cap_basis": "world-exports",
        "solver": {"backend": "highs", "status": "optimal", "algorithm": "dual simplex", "iterations": 7,
                   "build_s": 0.01, "solve_s": 0.02},
        "scenario_resolved": {"cap": {"pp": 5.0}, "importer": "EU27"}}


@pytest.fixture(scope="module")
def tables():
    # same hand case as test_metrics: CHN 60 -> 30 in product 000001, product 000002 unfixable; values kUSD
    inst, df = make_instance([
        ("000001", CHN, 60e3, 0), ("000001", DEU, 30e3, 10e3), ("000001", NOR, 10e3, 20e3),
        ("000002", USA, 50e3, 0), ("000002", JPN, 50e3, 0),
    ])
    after = {CHN: 30e3, DEU: 40e3, NOR: 30e3, USA: 50e3, JPN: 50e3}
    x1 = np.array([after[int(e)] for e in inst.pair_exporter])
    return compute_tables(inst, make_allocation(inst, x1), PRODUCT_INFO, COUNTRIES)


def listing(path):
    return sorted(p.name for p in path.iterdir())


def test_outputs_and_summary_json(tables, tmp_path):
    out = write_outputs(tables, META, tmp_path / "run", figures=False)
    names = listing(out)
    for f in ("summary.json", "summary.md", "flows.parquet", "products.csv", "beneficiaries.csv", "exposure.csv",
              "by_sector.csv", "by_stage.csv", "concentration.csv", "scenario.resolved.json"):
        assert f in names
    s = json.loads((out / "summary.json").read_text())
    # hand numbers: basket 200,000 kUSD = 2e8 USD; CHN 30% -> 15%; shifted 30,000 kUSD = 3e7 USD
    assert s["exposure"]["CHN"]["before"] == pytest.approx(0.30)
    assert s["exposure"]["CHN"]["after"] == pytest.approx(0.15)
    assert s["exposure"]["CHN"]["after_usd"] == pytest.approx(3e7)
    assert s["shifted_usd"] == pytest.approx(3e7)
    assert s["hhi"]["before"] == pytest.approx(0.48)
    assert s["units"]["values"].startswith("USD")
    assert s["importer"] == "EU27" and s["solver"]["algorithm"] == "dual simplex"
    assert not any("eur" in k for k in s) and "eur" not in json.dumps(s["totals"])
    flows = pd.read_parquet(out / "flows.parquet")
    assert flows["k"].map(len).eq(6).all()
    assert not [c for c in flows.columns if c.endswith("_eur")]
    products = pd.read_csv(out / "products.csv", dtype={"k": str})
    assert products["k"].tolist() == ["000001", "000002"]


def test_eur_only_with_rate(tables, tmp_path):
    out = write_outputs(tables, META, tmp_path / "eur", eur_per_usd=0.9, figures=False)
    s = json.loads((out / "summary.json").read_text())
    assert s["eur_per_usd"] == 0.9
    assert s["shifted_eur"] == pytest.approx(3e7 * 0.9)
    assert s["exposure"]["CHN"]["before_eur"] == pytest.approx(6e7 * 0.9)
    ben = pd.read_csv(out / "beneficiaries.csv")
    assert ben["increase_eur"].tolist() == pytest.approx([2e7 * 0.9, 1e7 * 0.9])  # NOR, then bloc member DEU
    md = (out / "summary.md").read_text()
    assert "EUR" in md and "0.9 EUR per USD" in md
    assert "EUR" not in render_summary_md(tables, META)
    assert list(with_eur(pd.DataFrame({"a_usd": [1.0], "b": [2]}), 2.0).columns) == ["a_usd", "a_eur", "b"]


def test_summary_md_content(tables):
    md = render_summary_md(tables, dict(META, synthetic=True), figures=["figures/exposure.png"])
    assert SYNTHETIC_LABEL in md.splitlines()[2]  # the banner right after the title
    assert "Dependence on China (CHN): 30.0% -> 15.0% of basket imports" in md
    assert "USD 30.00 m" in md  # value shifted
    assert "0.480 -> 0.420" in md  # HHI before -> after
    assert "| 000002 | Pills | Health |" in md  # unfixable product listed, sector by its readable name
    assert "dual simplex" in md and "7 iterations" in md
    assert "![exposure](figures/exposure.png)" in md
    assert SYNTHETIC_LABEL not in render_summary_md(tables, META)


def test_replace_existing_and_figures_and_xlsx(tables, tmp_path):
    target = tmp_path / "run"
    write_outputs(tables, META, target, figures=False, extra_text={"stale.txt": "old"})  # an earlier run's file
    write_outputs(tables, dict(META, synthetic=True), target, xlsx=True, figures=True)
    names = listing(target)
    assert "stale.txt" not in names and "results.xlsx" in names
    assert sorted(p.name for p in (target / "figures").iterdir())[:2] == ["beneficiaries.png", "beneficiaries.svg"]
    assert listing(tmp_path) == ["run"]  # no temp or old folders left beside it
    from openpyxl import load_workbook

    wb = load_workbook(target / "results.xlsx")
    assert {"summary", "exposure", "flows", "products", "beneficiaries"} <= set(wb.sheetnames)
    ws = wb["exposure"]
    assert ws["A1"].font.bold and ws["A1"].value == "iso3"
    assert ws.column_dimensions["B"].width >= len("All risk countries")


def test_failure_mid_write_leaves_out_dir_untouched(tables, tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    (target / "keep.txt").write_text("previous run")
    bad_flows = tables.flows.assign(exporter=[1, "x", 2.5, None, object()])  # pyarrow cannot serialise this
    bad = type(tables)(**{**tables.__dict__, "flows": bad_flows})
    with pytest.raises((TypeError, ValueError, OutputError)):
        write_outputs(bad, META, target, figures=False)
    assert listing(target) == ["keep.txt"] and (target / "keep.txt").read_text() == "previous run"
    assert listing(tmp_path) == ["run"]
    fresh = tmp_path / "fresh"
    with pytest.raises((TypeError, ValueError, OutputError)):
        write_outputs(bad, META, fresh, figures=False)
    assert not fresh.exists() and listing(tmp_path) == ["run"]


def test_atomic_helpers(tmp_path):
    p = atomic_write_text(tmp_path / "a" / "x.txt", "hello")
    assert p.read_text() == "hello" and listing(p.parent) == ["x.txt"]
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "d") as d:
            (d / "f").write_text("1")
            raise RuntimeError("boom")
    assert listing(tmp_path) == ["a"]


def test_check_writable(tmp_path):
    assert check_writable(tmp_path / "new" / "out") == (tmp_path / "new" / "out").absolute()
    assert not (tmp_path / "new" / "out").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        check_writable(tmp_path / "file")
    with pytest.raises(OutputError, match="cannot create"):
        check_writable(tmp_path / "file" / "sub" / "out")
    with pytest.raises(OutputError, match="MB free"):
        check_writable(tmp_path / "out", min_free_mb=1e15)
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(OutputError, match="cannot write"):
                check_writable(ro / "out")
        finally:
            ro.chmod(0o700)


def test_csv_shows_kept_totals_without_round_off(tmp_path):
    """Totals are kept by the model; the CSV shows them equal, digit for digit (float round-off in the sums
    of the after-flows once printed 23945085858.999992 beside 23945085859). The Parquet twin keeps full
    precision, equal within round-off."""
    import optimize

    out = optimize.run().write(tmp_path / "run", figures=False)
    text = pd.read_csv(out / "products.csv", dtype=str)
    assert (text["total_usd"] == text["total_after_usd"]).all()
    exact = pd.read_parquet(out / "products.parquet")
    np.testing.assert_allclose(exact["total_after_usd"], exact["total_usd"], rtol=1e-12)
    assert np.allclose(text["total_usd"].astype(float), exact["total_usd"], rtol=1e-13, atol=0)


def test_headline_names_a_country_once_when_its_name_is_its_code(tables):
    """CEPII's table names 842 'USA': the headline says 'USA', not 'USA (USA)' (as the figures do)."""
    renamed = tables.exposure.assign(name=tables.exposure["name"].where(tables.exposure["iso3"] != "USA", "USA"))
    md = render_summary_md(type(tables)(**{**vars(tables), "exposure": renamed}), META)
    assert "- Dependence on USA: " in md and "USA (USA)" not in md
    assert "Dependence on China (CHN)" in md
