"""BACI releases: `data releases` and `data fetch --release latest` against a local http.server serving a
hand-written copy of CEPII's page (tests/fixtures/cepii_baci_page.html); mixed releases warn; the manifest
records release and HS revision."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

import optimize
from optimize.data.releases import mixed_releases_note, parse_releases
from tests.corpus import base_rows, write_csv
from tests.test_fetch import Server, make_zip

PAGE = (Path(__file__).parent / "fixtures" / "cepii_baci_page.html").read_bytes()


def test_parse_the_saved_page():
    rel = parse_releases(PAGE.decode(), "https://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37")
    assert [r.version for r in rel] == ["202501", "202401", "202301"]
    assert rel[0].hs == ("HS92", "HS96", "HS02", "HS07", "HS12", "HS17")  # this page offers no HS22 in 202501
    assert rel[1].hs == ("HS92", "HS22") and rel[2].hs == ("HS17",)
    assert rel[0].urls["HS17"] == "https://www.cepii.fr/DATA_DOWNLOAD/baci/data/BACI_HS17_V202501.zip"
    assert rel[2].urls["HS17"] == "https://www.cepii.fr/CEPII/en/bdd_modele/archive/BACI_HS17_V202301.zip"


def test_cli_releases_and_fetch_latest(cli_main, tmp_path):
    zips = {"BACI_HS22_V202401.zip": make_zip(5_000), "BACI_HS17_V202501.zip": make_zip(6_000)}
    with Server({"baci.html": PAGE, **zips}) as srv:
        page = srv.url + "/baci.html"
        r = CliRunner().invoke(cli_main, ["data", "releases", "--page-url", page])
        assert r.exit_code == 0, r.output
        assert r.output.splitlines() == ["202501  HS92 HS96 HS02 HS07 HS12 HS17", "202401  HS92 HS22", "202301  HS17"]
        for hs, want in (("HS22", "BACI_HS22_V202401.zip"), ("HS17", "BACI_HS17_V202501.zip")):
            r = CliRunner().invoke(cli_main, ["data", "fetch", "--hs", hs, "--release", "latest", "--page-url", page,
                                              "--base-url", srv.url, "--cache-dir", str(tmp_path), "--quiet"])
            assert r.exit_code == 0, r.output
            assert (tmp_path / want).read_bytes() == zips[want]
        r = CliRunner().invoke(cli_main, ["data", "fetch", "--hs", "HS96", "--release", "latest", "--page-url",
                                          page, "--base-url", srv.url, "--cache-dir", str(tmp_path)])
        assert r.exit_code == 2 and "BACI_HS96_V202501.zip" in r.output  # latest for HS96 is 202501; not served
        r = CliRunner().invoke(cli_main, ["data", "releases", "--page-url", srv.url + "/missing.html"])
        assert r.exit_code == 2 and "cannot read the BACI page" in r.output


def test_mixed_releases_warn(tmp_path):
    assert mixed_releases_note(["BACI_HS22_Y2022_V202501.csv", "BACI_HS22_Y2023_V202501.csv"]) is None
    note = mixed_releases_note(["BACI_HS22_Y2022_V202401.csv", "BACI_HS22_Y2023_V202501.csv"])
    assert "V202401" in note and "V202501" in note
    assert "HS17" in mixed_releases_note(["BACI_HS17_Y2022_V202501.csv", "BACI_HS22_Y2023_V202501.csv"])
    folder = tmp_path / "mixed"
    folder.mkdir()
    rows = base_rows()
    write_csv(folder / "BACI_HS22_Y2023_V202501.csv", rows)
    write_csv(folder / "BACI_HS22_Y2022_V202401.csv", [["2022", *r[1:]] for r in rows])
    with pytest.warns(UserWarning, match="mix releases V202401, V202501"):
        td = optimize.load_trade(folder, cache=False)
    assert any("mix releases" in n for n in td.notes)
    single = tmp_path / "one"
    single.mkdir()
    write_csv(single / "BACI_HS22_Y2023_V202501.csv", rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimize.load_trade(single, cache=False)


def test_manifest_records_release_and_revision(tmp_path):
    src = write_csv(tmp_path / "BACI_HS22_Y2023_V202501.csv", base_rows())
    res = optimize.run(data=str(src), importer="DEU", figures=False, out_dir=tmp_path / "out")
    man = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert man["data"]["release"] == "V202501" and man["data"]["hs_revision"] == "HS22"
    assert man["versions"]["tradeopt"] == optimize.__version__
    assert res.meta["release"] == "V202501"


def test_a_folder_holding_one_file_in_two_formats_is_refused_by_name(tmp_path):
    """A folder with BACI_..._Y2023.csv.gz and its parquet copy (as /work/shared/data/baci_flows) was read
    twice and refused as 62,926 'duplicate (year, exporter, importer, product) key' rows."""
    from optimize.errors import DataError
    rows = base_rows()
    write_csv(tmp_path / "BACI_HS22_Y2023_V202501.csv", rows)
    optimize.load_trade(tmp_path / "BACI_HS22_Y2023_V202501.csv", cache=False).flows.to_parquet(
        tmp_path / "BACI_HS22_Y2023_V202501.parquet")
    with pytest.raises(DataError, match="BACI_HS22_Y2023_V202501.csv and BACI_HS22_Y2023_V202501.parquet") as exc:
        optimize.load_trade(tmp_path, cache=False)
    assert "duplicate" not in str(exc.value) and "keep one" in exc.value.fix


def test_a_folder_holding_one_year_in_two_files_is_refused_by_name(tmp_path):
    """Two releases' files of one year in a folder (V202401 and V202501) were read together and refused as
    every row a 'duplicate key', naming the folder and row numbers past the first file's end."""
    from optimize.errors import DataError
    rows = base_rows()
    write_csv(tmp_path / "BACI_HS22_Y2023_V202401.csv", rows)
    write_csv(tmp_path / "BACI_HS22_Y2023_V202501.csv", rows)
    with pytest.raises(DataError, match="BACI_HS22_Y2023_V202401.csv and BACI_HS22_Y2023_V202501.csv") as exc:
        optimize.load_trade(tmp_path, cache=False)
    assert "duplicate" not in str(exc.value) and "one file per year" in exc.value.fix
    assert exc.value.exit_code == 2
