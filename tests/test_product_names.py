"""Product names on real data for every HS revision: the release's own table (beside the file or in
the zip), else the bundled CEPII tables (data/baci/product_codes_HS??_V*.csv)."""
from __future__ import annotations

import csv

import pandas as pd
import pytest

from optimize.data.products import BUNDLED_REVISIONS, product_table
from optimize.resources import data_dir


def _cepii(path) -> dict[str, str]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = {row["code"].zfill(6): row["description"].strip() for row in csv.DictReader(fh)}
    return {k: v for k, v in rows.items() if k.isdigit()}  # legacy placeholders such as 9999AA carry no flows


@pytest.mark.parametrize("hs", BUNDLED_REVISIONS)
def test_bundled_table_for_every_revision(hs):
    (path,) = sorted(data_dir().glob(f"product_codes_{hs}_V*.csv"))
    expected = _cepii(path)
    table = product_table(hs)
    assert len(table) == len(expected) > 5000
    assert dict(zip(table["k"], table["description"], strict=False)) == expected
    assert (table["description"] != "").all()


def _tiny_flows(tmp_path, name):
    rows = [(2023, 156, 276, "284410", 10.0, 1.0), (2023, 842, 276, "284410", 5.0, 1.0),
            (2023, 842, 251, "284410", 50.0, 1.0), (2023, 251, 276, "271600", 8.0, 1.0),
            (2023, 156, 276, "271600", 3.0, 1.0), (2023, 251, 380, "271600", 80.0, 1.0)]
    path = tmp_path / name
    pd.DataFrame(rows, columns=["t", "i", "j", "k", "v", "q"]).to_csv(path, index=False)
    return path


def test_table_beside_the_file_wins(tmp_path):
    from optimize.data.baci import read_baci

    path = _tiny_flows(tmp_path, "BACI_HS17_Y2023_V202401.csv")
    (tmp_path / "product_codes_HS17_V202401.csv").write_text(
        'code,description\n284410,"release name of 284410"\n271600,"release name of 271600"\n', encoding="utf-8")
    (tmp_path / "product_codes_HS22_V202501.csv").write_text('code,description\n284410,"wrong revision"\n',
                                                              encoding="utf-8")
    td = read_baci(path, cache=False)
    assert dict(zip(td.product_table["k"], td.product_table["description"], strict=False))["284410"] == "release name of 284410"


def test_hs17_run_without_a_table_uses_the_bundled_one(tmp_path):
    from optimize.api import run

    path = _tiny_flows(tmp_path, "BACI_HS17_Y2023_V202401.csv")
    res = run("default", path, overrides=['importer.countries=["DEU"]', 'risk.countries=["CHN"]',
                                          'basket.products=["284410", "271600"]', "report.figures=false"])
    (hs17,) = sorted(data_dir().glob("product_codes_HS17_V*.csv"))
    expected = _cepii(hs17)
    got = res.tables.products.set_index("k")["description"].to_dict()
    assert got == {k: expected[k] for k in ("271600", "284410")}


def test_every_real_energy_product_has_a_name(energy_parquet):
    from optimize.api import run

    res = run("default", energy_parquet, overrides=['importer.countries=["DEU"]', 'basket.products="all"',
                                                    "report.figures=false"])
    desc = res.tables.products["description"]
    assert len(desc) > 20 and (desc.str.len() > 0).all()
