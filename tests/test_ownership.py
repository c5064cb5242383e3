"""Ownership by proof (issue #22 items 1-4): tradeopt deletes or replaces only files its own sealed manifest
records with the size and SHA-256 they still have; live batch locks stop every writer; the default output
folder names the run; every output honours the umask; bad ``--out`` paths are exit 5.

Each case reproduces a data loss of the old code by reading bytes back (the old code trusted any
``manifest.json``, owned whole ``cells/`` and ``dataset/`` folders and wrote 0600 files)."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

import optimize
from optimize.errors import OutputError
from tests import test_output_safety as _safety
from tests.corpus import base_rows, snapshot, write_csv

FAST = _safety.FAST
result, runner = _safety.result, _safety.runner  # the fixtures: one solved run, a CliRunner


def craft(folder: Path, files: list) -> None:
    """A hand-made manifest claiming ``files`` (the old format: a list of paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"tool": "tradeopt", "files": files}))


# ---------------------------------------------------------------- 1. ownership by proof


@pytest.mark.parametrize("listed", ["../victim/t", "ABS"])
def test_a_manifest_pointing_outside_is_never_followed(result, tmp_path, listed):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "t").write_text("not tradeopt's")
    out = tmp_path / "out"
    craft(out, [str(victim / "t") if listed == "ABS" else listed])
    (out / "mine.txt").write_text("user")
    before = snapshot(tmp_path)
    with pytest.raises(OutputError, match="manifest.json"):  # the crafted manifest is the user's: never replaced
        result.write(out, overwrite=True)
    assert snapshot(tmp_path) == before


def test_out_dot_with_a_crafted_manifest_deletes_nothing(cli_main, runner, tmp_path, monkeypatch):
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "t").write_text("keep")
    work = tmp_path / "work"
    craft(work, ["../v/t"])
    monkeypatch.chdir(work)
    before = snapshot(tmp_path)
    r = runner.invoke(cli_main, ["run", *FAST, "--out", "."])
    assert r.exit_code == 5 and "manifest.json" in r.output, r.output  # the crafted manifest is the user's file
    assert snapshot(tmp_path) == before


def test_a_manifest_claiming_user_files_does_not_make_them_tradeopts(cli_main, runner, tmp_path):
    out = tmp_path / "out"
    craft(out, ["thesis.txt", "notes/"])
    (out / "thesis.txt").write_text("four years")
    (out / "notes").mkdir()
    (out / "notes" / "a.md").write_text("idea")
    before = snapshot(out)
    r = runner.invoke(cli_main, ["run", *FAST, "--out", str(out)])
    assert r.exit_code == 5 and "thesis.txt" in r.output, r.output
    assert snapshot(out) == before
    assert runner.invoke(cli_main, ["run", *FAST, "--out", str(out), "--overwrite"]).exit_code == 5  # manifest.json
    assert snapshot(out) == before


def test_an_output_the_user_edited_is_no_longer_tradeopts(cli_main, runner, tmp_path):
    out = tmp_path / "out"
    assert runner.invoke(cli_main, ["run", *FAST, "--out", str(out)]).exit_code == 0
    (out / "summary.md").write_text("my edited summary\n")
    for extra in ([], ["--overwrite"]):
        r = runner.invoke(cli_main, ["run", *FAST, "--out", str(out), *extra])
        assert r.exit_code == 5 and "summary.md" in r.output, r.output
        assert (out / "summary.md").read_text() == "my edited summary\n"


def test_overwrite_never_removes_a_parent_folder(result, tmp_path):
    parent = tmp_path / "p"
    (parent / "v").mkdir(parents=True)
    (parent / "v" / "t").write_text("t")
    out = parent / "out"
    result.write(out)
    data = json.loads((out / "manifest.json").read_text())
    data["files"].append("../v/t")  # a tradeopt manifest, tampered with
    (out / "manifest.json").write_text(json.dumps(data))
    (out / "u.txt").write_text("u")
    before = snapshot(tmp_path)
    with pytest.raises(OutputError):
        result.write(out, overwrite=True)  # ignored, not followed: it is now a user's file in the way
    assert snapshot(tmp_path) == before


def test_a_folder_the_user_made_is_kept_not_swapped(result, tmp_path):
    out = tmp_path / "shared"
    out.mkdir(mode=0o750)
    ino = out.stat().st_ino
    for _ in range(2):  # the same run again too: the folder is the user's, never replaced by tradeopt's own
        result.write(out)
        assert out.stat().st_ino == ino and stat.S_IMODE(out.stat().st_mode) == 0o750
        assert (out / "summary.json").is_file()
    made = tmp_path / "made"
    result.write(made)
    result.write(made)  # a folder tradeopt made is swapped whole
    assert not list(tmp_path.glob(".*"))


def test_batch_folders_own_only_what_the_batch_wrote(cli_main, runner, tmp_path):
    out = tmp_path / "b"
    axes = ["--importers", "FRA", "--caps", "1", "--set", "basket.products=['850440']", "--workers", "1", "--quiet"]
    assert runner.invoke(cli_main, ["batch", *axes, "--out", str(out)]).exit_code == 0
    (out / "cells").mkdir(exist_ok=True)
    (out / "cells" / "my_notes.txt").write_text("notes")
    part = out / "dataset" / "cells" / "year=2023" / "cap_basis=world_exports" / "part-mine.parquet"
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"my own parquet")
    r = runner.invoke(cli_main, ["run", *FAST, "--out", str(out)])
    assert r.exit_code == 5, r.output  # another run's results, and user files
    r = runner.invoke(cli_main, ["run", *FAST, "--out", str(out), "--overwrite"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli_main, ["batch", *axes[2:], "--caps", "2", "--out", str(out), "--overwrite"])
    assert r.exit_code == 0, r.output
    assert (out / "cells" / "my_notes.txt").read_text() == "notes" and part.read_bytes() == b"my own parquet"


# ---------------------------------------------------------------- 2. live batch locks


def _lock(folder: Path, content) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").exists() or optimize.atomic.claim_dir(folder, owns=("batch.csv",))
    (folder / ".tradeopt-batch.lock").write_text(content if isinstance(content, str) else json.dumps(content))


@pytest.mark.parametrize("content", [None, "abc", '"abc"', "[1, 2]"])
def test_every_writer_refuses_a_locked_folder(cli_main, runner, tmp_path, content):
    import socket

    folder = tmp_path / "b"
    _lock(folder, content or {"host": socket.gethostname(), "pid": os.getpid(), "run_id": "x"})  # live: this process
    src = write_csv(tmp_path / "flows.csv", base_rows())
    before = snapshot(folder)
    cmds = [["run", *FAST, "--out", str(folder)],
            ["sweep", "--caps", "1,2", "--set", "basket.products=['850440']", "--out", str(folder), "--overwrite"],
            ["screen", "single", "--out", str(folder), "--overwrite"],
            ["analyse", "cost", "--set", "basket.products=['850440']", "--out", str(folder), "--overwrite"],
            ["data", "convert", str(src), "--out", str(folder / "f.parquet")],
            ["batch", "--importers", "FRA", "--caps", "1", "--set", "basket.products=['850440']", "--workers", "1",
             "--quiet", "--out", str(folder)]]
    for cmd in cmds:
        r = runner.invoke(cli_main, cmd)
        assert r.exit_code == 5, (cmd[0], r.output)
        assert "lock" in r.output or "is writing into" in r.output, (cmd[0], r.output)
        assert "Traceback" not in r.output and snapshot(folder) == before


def test_a_batch_that_starts_while_a_run_writes_stops_the_commit(result, tmp_path):
    import socket

    out = tmp_path / "b"
    result.write(out)
    before = snapshot(out)
    from optimize.output.manifest import results_key

    key = results_key(result.scenario)  # the same run again
    with pytest.raises(OutputError, match="is writing into"), optimize.atomic.atomic_dir(out, run_key=key) as tmp:
        (tmp / "x.csv").write_text("new")
        (out / ".tradeopt-batch.lock").write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
    (out / ".tradeopt-batch.lock").unlink()
    assert snapshot(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["b"]


# ---------------------------------------------------------------- 3. results survive the next run


def test_default_folder_names_the_run(cli_main, runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(cli_main, ["run", *FAST]).exit_code == 0
    assert runner.invoke(cli_main, ["run", *FAST, "--importer", "FRA"]).exit_code == 0
    folders = sorted(p.name for p in (tmp_path / "tradeopt-out").iterdir())
    assert len(folders) == 2 and all(f.startswith("default-") for f in folders), folders
    assert any("-EU27-" in f for f in folders) and any("-FRA-" in f for f in folders), folders
    assert runner.invoke(cli_main, ["run", *FAST]).exit_code == 0  # the same run again: replaced in place
    assert len(list((tmp_path / "tradeopt-out").iterdir())) == 2


@pytest.mark.parametrize("typed, iso3", [("Côte d'Ivoire", "CIV"), ("France", "FRA"), ("fra", "FRA"),
                                         ("Germany, FR", "FRA_DEU")])
def test_default_folder_names_the_resolved_importer(typed, iso3):
    """The folder names the ISO3 codes the importer resolves to, and its digest is of the resolved countries:
    every spelling of one importer shares a folder (was ``default-C_te_d_Ivoire-...``, France != FRA)."""
    from optimize.output.manifest import default_out_name

    name = default_out_name(optimize.load_scenario("default", importer=typed))
    assert name.startswith(f"default-{iso3}-latest-"), name
    listed = ["DEU", "FRA"] if iso3 == "FRA_DEU" else [iso3]
    assert name == default_out_name(optimize.load_scenario("default", importer=listed))
    other = default_out_name(optimize.load_scenario("default", importer=["BEL"]))
    assert name.rsplit("-", 1)[1] != other.rsplit("-", 1)[1]


def test_same_importer_spelled_twice_replaces_its_own_folder(cli_main, runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for spelling in ("France", "FRA"):
        r = runner.invoke(cli_main, ["run", *FAST, "--importer", spelling])
        assert r.exit_code == 0, r.output
    assert [p.name for p in (tmp_path / "tradeopt-out").iterdir()][0].startswith("default-FRA-latest-")
    assert len(list((tmp_path / "tradeopt-out").iterdir())) == 1


def test_another_runs_results_need_overwrite(cli_main, runner, tmp_path):
    out = tmp_path / "out"
    assert runner.invoke(cli_main, ["run", *FAST, "--out", str(out)]).exit_code == 0
    first = (out / "summary.json").read_bytes()
    r = runner.invoke(cli_main, ["run", *FAST, "--importer", "FRA", "--out", str(out)])
    assert r.exit_code == 5 and "another run" in r.output and "--overwrite" in r.output, r.output
    assert (out / "summary.json").read_bytes() == first
    r = runner.invoke(cli_main, ["run", *FAST, "--importer", "FRA", "--out", str(out), "--overwrite"])
    assert r.exit_code == 0 and (out / "summary.json").read_bytes() != first, r.output


# ---------------------------------------------------------------- 4. umask


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_every_output_honours_the_umask(result, tmp_path, monkeypatch, umask, mode):
    from optimize.data.baci import read_baci
    from optimize.data.convert import convert

    monkeypatch.setenv("TRADEOPT_CACHE", str(tmp_path / "cache"))
    old = os.umask(umask)
    try:
        result.write(tmp_path / "run")
        optimize.batch_run(out_dir=tmp_path / "batch", importers="FRA", caps_pp=[1], products="850440", workers=1,
                           quiet=True)
        src = write_csv(tmp_path / "flows.csv", base_rows())
        convert(src, out=tmp_path / "flows.parquet")
        read_baci(src)  # fills the parquet cache
        optimize.run(products="850440", figures=False, save_lp=tmp_path / "model.lp")
        optimize.screen("single", out_dir=tmp_path / "screen")
    finally:
        os.umask(old)
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "flows.csv"]
    names = {p.name for p in files}
    assert {"datapackage.json", "batch.csv", "batch.parquet", "flows.parquet", "model.lp", "summary.json"} <= names
    assert any(p.parent.name == "cache" or "cache" in p.parts for p in files)
    wrong = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files
             if stat.S_IMODE(p.stat().st_mode) != mode}
    assert not wrong


# ---------------------------------------------------------------- 5. bad --out paths


def test_out_on_a_symlink_loop_or_a_file_is_exit_5(cli_main, runner, tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    (tmp_path / "f").write_text("a file")
    for out in (tmp_path / "a", tmp_path / "a" / "x", tmp_path / "f"):
        r = runner.invoke(cli_main, ["run", *FAST, "--out", str(out)])
        assert r.exit_code == 5 and len(r.output.strip().splitlines()) <= 2, r.output
        assert "Traceback" not in r.output and "Internal error" not in r.output, r.output
    with pytest.raises(OutputError):
        optimize.run(products="850440", out_dir=tmp_path / "a", figures=False)
    assert (tmp_path / "f").read_text() == "a file"
