"""A batch resolves each country token once (grid parsers or Grid), and the cells carry the codes.

The count is instrumented on the real resolver (``countries.resolve_countries``, wrapped, still
doing the work), not a mock: a batch that resolved its importers or risk sets again (in the
tasks, per cell or per risk set) makes the count exceed the number of distinct tokens.
"""
from __future__ import annotations

from collections import Counter

import pytest

import optimize.data.countries as countries
from optimize import api
from optimize.config.resolve import resolve
from optimize.config.scenario import load_scenario
from optimize.runs import grid as g


@pytest.fixture
def calls(monkeypatch):
    """Every token the real resolver is asked about, one entry per call (the call's tokens joined)."""
    seen: list[str] = []
    real = countries.resolve_countries

    def counted(tokens, table=None):
        seen.append(",".join(map(str, tokens)) if isinstance(tokens, (list, tuple)) else str(tokens))
        return real(tokens, table)

    monkeypatch.setattr(countries, "resolve_countries", counted)
    return seen


def test_batch_resolves_each_distinct_token_once(calls, tmp_path):
    # the base scenario names other countries, so its own spec's calls (features) are told apart
    scen = load_scenario("default", overrides=["importer.countries=[\"FRA\"]", "risk.countries=[\"IND\"]"])
    resolve(scen)
    base = Counter(calls)
    calls.clear()
    res = api.batch_run(scen, out_dir=tmp_path, importers="DEU,NLD,EU27,deu", caps_pp="1,5",
                        risk_sets="CHN;CHN,RUS;rus,usa", workers=1, quiet=True)
    grid_calls = Counter(calls) - base
    assert sorted(grid_calls) == ["CHN", "DEU", "EU27", "NLD", "RUS", "USA"]  # each distinct token ...
    assert set(grid_calls.values()) == {1}  # ... resolved once
    assert not Counter(calls) - grid_calls - base  # nothing else but the base scenario's spec (features)
    assert res.table["status"].eq("optimal").all() and len(res.computed) == 3 * 2 * 3  # deu = DEU


def test_cells_carry_the_codes_the_resolver_gives():
    grid = g.Grid(importers=("EU27", "DEU", "XXX"), years=(2023,), caps_pp=(1.0,), risk_sets=(("CHN", "G7"),))
    for cell in grid.cells():
        assert cell.risk_codes == tuple(sorted(set(countries.resolve_countries(["CHN", "G7"]))))
        if cell.importer == "XXX":
            assert cell.importer_codes == () and "unknown country 'XXX'" in cell.importer_error
        else:
            assert cell.importer_codes == tuple(countries.resolve_countries(cell.importer))
    expanded = g.expand_all(g.Grid(importers=(g.ALL_IMPORTERS,), years=(2023,), caps_pp=(1.0,)), [276, 251])
    assert {c.importer: c.importer_codes for c in expanded.cells()} == {"DEU": (276,), "FRA": (251,)}


@pytest.mark.parametrize("mode, caps", [({"per_cell": True}, "1,5"), ({"per_cell": True, "joint": True}, "5"),
                                        ({"per_cell": True, "full_outputs": True}, "1,5")])
def test_per_cell_batch_resolves_each_distinct_token_once(calls, tmp_path, mode, caps):
    # the per-cell path (every cell through the pipeline) uses the codes its cells carry, as the fast path does
    scen = load_scenario("default", overrides=["importer.countries=[\"FRA\"]", "risk.countries=[\"IND\"]"])
    resolve(scen)
    base = Counter(calls)
    calls.clear()
    res = api.batch_run(scen, out_dir=tmp_path, importers="DEU,NLD,deu", caps_pp=caps, risk_sets="CHN;RUS,usa",
                        workers=1, quiet=True, **mode)
    grid_calls = Counter(calls) - base
    assert sorted(grid_calls) == ["CHN", "DEU", "NLD", "RUS", "USA"]
    assert set(grid_calls.values()) == {1}
    assert not Counter(calls) - grid_calls - base
    assert res.table["status"].eq("optimal").all() and len(res.computed) == 2 * len(caps.split(",")) * 2
