"""Outputs written once and reproducibly: single-file outputs never replace a symlink, two identical runs
write identical bytes (``SOURCE_DATE_EPOCH``), and the batch manifest survives a kill between recording and
writing."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import optimize

HEADER = "t,i,j,k,v,q\n"
EPOCH = 1_700_000_000  # 2023-11-14T22:13:20Z
TIMINGS = ("build_s", "solve_s")  # measured seconds: the only facts two identical runs may state differently


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- single-file outputs


def test_convert_refuses_a_symlinked_out_even_with_overwrite(cli_main, tmp_path):
    """`data convert --out <symlink> --overwrite`: one line, exit 5, the link and its target unchanged."""
    src = tmp_path / "f.csv"
    src.write_text(HEADER + "2023,4,56,10121,1.5,NA\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    precious = elsewhere / "precious.parquet"
    precious.write_bytes(b"user data")
    link = tmp_path / "out.parquet"
    link.symlink_to(precious)
    dangling = tmp_path / "dangling.parquet"
    dangling.symlink_to(elsewhere / "absent.parquet")
    for out in (link, dangling):
        r = CliRunner().invoke(cli_main, ["data", "convert", str(src), "--out", str(out), "--overwrite"])
        assert r.exit_code == 5, r.output
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert len(lines) <= 2 and "is a symlink" in r.output and str(out) in r.output, r.output
        assert out.is_symlink()
    assert precious.read_bytes() == b"user data" and sorted(p.name for p in elsewhere.iterdir()) == ["precious.parquet"]
    r = CliRunner().invoke(cli_main, ["data", "convert", str(src), "--out", str(tmp_path / "real.parquet")])
    assert r.exit_code == 0, r.output


# ---------------------------------------------------------------- reproducible outputs


def _without_timings(v):
    if isinstance(v, dict):
        return {k: _without_timings(x) for k, x in v.items() if k not in TIMINGS}
    if isinstance(v, list):
        return [_without_timings(x) for x in v]
    return v


def _comparable(rel: str, data: bytes):
    """What must be equal of a file of two identical runs: the bytes, except the measured seconds in
    summary.json/summary.md/manifest.json (and so those two files' records and the seal in manifest.json)."""
    if rel == "summary.md":
        return [ln for ln in data.decode().splitlines() if not ln.startswith("Backend ")]
    if rel in ("summary.json", "manifest.json"):
        doc = _without_timings(json.loads(data))
        if rel == "manifest.json":
            doc.pop("seal")
            doc["files"] = [f for f in doc["files"] if f["path"] not in ("summary.json", "summary.md")]
        return doc
    return data


def test_two_identical_runs_write_identical_files(tmp_path, monkeypatch):
    """With SOURCE_DATE_EPOCH set, every file of two identical runs (figures too) is byte for byte the same
    but for the solver's measured seconds; datapackage.json and the SVGs state that time."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        optimize.run(importer="NLD", out_dir=out, figures=True)
    a, b = _files(outs[0]), _files(outs[1])
    assert sorted(a) == sorted(b) and any(rel.endswith(".svg") for rel in a)
    differ = sorted(rel for rel in a if a[rel] != b[rel])
    assert set(differ) <= {"summary.json", "summary.md", "manifest.json"}, differ
    for rel in differ:
        assert _comparable(rel, a[rel]) == _comparable(rel, b[rel]), rel
    assert json.loads(a["datapackage.json"])["created"] == "2023-11-14T22:13:20+00:00"
    assert b"2023-11-14" in a["figures/exposure.svg"]


def test_a_bad_source_date_epoch_is_one_input_error(monkeypatch):
    from optimize.errors import InputError
    from optimize.output.datapackage import created_time

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH"):
        created_time()
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert created_time().endswith("+00:00")
    assert os.environ.get("SOURCE_DATE_EPOCH") is None


# ---------------------------------------------------------------- batch manifest: kill between record and write


class Killed(Exception):
    """Stands for a SIGKILL: nothing after it runs (``atomic.recording`` does not finish its manifest)."""


@pytest.mark.parametrize("killed_at", ["batch.csv", "datapackage.json"])
def test_a_batch_killed_between_recording_and_writing_its_tables_runs_again(killed_at, tmp_path, monkeypatch):
    """Killed while batch.csv (recorded, not yet written) or datapackage.json (tables written) are replaced:
    a re-run with --overwrite works and the user's file beside them is untouched."""
    from optimize.ownership import owned_files
    from optimize.runs import batch

    out = tmp_path / "b"
    args = dict(out_dir=out, importers=["NLD"], products="850440", workers=1, quiet=True)
    optimize.batch_run(caps_pp=[1], **args)
    (out / "notes.txt").write_text("mine")
    real = batch.atomic_write_bytes

    def dies(path, data):
        if Path(path).name == killed_at:
            raise Killed(path)
        return real(path, data)

    monkeypatch.setattr(batch, "atomic_write_bytes", dies)
    with pytest.raises(Killed):
        optimize.batch_run(caps_pp=[1, 2], overwrite=True, **args)
    monkeypatch.setattr(batch, "atomic_write_bytes", real)
    assert {"batch.csv", "batch.parquet", "datapackage.json"} <= owned_files(out)  # old or new: both proven
    again = optimize.batch_run(caps_pp=[1, 2], overwrite=True, **args)
    assert sorted(again.table["cap_pp"].unique()) == [1.0, 2.0] and again.computed == []
    assert (out / "notes.txt").read_text() == "mine"
    assert "pending" not in json.loads((out / "manifest.json").read_text())


def test_recording_keeps_old_and_new_provable_until_it_ends(tmp_path):
    from optimize import atomic
    from optimize.ownership import owned_files

    out = atomic.claim_dir(tmp_path / "b", owns=("a.csv", "b.csv"))
    with atomic.recording(out, {"a.csv": b"old\n"}):
        atomic.atomic_write_bytes(out / "a.csv", b"old\n")
    with pytest.raises(Killed), atomic.recording(out, {"a.csv": b"new\n", "b.csv": b"b\n"}):
        assert owned_files(out) == {"a.csv"}  # the old a.csv still proven; b.csv absent
        atomic.atomic_write_bytes(out / "a.csv", b"new\n")
        assert owned_files(out) == {"a.csv"}  # the new a.csv proven by its pending record
        raise Killed
    (out / "a.csv").write_text("edited by hand\n")  # no record matches: the user's
    assert owned_files(out) == set()


# ---------------------------------------------------------------- batch --full-outputs: made once, written once


def test_a_batch_cells_full_outputs_are_the_bytes_run_writes(tmp_path, monkeypatch):
    """`batch --full-outputs --figures`: each cell's files are made in memory where the cell ran and written once
    (no private temporary folder to write, read back and write again); they are the bytes a separate `run` of
    the same cell writes (figures, tables, datapackage.json, manifest.json with the same run key), but for the
    solver's measured seconds."""
    import tempfile

    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))

    def no_temporary_folder(*a, **k):
        raise AssertionError("a cell's outputs went through a temporary folder")

    with monkeypatch.context() as m:
        m.setattr(tempfile, "TemporaryDirectory", no_temporary_folder)
        res = optimize.batch_run(out_dir=tmp_path / "b", importers=["NLD"], caps_pp=[5], risk_sets="CHN,RUS,USA",
                                 full_outputs=True, figures=True, workers=1, quiet=True)
    (key,) = res.computed
    optimize.run(importer="NLD", cap_pp=5, risk=["CHN", "RUS", "USA"], out_dir=tmp_path / "r", figures=True)
    cell, alone = _files(tmp_path / "b" / "cells" / key), _files(tmp_path / "r")
    assert sorted(cell) == sorted(alone) and "figures/exposure.png" in cell and "results.xlsx" not in cell
    differ = sorted(rel for rel in cell if cell[rel] != alone[rel])
    assert set(differ) <= {"summary.json", "summary.md", "manifest.json"}, differ
    for rel in differ:
        assert _comparable(rel, cell[rel]) == _comparable(rel, alone[rel]), rel
    from optimize.ownership import owned_files

    assert f"cells/{key}/" in owned_files(tmp_path / "b")


def test_a_full_output_batch_updates_its_manifest_per_flush_not_per_cell(tmp_path, monkeypatch):
    """8 cells with --full-outputs: the batch manifest is replaced a fixed number of times (claim; one flush:
    its cell folders, its parts; the tables), where it was twice per cell; every cell folder is recorded."""
    from optimize.ownership import owned_files
    from optimize.runs import batch

    monkeypatch.setattr(batch, "FLUSH_S", 1e9)  # no flush by the clock: the count does not depend on speed
    out = tmp_path / "b"
    real, replaced = os.replace, []

    def spy(src, dst, *a, **k):
        if Path(dst) == out / "manifest.json":
            replaced.append(dst)
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", spy)
    res = optimize.batch_run(out_dir=out, importers=["NLD", "FRA"], caps_pp=[1, 2, 3, 4], products="850440",
                             full_outputs=True, workers=1, quiet=True)
    assert len(res.computed) == 8 and len(replaced) <= 7, len(replaced)
    assert {f"cells/{key}/" for key in res.computed} <= owned_files(out)
