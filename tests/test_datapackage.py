"""datapackage.json of run and batch folders: every table described, types that keep `010121`, files match schema."""
from __future__ import annotations

import json

import pandas as pd
import pytest

import optimize
from optimize.output.datapackage import PACKAGE_FILE, read_table, unit
from tests.corpus import NAME, base_rows, write_csv

_PD_TO_TS = {"b": "boolean", "i": "integer", "u": "integer", "f": "number", "O": "string"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run on a small BACI file whose product 010121 is written without its leading zero (10121)."""
    tmp = tmp_path_factory.mktemp("dp")
    rows = base_rows() + [["2023", r[1], r[2], "10121", r[4], r[5]] for r in base_rows() if r[3] == "850440"]
    src = write_csv(tmp / NAME, rows)
    out = tmp / "out"
    optimize.run(data=str(src), importer="DEU", products=["010121", "850440"], out_dir=out, figures=False,
                 eur_per_usd=0.9)
    return out


def test_every_table_is_a_resource_with_described_typed_fields(run_dir):
    pkg = json.loads((run_dir / PACKAGE_FILE).read_text())
    paths = {r["path"] for r in pkg["resources"]}
    written = {p.name for p in run_dir.iterdir() if p.suffix in (".csv", ".parquet")}
    assert paths == written
    assert len({r["name"] for r in pkg["resources"]}) == len(pkg["resources"])
    for csv in (p for p in written if p.endswith(".csv")):
        assert csv.replace(".csv", ".parquet") in written, f"{csv} has no Parquet twin"
    for res in pkg["resources"]:
        fields = res["schema"]["fields"]
        header = (pd.read_parquet(run_dir / res["path"]) if res["format"] == "parquet"
                  else pd.read_csv(run_dir / res["path"], nrows=0)).columns
        assert [f["name"] for f in fields] == list(header), res["path"]
        for f in fields:
            assert f["description"], f"{res['path']}:{f['name']} has no description"
            assert f["type"] in {"string", "integer", "number", "boolean"}
            if f["name"] in ("k", "iso3", "exporter", "top_supplier", "top_supplier_before", "top_supplier_after"):
                assert f["type"] == "string", (res["path"], f["name"])
            if f["name"].endswith(("_usd", "_eur")):
                assert f.get("unit") in ("USD", "EUR")


def test_parquet_types_match_the_schema(run_dir):
    pkg = json.loads((run_dir / PACKAGE_FILE).read_text())
    for res in (r for r in pkg["resources"] if r["format"] == "parquet"):
        df = pd.read_parquet(run_dir / res["path"])
        for f in res["schema"]["fields"]:
            assert _PD_TO_TS[df[f["name"]].dtype.kind] == f["type"], (res["path"], f["name"], df[f["name"]].dtype)


def test_reading_back_with_the_schema_keeps_leading_zeros(run_dir):
    naive = pd.read_csv(run_dir / "products.csv")
    assert 10121 in naive["k"].tolist()  # the pain the schema fixes
    typed = read_table(run_dir, "products.csv")
    assert "010121" in typed["k"].tolist()
    flows = read_table(run_dir, "flows.parquet")
    assert "010121" in flows["k"].tolist()
    pd.testing.assert_frame_equal(typed, read_table(run_dir, "products.parquet"), check_dtype=False,
                                  check_exact=False)


def test_units_follow_the_column_names():
    assert unit("before_usd") == "USD" and unit("change_pp") == "percentage points"
    assert unit("share_before_CHN") == "fraction 0..1" and unit("hhi_after") == "Herfindahl-Hirschman index 0..1"
    assert unit("k") is None and unit("n_products") is None


def test_batch_folder_has_a_datapackage(tmp_path):
    res = optimize.batch_run(out_dir=tmp_path / "b", importers=["NLD"], caps_pp=[5], workers=1)
    pkg = json.loads((tmp_path / "b" / PACKAGE_FILE).read_text())
    assert {r["path"] for r in pkg["resources"]} == {"batch.csv", "batch.parquet"}
    assert all(f["description"] for r in pkg["resources"] for f in r["schema"]["fields"])
    back = read_table(tmp_path / "b", "batch.csv")
    assert back["importer"].tolist() == res.table["importer"].tolist()


def test_each_beneficiaries_field_has_its_own_description():
    """rank, exporter, name and exporter_code all read 'rank by increase, ISO3, name, BACI code'."""
    from optimize.output.datapackage import describe
    texts = {c: describe("beneficiaries.csv", c) for c in ("rank", "exporter", "name", "exporter_code")}
    assert len(set(texts.values())) == 4 and "BACI code" in texts["exporter_code"] and "rank" in texts["rank"]
