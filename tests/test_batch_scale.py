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
