"""Batch cells on a dask.distributed LocalCluster give the same table as the local run."""
from __future__ import annotations

import pandas as pd
import pytest

import optimize.runs.batch as b
from optimize.config.scenario import load_scenario

distributed = pytest.importorskip("distributed")


def test_dask_cluster_matches_local(tmp_path):
    scen = load_scenario("default")
    grid = b.Grid(importers=("DEU", "EU27", "POL"), years=(2023,), caps_pp=(1.0, 5.0), risk_sets=(("CHN",), ("CHN", "RUS", "USA")))
    local = b.run_batch(scen, grid, tmp_path / "local", workers=1, quiet=True)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = b.run_batch(scen, grid, tmp_path / "dask", dask_address=cluster.scheduler_address, quiet=True)
    assert sorted(remote.computed) == sorted(c.key for c in grid.cells())
    pd.testing.assert_frame_equal(local.table, remote.table, check_exact=True)
    # every cell folder was written by a worker process, not the client
    pids = {b.read_cell(tmp_path / "dask" / "cells", k, b.scenario_hash(scen, b.CellOptions()))["pid"]
            for k in remote.computed}
    import os

    assert os.getpid() not in pids
