"""The engine against an independent closed form (tests/oracle_conventions.py) on real BACI energy flows:
DEU with self-supply excluded, the EU27 with intra-bloc trade included and excluded, to 1e-9 relative."""
from __future__ import annotations

import pandas as pd
import pytest

from tests.oracle_conventions import exposure

pytestmark = pytest.mark.shared


@pytest.mark.parametrize("importer, mode", [("DEU", "include"), ("EU27", "include"), ("EU27", "exclude")])
def test_engine_matches_closed_form_on_real_data(energy_parquet, importer, mode):
    from optimize.api import run
    from optimize.data.countries import resolve_countries

    res = run("default", energy_parquet, overrides=[
        f'importer.countries=["{importer}"]', 'risk.countries=["CHN", "USA", "RUS"]', "cap.pp=5.0",
        'cap.basis="world-exports"', 'basket.products="all"', f'importer.intra_bloc="{mode}"',
        "report.figures=false"])
    flows = pd.read_parquet(energy_parquet)
    per, tot = exposure(flows, resolve_countries(importer), resolve_countries(["CHN", "USA", "RUS"]), pp=5.0,
                        intra_bloc=mode)
    got = res.tables.exposure.set_index("baci_code")
    for row in per.itertuples():
        for col in ("before_usd", "after_usd", "share_before", "share_after"):
            assert got.loc[row.baci_code, col] == pytest.approx(getattr(row, col), rel=1e-9, abs=1e-6), (col, row)
    s = res.tables.summary
    assert s["total_usd"] == pytest.approx(tot["total_usd"], rel=1e-9)
    assert s["shifted_usd"] == pytest.approx(tot["shifted_usd"], rel=1e-9)
    if importer == "DEU":  # the importer is never its own beneficiary
        assert "DEU" not in set(res.tables.beneficiaries["exporter"])
