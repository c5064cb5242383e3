"""Bands: the band arithmetic by hand, and a real run with bands against the runs at each cap."""
from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from optimize import api
from optimize.analysis.bands import band_block, band_table


def _head(exp_chn, shifted, hhi, cost, lo, hi):
    return {"exposure_after": {"CHN": exp_chn, "ALL": exp_chn}, "shifted_usd": {"": shifted},
            "hhi_after": {"": hhi}, "cost_usd": {"": cost}, "cost_low_usd": lo, "cost_high_usd": hi}


def test_band_table_by_hand():
    central = _head(0.20, 100.0, 0.30, 10.0, 6.0, 15.0)
    t = band_table(central, [_head(0.25, 60.0, 0.32, 7.0, 5.0, 9.0), _head(0.12, 180.0, 0.27, 18.0, 11.0, np.inf)])
    row = t.set_index(["measure", "risk"])
    assert row.loc[("exposure_after", "CHN")].tolist() == [0.12, 0.20, 0.25]
    assert row.loc[("shifted_usd", "")].tolist() == [60.0, 100.0, 180.0]
    assert row.loc[("cost_usd", ""), "low"] == 5.0 and row.loc[("cost_usd", ""), "central"] == 10.0
    assert np.isnan(row.loc[("cost_usd", ""), "high"])  # one run has no finite upper bound
    block = band_block(t, [2.5, 5, 10], [0.2, 0.1, 0.05])
    assert block["exposure_after"]["CHN"] == {"low": 0.12, "central": 0.20, "high": 0.25}
    assert block["cost_usd"]["high"] is None and block["varied"]["caps_pp"] == [2.5, 5.0, 10.0]


def test_real_energy_bands_bracket_and_match_the_cap_runs(energy_parquet, tmp_path):
    kw = {"importer": "EU27", "products": "all"}
    t0 = time.perf_counter()
    plain = api.run(None, energy_parquet, cap_pp=5, **kw)
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = api.run(None, energy_parquet, cap_pp=5, bands=True, out_dir=tmp_path / "o", **kw)
    t_bands = time.perf_counter() - t0
    assert t_bands > 0 and t_plain > 0  # timings reported in docs/cost.md, not asserted (shared CI machines)
    lo10 = api.run(None, energy_parquet, cap_pp=10, **kw).tables
    hi25 = api.run(None, energy_parquet, cap_pp=2.5, **kw).tables
    block = res.tables.bands_block
    for iso in ("CHN", "RUS", "USA", "ALL"):
        b = block["exposure_after"][iso]
        share = {name: t.exposure.set_index("iso3").loc[iso, "share_after"]
                 for name, t in (("lo", lo10), ("mid", plain.tables), ("hi", hi25))}
        assert b["low"] == pytest.approx(share["lo"]) and b["high"] == pytest.approx(share["hi"])
        assert b["central"] == pytest.approx(share["mid"])
    c = block["cost_usd"]
    assert c["low"] <= c["central"] <= c["high"]
    assert c["central"] == pytest.approx(plain.tables.cost["total_usd"])
    assert c["high"] >= lo10.cost["high_usd"] - 1e-6 and c["low"] <= hi25.cost["low_usd"] + 1e-6
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["bands"]["cost_usd"]["central"] == pytest.approx(c["central"])
    assert (tmp_path / "o" / "figures" / "bands.png").is_file()
    csv = pd.read_csv(tmp_path / "o" / "bands.csv", keep_default_na=False)
    assert set(csv["measure"]) == {"exposure_after", "shifted_usd", "hhi_after", "cost_usd"}
    assert "Bands over caps 2.5, 5, 10 pp" in (tmp_path / "o" / "summary.md").read_text()
