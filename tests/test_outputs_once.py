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
