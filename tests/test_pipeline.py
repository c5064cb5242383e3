"""End-to-end pipeline on hand-made BACI tables: hand oracles, invariants, cell reuse, manifest."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimize.config.scenario import validate_scenario
from optimize.errors import InfeasibleError, ScenarioError
from optimize.output.manifest import build_manifest, file_sha256, versions
from optimize.runs.pipeline import prepare, solve_cell
from optimize.runs.single import run

pytest.importorskip("optimize.data.basket", reason="basket not available")

A, B = "250410", "850440"  # shipped-basket codes (crm, energy)
NLD, BRA = 528, 76
CHN, USA, RUS, DEU, JPN, KOR, NOR, GBR = 156, 842, 643, 276, 392, 410, 579, 826


def _flows(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["k", "i", "j", "v"])
    df["t"] = 2023
    df["q"] = np.nan
    return df[["t", "i", "j", "k", "v", "q"]]


def _docs_example() -> pd.DataFrame:
    """docs/model.md worked example: J = NLD; other destinations = BRA (kUSD)."""
    return _flows([
        (A, CHN, NLD, 60), (A, USA, NLD, 10), (A, DEU, NLD, 20), (A, JPN, NLD, 10),
        (A, DEU, BRA, 380), (A, JPN, BRA, 190), (A, KOR, BRA, 100),
        (B, RUS, NLD, 10), (B, NOR, NLD, 30), (B, GBR, NLD, 10), (B, NOR, BRA, 970), (B, GBR, BRA, 90),
    ])


def _scen(**sections):
    raw = {"name": "t", "importer": {"countries": ["NLD"]}}
    raw.update(sections)
    return validate_scenario(raw)


def test_docs_worked_example_end_to_end():
    res = run(_scen(), _docs_example())
    s = res.tables.summary
    # hand computation in docs/model.md: risk 80 -> 35 kUSD of 150, shifted 45 kUSD
    assert s["total_usd"] == pytest.approx(150_000)
    assert s["risk_before_usd"] == pytest.approx(80_000)
    assert s["risk_after_usd"] == pytest.approx(35_000, rel=1e-9)
    assert s["shifted_usd"] == pytest.approx(45_000, rel=1e-9)
    ex = res.tables.exposure.set_index("iso3")
    # proportional split: China 60 -> 30, USA 10 -> 5, Russia 10 -> 0 (kUSD)
    assert ex.loc["CHN", "after_usd"] == pytest.approx(30_000, rel=1e-9)
    assert ex.loc["USA", "after_usd"] == pytest.approx(5_000, rel=1e-9)
    assert ex.loc["RUS", "after_usd"] == pytest.approx(0, abs=1e-6)
    m = res.meta
    assert m["importer"] == "NLD" and m["year"] == 2023 and m["synthetic"] is False
    assert m["risk_iso3"] == ["CHN", "RUS", "USA"]
    assert m["cap_pp"] == 5.0 and m["cap_basis"] == "world-exports" and m["backend"] == "highs"
    assert m["scenario_resolved"]["cap"]["basis"] == "world-exports"
    assert set(m["versions"]) >= {"tradeopt", "highspy", "pyomo", "pandas", "numpy", "pyarrow"}


def test_cells_reuse_one_prepared_and_match_fresh_runs():
    prep = prepare(_scen(), _docs_example())
    for cap_pp, risk in [(0.0, None), (2.5, ["CHN"]), (100.0, ["CHN", "RUS"])]:
        cell = solve_cell(prep, cap_pp=cap_pp, risk=risk)
        sections = {"cap": {"pp": cap_pp}}
        if risk:
            sections["risk"] = {"countries": risk}
        fresh = run(_scen(**sections), _docs_example())
        assert cell.tables.summary["risk_after_usd"] == pytest.approx(fresh.tables.summary["risk_after_usd"])
        assert np.allclose(cell.allocation.x_after_kusd, fresh.allocation.x_after_kusd)
        assert cell.scenario.cap.pp == cap_pp
    # cap 0: nothing can move
    zero = solve_cell(prep, cap_pp=0)
    assert zero.tables.summary["shifted_usd"] == pytest.approx(0, abs=1e-6)
    assert zero.tables.summary["risk_after_usd"] == pytest.approx(80_000)
    # the prepared scenario is unchanged by the cells
    assert prep.scenario.cap.pp == 5.0


def test_cell_parameters_are_validated():
    prep = prepare(_scen(), _docs_example())
    with pytest.raises(ScenarioError) as info:
        solve_cell(prep, cap_pp=300)
    assert info.value.field == "cap.pp"
    with pytest.raises(ScenarioError) as info:
        solve_cell(prep, importer="ATLANTIS")
    assert info.value.field == "importer.countries"
    with pytest.raises(ScenarioError, match="unknown scenario keyword"):
        solve_cell(prep, cap_ppp=3)


def test_missing_year_names_the_key():
    with pytest.raises(ScenarioError) as info:
        prepare(_scen(data={"year": 2019}), _docs_example())
    assert info.value.field == "data.year" and "2023" in str(info.value)


def test_share_limit_infeasible_unless_keep_going():
    # product B: Norway already holds 30/50 = 60% > 50% and cannot fall -> infeasible at 0.5
    scen = _scen(risk={"countries": ["CHN"]}, cap={"share_limit": 0.5})
    with pytest.raises(InfeasibleError):
        run(scen, _docs_example())
    res = run(_scen(risk={"countries": ["CHN"]}, cap={"share_limit": 0.5}, solver={"keep_going": True}),
              _docs_example())
    assert res.allocation.infeasible_products == [B]  # reported, not dropped
    assert B in set(res.tables.products["k"])


def test_products_selection_and_all():
    df = _docs_example()
    only_a = run(_scen(basket={"products": [A]}), df)
    assert list(only_a.instance.products) == [A]
    # product A alone: risk 70 -> 35 kUSD
    assert only_a.tables.summary["risk_after_usd"] == pytest.approx(35_000)
    chapter = run(_scen(basket={"products": "85"}), df)
    assert list(chapter.instance.products) == [B]
    everything = run(_scen(basket={"products": "all"}), df)
    assert list(everything.instance.products) == [A, B]
    # sector labels come from the shipped basket even for a code selection
    info = everything.tables.products.set_index("k")
    assert info.loc[A, "sector"] == "crm" and info.loc[B, "sector"] == "energy"


# ---- property: the pipeline's risk after equals the closed form computed here by hand


@st.composite
def _tables(draw):
    n_prod = draw(st.integers(1, 3))
    codes = [A, B, "300490"][:n_prod]
    rows = []
    for k in codes:
        for r in draw(st.lists(st.sampled_from([CHN, USA]), min_size=1, max_size=2, unique=True)):
            rows.append((k, r, NLD, draw(st.integers(1, 500))))
        for a in draw(st.lists(st.sampled_from([DEU, JPN, KOR]), max_size=3, unique=True)):
            to_j = draw(st.integers(0, 300))
            if to_j:
                rows.append((k, a, NLD, to_j))
            rows.append((k, a, BRA, draw(st.integers(1, 2000))))
    return _flows(rows)


def _closed_form_risk_after_kusd(df: pd.DataFrame, pp: float) -> float:
    """sum_k max(0, R_k - C_k) with C_k = sum_a min(pp% W_ka, O_ka) (world-exports basis)."""
    risk = df["i"].isin([CHN, USA])
    to_j = df["j"] == NLD
    r_k = df[risk & to_j].groupby("k")["v"].sum()
    alt = df[~risk]
    w = alt.groupby(["k", "i"])["v"].sum()
    o = alt[alt["j"] != NLD].groupby(["k", "i"])["v"].sum().reindex(w.index, fill_value=0)
    c_k = np.minimum(pp / 100 * w, o).groupby(level="k").sum().reindex(r_k.index, fill_value=0)
    return float(np.maximum(r_k - c_k, 0).sum())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=_tables(), pp=st.sampled_from([0.0, 1.0, 5.0, 20.0, 100.0]))
def test_risk_after_matches_closed_form(df, pp):
    res = run(_scen(risk={"countries": ["CHN", "USA"]}, cap={"pp": pp}), df)
    s = res.tables.summary
    expected_usd = 1000 * _closed_form_risk_after_kusd(df, pp)
    assert s["risk_after_usd"] == pytest.approx(expected_usd, rel=1e-7, abs=1e-3)
    assert s["total_after_usd"] == pytest.approx(s["total_usd"])  # totals kept
    assert s["risk_after_usd"] <= s["risk_before_usd"] + 1e-6


# ---- manifest


def test_manifest_hashes_versions_and_resolved_scenario(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOPT_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "flows.csv"
    _docs_example().to_csv(path, index=False)
    res = run(_scen(), str(path))
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert res.meta["input_hashes"]["trade_data"] == expected == file_sha256(path)
    man = res.manifest()
    json.dumps(man)  # JSON-ready
    assert man["inputs"]["trade_data"] == expected
    assert man["scenario"]["importer"]["countries"] == ["NLD"]
    assert man["versions"]["numpy"] == np.__version__ and man["versions"]["pandas"] == pd.__version__


def test_build_manifest_is_plain_json():
    man = build_manifest({"a": (1, 2)}, inputs={"z": None, "a": "00"}, meta={"s": {3, 1}, "x": np.float64(2.5)})
    text = json.dumps(man)
    assert list(man["inputs"]) == ["a", "z"]
    assert man["run"] == {"s": [1, 3], "x": 2.5}
    assert "highspy" in versions() and json.loads(text)["scenario"] == {"a": [1, 2]}


def test_versions_are_the_installed_distributions():
    """Imported packages answer with their ``__version__``: the same text as their installed metadata."""
    from importlib import metadata

    from optimize.output.manifest import VERSIONED

    got = versions()
    for dist in VERSIONED[1:]:
        try:
            assert got[dist] == metadata.version(dist), dist
        except metadata.PackageNotFoundError:
            assert got[dist] == "absent"
