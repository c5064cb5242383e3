"""Batch on a real dask.distributed LocalCluster (worker processes): same results as the local pool, only the
client writes, run-id task keys, retries of a killed worker, content-keyed resume, unreachable scheduler."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import optimize.runs.batch as b
from optimize.config.scenario import load_scenario
from optimize.data.baci import SAMPLE_FILE
from optimize.resources import data_dir

distributed = pytest.importorskip("distributed")
ROOT = Path(__file__).resolve().parents[1]
GRID = b.Grid(importers=("DEU", "EU27", "POL"), years=(2023,), caps_pp=(1.0, 5.0),
              risk_sets=(("CHN",), ("CHN", "RUS", "USA")))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two single-thread worker processes started in another working directory with a private TMPDIR."""
    elsewhere = tmp_path_factory.mktemp("worker-cwd")
    wtmp = tmp_path_factory.mktemp("worker-tmp")
    old = os.getcwd()
    os.chdir(elsewhere)
    try:
        cl = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      env={"TMPDIR": str(wtmp)}, local_directory=str(wtmp))
    finally:
        os.chdir(old)
    with cl, distributed.Client(cl) as client:
        yield cl, client, elsewhere, wtmp


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_cluster_equals_local_pool_and_only_the_client_writes(cluster, tmp_path, monkeypatch):
    cl, client, elsewhere, wtmp = cluster
    assert set(client.run(os.getcwd).values()) == {str(elsewhere)}
    # the data path is relative to the client's folder: workers elsewhere can only read it if the client resolves it
    monkeypatch.chdir(tmp_path)
    shutil.copy(data_dir() / SAMPLE_FILE, tmp_path / "flows.parquet")
    scen = load_scenario("default", overrides=["data.baci=flows.parquet"])
    local = b.run_batch(scen, GRID, tmp_path / "local", b.BatchOptions(workers=2, quiet=True))
    before_w = _files(wtmp)
    remote = b.run_batch(scen, GRID, tmp_path / "dask", b.BatchOptions(dask_address=client, quiet=True))
    assert sorted(remote.computed) == sorted(c.key for c in GRID.cells())
    pd.testing.assert_frame_equal(local.table, remote.table, check_exact=False, rtol=1e-12, atol=0)
    assert set(remote.cells["worker"]) - {f"{os.uname().nodename}:{os.getpid()}"}, "cells ran on the client"
    assert not any("dataset" in f or "batch" in f for f in _files(wtmp) - before_w)
    again = b.run_batch(scen, GRID, tmp_path / "dask", b.BatchOptions(dask_address=client, quiet=True))
    assert again.computed == [] and len(again.skipped) == len(GRID.cells())
    # full outputs: the report files are made in the workers' private temp folder and written by the client
    small = b.Grid(importers=("NLD",), years=(2023,), caps_pp=(2.0,), risk_sets=(("CHN",),))
    full = b.run_batch(scen, small, tmp_path / "full", b.BatchOptions(dask_address=client, outputs="full", quiet=True))
    key = small.cells()[0].key
    assert (tmp_path / "full" / "cells" / key / "summary.md").is_file()
    assert not any(key in f for f in _files(wtmp))  # nothing stranded on the workers
    assert b.run_batch(scen, small, tmp_path / "full", b.BatchOptions(dask_address=client, outputs="full", quiet=True)).computed == []
    assert full.table["status"].eq("optimal").all()


@pytest.mark.parametrize("years", [(), (2022, 2023)])
def test_every_importer_is_read_and_expanded_on_the_workers(cluster, tmp_path, monkeypatch, years):
    """``--importers all`` (and the latest year): each worker reads its year and learns its importers; the
    client never reads the data; the numbers equal the local pool's, and a re-run computes nothing."""
    from optimize.runs import pipeline

    _, client, _, _ = cluster
    one = pd.read_parquet(data_dir() / SAMPLE_FILE)  # two years: 2022 with other values and fewer flows
    earlier = one.sample(frac=0.8, random_state=5).assign(t=2022, v=lambda d: d["v"] * 0.7)
    pd.concat([earlier, one]).to_parquet(tmp_path / "flows.parquet", index=False)
    scen = load_scenario("default", overrides=[f"data.baci={tmp_path / 'flows.parquet'}"])
    grid = b.Grid(importers=(b.ALL_IMPORTERS, "EU27"), years=years, caps_pp=(2.0, 5.0),
                  risk_sets=(("CHN", "RUS", "USA"),))
    local = b.run_batch(scen, grid, tmp_path / "local", b.BatchOptions(workers=2, quiet=True))

    def no_client_read(*args, **kwargs):
        raise AssertionError("the client read the data")

    monkeypatch.setattr(pipeline, "prepare", no_client_read)
    remote = b.run_batch(scen, grid, tmp_path / "dask", b.BatchOptions(dask_address=client, quiet=True))
    assert len(remote.computed) == len(local.computed) > 2 * 20
    assert set(remote.table["year"]) == set(years or local.table["year"]) and "EU27" in set(remote.table["importer"])
    pd.testing.assert_frame_equal(local.table, remote.table, check_exact=False, rtol=1e-12, atol=0)
    again = b.run_batch(scen, grid, tmp_path / "dask", b.BatchOptions(dask_address=client, quiet=True))
    assert again.computed == [] and sorted(again.skipped) == sorted(remote.computed)


def test_two_batches_of_one_scenario_on_one_scheduler(cluster, tmp_path):
    cl, _, _, _ = cluster
    scen = load_scenario("default")
    results, errors = {}, []

    def run(name):
        try:
            with distributed.Client(cl.scheduler_address) as c:
                results[name] = b.run_batch(scen, GRID, tmp_path / name, b.BatchOptions(dask_address=c, quiet=True))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors
    assert results["one"].run_id != results["two"].run_id
    for r in results.values():
        assert len(r.computed) == len(GRID.cells()) and r.table["status"].eq("optimal").all()
    pd.testing.assert_frame_equal(results["one"].table, results["two"].table)


class _KillOnce(distributed.WorkerPlugin):
    """Kill the worker process the first time it starts a tradeopt task (a marker file makes it once)."""

    def __init__(self, marker: str):
        self.marker = marker

    def transition(self, key, start, finish, **kw):
        if finish == "executing" and str(key).startswith("tradeopt-") and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)


def test_worker_killed_mid_batch_is_retried(cluster, tmp_path):
    _, client, _, _ = cluster
    scen = load_scenario("default")
    reference = b.run_batch(scen, GRID, tmp_path / "ref", b.BatchOptions(workers=1, quiet=True, fast=False))
    marker = tmp_path / "killed"
    client.register_plugin(_KillOnce(str(marker)), name="kill-once")
    try:
        res = b.run_batch(scen, GRID, tmp_path / "out", b.BatchOptions(dask_address=client, quiet=True, fast=False))
    finally:
        client.unregister_worker_plugin("kill-once")
    assert marker.exists(), "no worker was killed"
    assert res.table["status"].eq("optimal").all()
    pd.testing.assert_frame_equal(reference.table, res.table, check_exact=False, rtol=1e-12, atol=0)
    client.wait_for_workers(2, timeout=60)


def test_new_in_memory_data_in_the_same_folder_is_recomputed(cluster, tmp_path):
    from optimize.data.baci import read_baci

    _, client, _, _ = cluster
    scen = load_scenario("default")
    df = read_baci(None).flows
    grid = b.Grid(importers=("DEU",), years=(2023,), caps_pp=(3.0,), risk_sets=(("CHN",),))
    first = b.run_batch(scen, grid, tmp_path, b.BatchOptions(dask_address=client, quiet=True), data=df)
    same = b.run_batch(scen, grid, tmp_path, b.BatchOptions(dask_address=client, quiet=True), data=df.copy())
    assert same.computed == []
    doubled = df.assign(v=df["v"] * 2)
    second = b.run_batch(scen, grid, tmp_path, b.BatchOptions(dask_address=client, quiet=True, overwrite=True), data=doubled)  # other data: another batch's results, replaced only when asked
    assert second.computed == first.computed
    a1 = first.table.set_index("risk")
    a2 = second.table.set_index("risk")
    assert a2.loc["ALL", "before_usd"] == pytest.approx(2 * a1.loc["ALL", "before_usd"], rel=1e-12)
    assert a2.loc["ALL", "share_after"] == pytest.approx(a1.loc["ALL", "share_after"], rel=1e-9)


def test_unreachable_scheduler_is_exit_2_within_the_timeout(tmp_path):
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), "batch", "--dask", "tcp://127.0.0.1:9",
                           "--dask-timeout", "2", "--importers", "DEU", "--out", str(tmp_path / "o"),
                           "--baci", str(tmp_path / "absent.parquet"), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 2, proc.stderr
    assert "Dask scheduler" in proc.stderr and "absent.parquet" not in proc.stderr  # before any data are read
    assert elapsed < 2 + 90  # the timeout plus interpreter start-up and imports on a (very) busy machine
    assert not (tmp_path / "o").exists()
    # the connection attempt itself gives up within the timeout
    from optimize.errors import InputError
    from optimize.runs.executors import connect_dask

    t0 = time.perf_counter()
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        connect_dask("tcp://127.0.0.1:9", 2.0, quiet=True)
    assert time.perf_counter() - t0 < 2 + 5


def test_dask_local_workers_keep_glibc_adaptive_malloc():
    """``--dask local:N`` workers run without the nanny's MALLOC_TRIM_THRESHOLD_ (which fixes glibc's mmap
    threshold, so every large array is mapped anew); the other thread limits stay."""
    from optimize.runs.executors import close_dask, connect_dask

    client, owned = connect_dask("local:1", quiet=True)
    try:
        env = client.run(lambda: {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")})
    finally:
        close_dask(client)
    assert owned and [e["MALLOC_TRIM_THRESHOLD_"] for e in env.values()] == [None]
    assert [e["OMP_NUM_THREADS"] for e in env.values()] == ["1"]
