"""Batch process hygiene: workers die with the parent, SIGTERM like Ctrl-C, one writer per folder,
stale temporary folders removed only when their owner is dead, resume keyed on the data's content."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import optimize.runs.batch as b
from optimize.atomic import claim_dir
from optimize.config.scenario import load_scenario
from optimize.data.baci import SAMPLE_FILE
from optimize.errors import OutputError
from optimize.ownership import leftover_name
from optimize.resources import data_dir

psutil = pytest.importorskip("psutil")
ROOT = Path(__file__).resolve().parents[1]
GRID = b.Grid(importers=("DEU", "NLD"), years=(2023,), caps_pp=(2.0,), risk_sets=(("CHN", "RUS", "USA"),))


def _start_batch(out: Path) -> tuple[subprocess.Popen, list]:
    """A per-cell CLI batch with 2 pool workers; returns once both workers run."""
    cmd = [sys.executable, str(ROOT / "cli.py"), "batch", "--importers", "all-eu", "--caps", "1-10", "--per-cell",
           "--out", str(out), "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 180
    kids: list = []
    while time.time() < deadline and proc.poll() is None:
        kids = psutil.Process(proc.pid).children(recursive=True)
        if len(kids) >= 2:
            break
        time.sleep(0.2)
    assert len(kids) >= 2, "the pool workers did not start"
    return proc, kids


def _alive(procs) -> list:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.mark.slow
def test_sigkill_of_the_parent_leaves_no_worker_alive(tmp_path):
    proc, kids = _start_batch(tmp_path / "out")
    try:
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, not its process group
        proc.wait(10)
        deadline = time.time() + 8
        while _alive(kids) and time.time() < deadline:
            time.sleep(0.2)
        assert not _alive(kids), f"workers still alive after SIGKILL of the parent: {[p.pid for p in _alive(kids)]}"
    finally:
        for p in _alive(kids):
            p.kill()


@pytest.mark.slow
def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    out = tmp_path / "out"
    proc, kids = _start_batch(out)
    try:
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 130
        deadline = time.time() + 8
        while _alive(kids) and time.time() < deadline:
            time.sleep(0.2)
        assert not _alive(kids)
        assert not (out / ".tradeopt-batch.lock").exists()
        assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    finally:
        for p in _alive(kids):
            p.kill()


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_one_writer_per_folder_and_stale_lock_taken_over(tmp_path):
    scen = load_scenario("default")
    out = claim_dir(tmp_path / "out", owns=b.BATCH_OWNS, run_key=b.BATCH_KEY)  # a batch folder, as a running batch made it
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        (out / ".tradeopt-batch.lock").write_text(json.dumps({"host": socket.gethostname(), "pid": sleeper.pid,
                                                               "run_id": "other"}))
        with pytest.raises(OutputError, match=f"pid {sleeper.pid}"):
            b.run_batch(scen, GRID, out, b.BatchOptions(workers=1, quiet=True))
        assert not (out / "dataset").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    # its owner is dead now: the lock is stale and taken over; released at the end
    res = b.run_batch(scen, GRID, out, b.BatchOptions(workers=1, quiet=True))
    assert len(res.computed) == 2 and not (out / ".tradeopt-batch.lock").exists()


def test_stale_temp_folders_removed_only_when_their_owner_is_dead(tmp_path):
    scen = load_scenario("default")
    out = claim_dir(tmp_path / "out", owns=b.BATCH_OWNS, run_key=b.BATCH_KEY)  # a batch folder of a killed batch
    (out / "cells").mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        dead = out / "cells" / leftover_name("K1", "tmp", _dead_pid(), "0123456789")
        live = out / "cells" / leftover_name("K2", "tmp", sleeper.pid, "0123456789")
        other_host = out / "cells" / leftover_name("K3", "tmp", _dead_pid(), "0123456789", host="elsewhere")
        for d in (dead, live, other_host):
            d.mkdir()
            (d / "x").write_text("x")
        with pytest.raises(OutputError, match="cells"):  # a live writer's (or another host's) leftover: not tradeopt's
            b.run_batch(scen, GRID, out, b.BatchOptions(workers=1, quiet=True))
        b.run_batch(scen, GRID, out, b.BatchOptions(workers=1, quiet=True, overwrite=True))  # beside them; they stay
        assert not dead.exists()
        assert live.exists() and other_host.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_changed_file_never_resumes(tmp_path):
    import pyarrow.parquet as pq

    src = tmp_path / "flows.parquet"
    shutil.copy(data_dir() / SAMPLE_FILE, src)
    scen = load_scenario("default", overrides=[f"data.baci={json.dumps(str(src))}"])
    first = b.run_batch(scen, GRID, tmp_path / "out", b.BatchOptions(workers=1, quiet=True))
    assert b.run_batch(scen, GRID, tmp_path / "out", b.BatchOptions(workers=1, quiet=True)).computed == []
    tbl = pq.read_table(src).to_pandas()
    tbl["v"] = tbl["v"] * 3
    tbl.to_parquet(src, index=False)
    with pytest.raises(OutputError, match="another batch"):  # the old results survive unless asked
        b.run_batch(scen, GRID, tmp_path / "out", b.BatchOptions(workers=1, quiet=True))
    again = b.run_batch(scen, GRID, tmp_path / "out", b.BatchOptions(workers=1, quiet=True, overwrite=True))
    assert sorted(again.computed) == sorted(first.computed)
    a1, a3 = (r.table[r.table.risk == "ALL"].set_index("importer") for r in (first, again))
    pd.testing.assert_series_equal(a3["before_usd"], 3 * a1["before_usd"], rtol=1e-12)
