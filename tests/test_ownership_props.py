"""Property test of ownership (issue #22 item 11): random sequences of tradeopt's writers (run, batch, sweep,
screen, analyse, data convert; through the API and the CLI) into folders holding user files, symlinks, locks
and crafted manifests (paths with '..', absolute paths, hashes that do not match, a wrong seal, user files
named like outputs). Afterwards every user file, and everything outside the output folder, is byte-identical,
and no writer fails with anything but a ``TradeoptError``.

``test_writer_sequences`` drives the cheap writers many times (the run's folder commit replays a real run's
files through ``atomic_dir``, the batch's dataset writer runs on tiny frames, ``data convert`` runs through
the CLI); ``test_command_sequences`` runs the real commands end to end, fewer times, as they solve LPs."""
from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimize
from optimize import atomic, ownership
from optimize.errors import TradeoptError
from optimize.output.manifest import results_key
from optimize.runs import batch as b
from optimize.runs import resume
from tests.corpus import base_rows, snapshot, write_csv

PART = "dataset/cells/year=2023/cap_basis=world_exports/part-mine.parquet"
#: Names users pick plus names tradeopt writes (top level, a batch's cells/ and dataset/), so collisions are common.
USER_NAMES = ["thesis.txt", "summary.json", "summary.md", "batch.csv", "sweep.csv", "datapackage.json",
              "flows.parquet", "cells/my_notes.txt", "cells/K/summary.json", PART, "figures/a.png", ".hidden",
              "screen.csv", "notes/a.md", "sub/x.bin", "dataset/README"]
LINK_NAMES = ["ln", "summary.csv", "cells", "dataset", "figures"]
MANIFESTS = [None, "old-dotdot", "old-abs", "old-names", "unsealed-wrong-hash", "bad-seal", "sealed-wrong-hash",
             "sealed-dotdot", "garbage"]
LOCKS = ["abc", "[1]", "dead", "live"]



def folder_spec(plain: int, links: int = 2) -> st.SearchStrategy:
    """Folder content; ``plain``: weight of no crafted manifest and no lock (writes must often succeed, to test
    what they then remove and replace)."""
    return st.fixed_dictionaries({
        "files": st.dictionaries(st.sampled_from(USER_NAMES), st.binary(max_size=24), max_size=3),
        "links": st.dictionaries(st.sampled_from(LINK_NAMES), st.sampled_from(["victim", "vdir", "missing", "loop"]),
                                 max_size=links),
        "manifest": st.sampled_from([None] * plain + MANIFESTS[1:]),
        "lock": st.sampled_from([None] * plain + LOCKS),
    })


@pytest.fixture(scope="module")
def world():
    """Two real run results of different settings, a real run's files to replay, a small CSV source."""
    base = Path(tempfile.mkdtemp(prefix="own-props-"))
    a = optimize.run(products="850440,854143", figures=False)
    fra = optimize.run(products="850440,854143", importer="FRA", figures=False)
    a.write(base / "template")
    src = write_csv(base / "flows.csv", base_rows())
    yield {"a": a, "fra": fra, "template": base / "template", "src": src, "runner": CliRunner()}
    shutil.rmtree(base, ignore_errors=True)


def _manifest(kind: str, folder: Path, outside: Path) -> str:
    bad = "0" * 64
    if kind == "old-dotdot":
        return json.dumps({"tool": "tradeopt", "files": ["../outside/victim.txt", "../outside/vdir/"]})
    if kind == "old-abs":
        return json.dumps({"tool": "tradeopt", "files": [str(outside / "victim.txt"), str(outside / "vdir")]})
    if kind == "old-names":
        return json.dumps({"tool": "tradeopt", "files": USER_NAMES + ["cells/", "dataset/"]})
    if kind == "unsealed-wrong-hash":
        return json.dumps({"tool": "tradeopt", "files": [{"path": n, "bytes": 1, "sha256": bad} for n in USER_NAMES]})
    if kind == "bad-seal":
        text = ownership.manifest_text({}, {n: {"bytes": 1, "sha256": bad} for n in USER_NAMES})
        return text.replace('"seal": "', '"seal": "0')
    if kind == "sealed-wrong-hash":  # a manifest tradeopt wrote; the files it names were changed since
        return ownership.manifest_text({}, {n: {"bytes": 1, "sha256": bad} for n in USER_NAMES})
    if kind == "sealed-dotdot":
        return ownership.manifest_text({}, {"../outside/victim.txt": {"bytes": 9, "sha256": bad}})
    return "{not json"


def build(base: Path, spec: dict) -> tuple[Path, Path, set[str]]:
    """The output folder (with the user's entries), the outside folder, and which entries are the user's."""
    outside = base / "outside"
    (outside / "vdir").mkdir(parents=True)
    (outside / "victim.txt").write_bytes(b"not yours")
    (outside / "vdir" / "x.csv").write_bytes(b"1,2\n")
    folder = base / "out"
    folder.mkdir()
    for name, target in spec["links"].items():
        dest = {"victim": outside / "victim.txt", "vdir": outside / "vdir", "missing": outside / "missing",
                "loop": folder / name}[target]
        (folder / name).symlink_to(dest)
    for name, data in spec["files"].items():
        p = folder / name
        on_way = [folder.joinpath(*name.split("/")[:i]) for i in range(1, name.count("/") + 1)]
        if os.path.lexists(p) or any(os.path.lexists(q) and (q.is_symlink() or not q.is_dir()) for q in on_way):
            continue  # a link or file is already where this file would go
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    if spec["manifest"]:
        (folder / "manifest.json").write_text(_manifest(spec["manifest"], folder, outside))
    if spec["lock"]:
        holder = {"dead": {"host": socket.gethostname(), "pid": 999_999_999, "run_id": "x"},
                  "live": {"host": socket.gethostname(), "pid": os.getpid(), "run_id": "x"}}.get(spec["lock"])
        (folder / ownership.LOCK_FILE).write_text(json.dumps(holder) if holder else spec["lock"])
    users = set(snapshot(folder))
    if spec["manifest"] in ("sealed-wrong-hash",):  # tradeopt's own manifest: it may replace it
        users.discard("manifest.json")
    if spec["lock"] == "dead":  # a dead batch's lock: taken over
        users.discard(ownership.LOCK_FILE)
    return folder, outside, users




def check(base: Path, spec: dict, steps: list, do) -> None:
    folder, outside, users = build(base, spec)
    before, outside_before = snapshot(folder), snapshot(outside)
    for step in steps:
        try:
            do(folder, step)
        except TradeoptError:
            pass  # refused (exit 2 or 5): fine, as long as nothing of the user's changed
        after = snapshot(folder)
        assert {k: after.get(k) for k in users} == {k: before[k] for k in users}, step
        assert snapshot(outside) == outside_before, step
    assert sorted(p.name for p in base.iterdir()) == ["out", "outside"]  # no temporary siblings left


# ---------------------------------------------------------------- the cheap writers, many times


def _replay_run(world: dict, folder: Path, key: str, overwrite: bool) -> None:
    """The run writer's folder commit (``atomic_dir`` with the run's key) with a real run's files."""
    with atomic.atomic_dir(folder, overwrite=overwrite, run_key=key) as tmp:
        for f in world["template"].rglob("*"):
            if f.is_file() and f.name != "manifest.json":
                (tmp / f.relative_to(world["template"])).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, tmp / f.relative_to(world["template"]))


def _batch_io(folder: Path, overwrite: bool, digest: str) -> None:
    """A batch's folder writes (claim, lock, stale leftovers, dataset parts, tidy) on a one-row table."""
    out = atomic.check_out_dir(folder, overwrite=overwrite, run_key=b.BATCH_KEY)
    out = atomic.claim_dir(out, owns=b.BATCH_OWNS, overwrite=overwrite, run_key=b.BATCH_KEY)
    lock = resume.acquire_lock(out, "r1")
    try:
        resume.remove_stale(out)
        resume.tidy_dataset(out, digest)
        row = {"year": 2023, "cap_basis": "world_exports", "cell_key": "k", "status": "optimal"}
        resume.write_parts(out, {"risk": pd.DataFrame([{**row, "risk": "ALL"}]), "cells": pd.DataFrame([row])},
                           digest, resume.new_run_id(), 0)
        resume.finished(out, digest)
    finally:
        resume.release_lock(lock)


OVERWRITE = st.sampled_from([True, True, False])
STEP = st.tuples(st.sampled_from(["run_a", "run_fra", "run_api", "batch_io", "convert_cli"]), OVERWRITE,
                 st.sampled_from(["screen.csv", "thesis.txt", "flows.parquet", "new.parquet"]))


@settings(max_examples=170, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=folder_spec(6), steps=st.lists(STEP, min_size=1, max_size=3))
def test_writer_sequences(world, spec, steps):
    def do(folder, step):
        kind, overwrite, name = step
        if kind == "run_a":
            _replay_run(world, folder, results_key(world["a"].scenario), overwrite)
        elif kind == "run_fra":
            _replay_run(world, folder, results_key(world["fra"].scenario), overwrite)
        elif kind == "run_api":
            world["a"].write(folder, overwrite=overwrite)
        elif kind == "batch_io":
            _batch_io(folder, overwrite, "d1" if overwrite else "d2")
        else:  # a file writer through the CLI; it replaces only the named file, so never with --overwrite here
            r = world["runner"].invoke(main(), ["data", "convert", str(world["src"]), "--out", str(folder / name)])
            assert r.exit_code in (0, 2, 5), r.output

    with tempfile.TemporaryDirectory() as d:
        check(Path(d), spec, steps, do)


# ---------------------------------------------------------------- the real commands, end to end


def main():
    from cli import main as cli

    return cli


CMD = st.tuples(st.sampled_from(["run_cli", "batch_api", "batch_cli", "sweep_api", "screen_cli", "analyse_cli"]),
                OVERWRITE)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=folder_spec(16, links=1), steps=st.lists(CMD, min_size=1, max_size=2))
def test_command_sequences(world, spec, steps):
    runner = world["runner"]
    one = "basket.products=['850440']"

    def do(folder, step):
        kind, overwrite = step
        ow = ["--overwrite"] if overwrite else []
        if kind == "batch_api":
            optimize.batch_run(out_dir=folder, importers="FRA", caps_pp=[1], products="850440", workers=1,
                               quiet=True, overwrite=overwrite)
            return
        if kind == "sweep_api":
            optimize.sweep_caps(caps_pp=[1, 2], products="850440", out_dir=folder, plot=False, overwrite=overwrite)
            return
        args = {"run_cli": ["run", "--products", "850440", "--no-figures", "--quiet", "--out", str(folder), *ow],
                "batch_cli": ["batch", "--importers", "FRA", "--caps", "1", "--set", one, "--workers", "1", "--quiet",
                              "--out", str(folder), *ow],
                "screen_cli": ["screen", "single", "--out", str(folder), *ow],
                "analyse_cli": ["analyse", "cost", "--set", one, "--out", str(folder), *ow]}[kind]
        r = runner.invoke(main(), args)
        assert r.exit_code in (0, 2, 5), (args, r.output)

    with tempfile.TemporaryDirectory() as d:
        check(Path(d), spec, steps, do)
