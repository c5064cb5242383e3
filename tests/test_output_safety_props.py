"""Property test of output safety (issue #16): for any existing folder content, a run into it
(with and without overwrite) leaves every file tradeopt did not write byte-identical, and
anything outside the folder untouched; a second run into its own folder works."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimize
from optimize.errors import OutputError

#: Names users pick plus names tradeopt writes, so collisions are common.
NAMES = ["thesis.txt", "a", "b.csv", "summary.md", "summary.json", "manifest.json", "figures", "flows.parquet",
         "products.csv", ".hidden", "sub"]

leaf = st.one_of(
    st.tuples(st.just("file"), st.binary(max_size=64)),
    st.tuples(st.just("link"), st.sampled_from(["outside.txt", "outside_dir", "missing", "."])),
)
tree = st.recursive(
    leaf, lambda kids: st.tuples(st.just("dir"), st.dictionaries(st.sampled_from(NAMES), kids, max_size=4)),
    max_leaves=8)
content = st.dictionaries(st.sampled_from(NAMES), tree, max_size=5)


@pytest.fixture(scope="module")
def result():
    return optimize.run(products="850440,854143", figures=False)


def build(folder: Path, spec: dict, outside: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (kind, val) in spec.items():
        p = folder / name
        if kind == "file":
            p.write_bytes(val)
        elif kind == "dir":
            build(p, val, outside)
        else:
            target = {"outside.txt": outside / "outside.txt", "outside_dir": outside / "outside_dir",
                      "missing": outside / "missing", ".": folder}[val]
            p.symlink_to(target)


def snapshot(root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):  # does not follow symlinked folders
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            out[rel] = ("link", os.readlink(p)) if p.is_symlink() else ("dir" if p.is_dir() else p.read_bytes())
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=content, overwrite=st.booleans())
def test_foreign_content_survives_any_run(result, spec, overwrite):
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        outside = base / "outside"
        (outside / "outside_dir").mkdir(parents=True)
        (outside / "outside.txt").write_bytes(b"not yours")
        (outside / "outside_dir" / "x.csv").write_bytes(b"1,2\n")
        folder = base / "out"
        build(folder, spec, outside)
        before, outside_before = snapshot(folder), snapshot(outside)
        try:
            result.write(folder, overwrite=overwrite)
            wrote = True
        except OutputError:
            wrote = False
        after = snapshot(folder)
        assert {k: after.get(k) for k in before} == before  # every entry that was there, byte-identical
        assert snapshot(outside) == outside_before
        assert sorted(p.name for p in base.iterdir()) == ["out", "outside"]  # no temporary folders left
        if before and not overwrite:
            assert not wrote  # a folder with anything in it is refused without overwrite
        if wrote:
            assert (folder / "summary.json").is_file() and not (folder / "summary.json").is_symlink()
            result.write(folder, overwrite=overwrite)  # a second run into the same folder works
            again = snapshot(folder)
            assert {k: again.get(k) for k in before} == before
        shutil.rmtree(base, ignore_errors=True)
