"""Input files named on the command line or to the API: a FIFO (or device, folder) is reported as not a regular
file, not "not found" and never opened (it would block); an importer list with a UTF-8 BOM reads as without it."""
from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from optimize import api
from optimize.errors import ScenarioError
from optimize.runs.grid import parse_importers

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")


def test_fifo_as_scenario_is_not_a_regular_file(tmp_path, cli_main, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("fifo", "fifo.toml"):
        os.mkfifo(name)
        with pytest.raises(ScenarioError, match=r"is not a regular file") as err:
            api.load_scenario(name)  # used to say "not found" (or "no scenario named 'fifo'")
        assert err.value.file == name
        res = CliRunner().invoke(cli_main, ["run", "--scenario", name, "--out", "o"])
        assert res.exit_code == 2 and "is not a regular file" in res.output
    assert not (tmp_path / "o").exists()


def test_fifo_as_importer_list_is_not_a_regular_file(tmp_path, cli_main):
    fifo = tmp_path / "imps"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match=r"importer list file .* is not a regular file"):
        parse_importers(f"@{fifo}")  # used to say "not found"
    res = CliRunner().invoke(cli_main, ["batch", "--importers", f"@{fifo}", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "is not a regular file" in res.output
    with pytest.raises(ScenarioError, match=r"not found"):
        parse_importers(f"@{tmp_path / 'absent'}")


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_importer_list_with_a_utf8_bom_reads_as_without(tmp_path, newline):
    plain, bom = tmp_path / "plain.txt", tmp_path / "bom.txt"
    text = newline.join(["NLD", "# a comment", "deu", ""])
    plain.write_bytes(text.encode())
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert parse_importers(f"@{bom}") == parse_importers(f"@{plain}") == ("NLD", "DEU")  # was unknown '\ufeff'


def test_importer_list_not_utf8_is_one_clear_error(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("NLD\nCURA\xc7AO\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"cannot read the importer list file"):
        parse_importers(f"@{path}")


def test_unknown_country_in_an_importer_list_names_the_file_and_line(tmp_path):
    path = tmp_path / "imps.txt"
    path.write_text("NLD\n# a comment\nXXX\n")
    with pytest.raises(ScenarioError) as err:
        parse_importers(f"@{path}")  # said only "field 'countries': unknown country 'XXX'"
    msg = str(err.value)
    assert err.value.file == str(path) and err.value.rows == [3] and err.value.field == "importers"
    assert msg.startswith(f"{path}, row 3, field 'importers': unknown country 'XXX'") and "Fix:" in msg
