"""Batch at scale: importer selectors, batched closed-form cells, the Parquet dataset, resume on content."""
from __future__ import annotations

import pytest

import optimize.runs.batch as b
from optimize.data.countries import EU27, country_table, resolve_countries, to_iso3
from optimize.errors import ScenarioError


def test_importer_selectors_all_groups_file(tmp_path):
    assert b.parse_importers("all") == (b.ALL_IMPORTERS,)
    assert b.parse_importers("ALL,deu") == (b.ALL_IMPORTERS, "DEU")
    assert b.parse_importers("EU27,G7") == ("EU27", "G7")  # groups stay one bloc each
    assert b.parse_importers("all-eu") == tuple(str(s) for s in to_iso3(EU27))
    f = tmp_path / "imps.txt"
    f.write_text("# mine\nusa\n\nG7  # bloc\n", encoding="utf-8")
    assert b.parse_importers(f"@{f}") == ("USA", "G7")
    with pytest.raises(ScenarioError):
        b.parse_importers("ALLL")


def test_expand_all_gives_single_countries_that_resolve_back():
    codes = sorted(country_table()["baci_code"].astype(int))[:60] + [999999]
    grid = b.Grid(importers=("EU27", b.ALL_IMPORTERS), years=(2023,), caps_pp=(1.0,))
    got = b.expand_all(grid, codes).importers
    assert got[0] == "EU27" and b.ALL_IMPORTERS not in got
    singles = got[1:]
    # every token names exactly one of the codes, each code at most once; the unknown code is left out
    resolved = [resolve_countries(t) for t in singles]
    assert all(len(r) == 1 for r in resolved)
    assert sorted(r[0] for r in resolved) == sorted(set(codes) - {999999})


# ------------------------------------------------------------------ batched closed form


import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from optimize.config.scenario import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("basis", ["world-exports", "importer-market", "rest-of-world"])
def test_batched_closed_form_equals_the_pipeline_per_cell(basis, tmp_path):
    """Oracle: every cell solved on its own by the pipeline (HiGHS + tie-break); overlapping blocs, a group
    risk set, an importer that is a risk country, an unknown importer, caps 0 and 100."""
    scen = load_scenario("default")
    grid = b.Grid(importers=("EU27", "DEU", "CHN", "USA", "VAT"), years=(2023,), caps_pp=(0.0, 2.5, 100.0),
                  cap_bases=(basis,), risk_sets=(("CHN", "RUS", "USA"), ("EU27",)))
    fast = b.run_batch(scen, grid, tmp_path / "fast", b.BatchOptions(workers=1, quiet=True))
    slow = b.run_batch(scen, grid, tmp_path / "slow", b.BatchOptions(workers=1, quiet=True, fast=False))
    ok = ~fast.table["status"].str.startswith("error")
    assert ok.sum() > 0 and (fast.table["status"].str.startswith("error") == slow.table["status"].str.startswith("error")).all()
    pd.testing.assert_frame_equal(fast.table.drop(columns="status"), slow.table.drop(columns="status"),
                                  check_exact=False, rtol=1e-9, atol=1e-12)


def test_dataset_is_hive_partitioned_and_tidy(tmp_path):
    import pyarrow.dataset as ds

    scen = load_scenario("default")
    grid = b.Grid(importers=("DEU", "NLD"), years=(2023,), caps_pp=(1.0, 2.0),
                  cap_bases=("world-exports", "rest-of-world"), risk_sets=(("CHN",),))
    res = b.run_batch(scen, grid, tmp_path, b.BatchOptions(workers=1, quiet=True))
    cells = ds.dataset(tmp_path / "dataset" / "cells", format="parquet", partitioning="hive").to_table().to_pandas()
    risk = ds.dataset(tmp_path / "dataset" / "risk", format="parquet", partitioning="hive").to_table().to_pandas()
    assert sorted(cells["cell_key"]) == sorted(c.key for c in grid.cells())
    assert set(cells["cap_basis"]) == {"world-exports", "rest-of-world"} and set(cells["year"]) == {2023}
    assert len(risk) == 2 * len(cells)  # CHN + ALL per cell
    all_rows = risk[risk["risk"] == "ALL"].set_index("cell_key")
    c = cells.set_index("cell_key")
    np.testing.assert_allclose(c.loc[all_rows.index, "share_after"], all_rows["share_after"], rtol=1e-15)
    np.testing.assert_allclose(c["risk_after_usd"] / c["basket_usd"], c["share_after"], rtol=1e-12)
    assert not (tmp_path / "cells").exists()  # per-cell folders only with full outputs
    assert len(res.table) == len(risk)


def test_importers_all_equals_the_floor_script(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import floor as floor_script
        import make_fullyear
    finally:
        sys.path.pop(0)
    paths = make_fullyear.generate(60_000, products=300, out_dir=tmp_path, formats=("csv.gz", "parquet"), quiet=True)
    pq_path = str(paths["parquet"])
    fl = floor_script.floor(pq_path, cap_pp=5.0)
    scen = load_scenario("default", overrides=[f"data.baci={json.dumps(pq_path)}", "basket.products=all"])
    grid = b.Grid(importers=b.parse_importers("all"), years=(2023,), caps_pp=(5.0,), risk_sets=(("CHN", "RUS", "USA"),))
    res = b.run_batch(scen, grid, tmp_path / "out", b.BatchOptions(workers=2, quiet=True))
    t = res.table
    assert t["status"].eq("optimal").all()
    t = t.assign(j=[r[0] for r in b.resolve_many(list(t["importer"]))])
    known = set(fl["j"]) & set(country_table()["baci_code"].astype(int))
    assert set(t["j"]) == known and len(known) > 100
    m = t.merge(fl, on=["j", "risk"], suffixes=("", "_floor"), validate="one_to_one")
    assert len(m) == len(t)
    for col in ("share_before", "share_after"):
        np.testing.assert_allclose(m[col], m[f"{col}_floor"], rtol=0, atol=1e-9)
    for col in ("before_usd", "after_usd", "shifted_usd"):
        np.testing.assert_allclose(m[col], m[f"{col}_floor"], rtol=1e-9)
