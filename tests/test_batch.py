"""Batch grids: parsing, cell keys, resume after a kill, joint vs stand-alone (embedded SYNTHETIC sample)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optimize.runs.batch as b
from optimize.config.scenario import load_scenario
from optimize.data.countries import EU27, to_iso3
from optimize.errors import OutputError, ScenarioError
from optimize.runs import pipeline

ROOT = Path(__file__).resolve().parents[1]
RISK = ("CHN", "RUS", "USA")


@pytest.fixture(scope="module")
def scen():
    return load_scenario("default")


@pytest.fixture(scope="module")
def prepared(scen):
    return pipeline.prepare(scen)


# ------------------------------------------------------------------ parsing


@settings(max_examples=40, deadline=None)
@given(lo=st.integers(0, 50), n=st.integers(0, 20), step=st.sampled_from([0.5, 1.0, 2.5]))
def test_cap_range_matches_hand_list(lo, n, step):
    hi = lo + n * step
    caps = b.parse_caps(f"{lo}-{hi:g}:{step:g}") if hi <= 100 else None
    if caps is not None:
        assert caps == tuple(lo + i * step for i in range(n + 1))


def test_parsers_by_hand():
    assert b.parse_caps("0,1,2") == (0.0, 1.0, 2.0)
    assert b.parse_caps("1-10") == tuple(float(i) for i in range(1, 11))
    assert b.parse_years("2021-2023") == (2021, 2022, 2023)
    assert b.parse_risk_sets("CHN;CHN,RUS; chn,usa,rus") == (("CHN",), ("CHN", "RUS"), ("CHN", "RUS", "USA"))
    assert b.parse_importers("all-eu") == tuple(str(s) for s in to_iso3(EU27))
    assert len(b.parse_importers("all-eu")) == 27
    assert b.parse_importers("EU27,deu,FRA") == ("EU27", "DEU", "FRA")
    for bad in (lambda: b.parse_caps("101"), lambda: b.parse_caps("x"), lambda: b.parse_cap_bases("world"),
                lambda: b.parse_importers("XXX")):
        with pytest.raises(ScenarioError):
            bad()


def test_importers_from_file(tmp_path):
    f = tmp_path / "imp.txt"
    f.write_text("# members\nDEU\nfra  # France\n\nNLD\n", encoding="utf-8")
    assert b.parse_importers(f"@{f}") == ("DEU", "FRA", "NLD")


@settings(max_examples=50, deadline=None)
@given(imp=st.sampled_from(["EU27", "DEU", "FRA", "NLD", "G7+allies"]), year=st.integers(1995, 2030),
       cap=st.floats(0, 100, allow_nan=False), basis=st.sampled_from(b.CAP_BASES),
       risk=st.sets(st.sampled_from(["CHN", "USA", "RUS", "IND"]), min_size=1))
def test_cell_key_is_safe_and_distinguishes_cells(imp, year, cap, basis, risk):
    cell = b.Cell(year, imp, basis, float(cap), tuple(sorted(risk)))
    key = cell.key
    assert "/" not in key and " " not in key and key == key.strip(".")
    other = b.Cell(year, imp, basis, float(cap) + 0.5, tuple(sorted(risk)))
    assert other.key != key


# ------------------------------------------------------------------ running


def _grid(importers, caps):
    return b.Grid(importers=tuple(importers), years=(2023,), caps_pp=tuple(float(c) for c in caps),
                  risk_sets=(RISK,))


def test_batch_rows_equal_single_runs(scen, prepared, tmp_path):
    res = b.run_batch(scen, _grid(["DEU", "EU27"], [0, 4]), tmp_path / "out", b.BatchOptions(workers=1, quiet=True))
    t = res.table
    assert len(t) == 2 * 2 * 4  # cells x (3 risk countries + ALL)
    assert (tmp_path / "out" / "batch.csv").is_file() and (tmp_path / "out" / "batch.parquet").is_file()
    for imp in ("DEU", "EU27"):
        for cap in (0.0, 4.0):
            one = pipeline.solve_cell(prepared, importer=imp, cap_pp=cap, risk=list(RISK)).tables.exposure
            got = t[(t.importer == imp) & (t.cap_pp == cap)].set_index("risk")
            np.testing.assert_allclose(got.loc[one["iso3"], "share_after"].to_numpy(), one["share_after"].to_numpy(),
                                       rtol=0, atol=1e-12)
    a = t[t.risk == "ALL"]
    zero = a[a.cap_pp == 0].set_index("importer")
    # cap 0: nothing can move
    np.testing.assert_allclose(zero["share_after"], zero["share_before"], atol=1e-12)
    assert (zero["shifted_usd"].abs() < 1e-6).all()
    assert set(res.computed) == {c.key for c in _grid(["DEU", "EU27"], [0, 4]).cells()}


def test_rerun_skips_finished_and_changed_scenario_recomputes(scen, tmp_path):
    grid = _grid(["NLD"], [1, 2])
    first = b.run_batch(scen, grid, tmp_path, b.BatchOptions(workers=1, quiet=True))
    again = b.run_batch(scen, grid, tmp_path, b.BatchOptions(workers=1, quiet=True))
    assert again.computed == [] and sorted(again.skipped) == sorted(first.computed)
    pd.testing.assert_frame_equal(first.table, again.table)
    other = scen.model_copy(update={"alternatives": scen.alternatives.model_copy(update={"spread": "min-hhi"})})
    with pytest.raises(OutputError, match="another batch"):  # another run's results survive unless asked
        b.run_batch(other, grid, tmp_path, b.BatchOptions(workers=1, quiet=True))
    assert b.run_batch(scen, grid, tmp_path, b.BatchOptions(workers=1, quiet=True)).computed == []
    changed = b.run_batch(other, grid, tmp_path, b.BatchOptions(workers=1, quiet=True, overwrite=True))
    assert sorted(changed.computed) == sorted(first.computed)


def test_bad_cell_is_recorded_not_fatal(scen, tmp_path):
    # Holy See (VAT) imports nothing in the sample: an input error for that cell only
    res = b.run_batch(scen, _grid(["VAT", "DEU"], [2]), tmp_path, b.BatchOptions(workers=1, quiet=True))
    status = res.table.groupby("importer")["status"].first()
    assert status["DEU"] == "optimal"
    assert status["VAT"].startswith("error")


def test_joint_reduction_not_larger_than_alone(scen, tmp_path):
    res = b.run_batch(scen, _grid(["DEU", "FRA", "ITA", "NLD"], [3]), tmp_path, b.BatchOptions(workers=1, joint=True, quiet=True))
    t = res.table
    assert "share_after_alone" in t
    ok = t[t.status == "optimal"]
    assert len(ok.importer.unique()) == 4
    red_joint = ok["share_before"] - ok["share_after"]
    red_alone = ok["share_before"] - ok["share_after_alone"]
    all_rows = ok["risk"] == "ALL"
    assert (red_joint[all_rows] <= red_alone[all_rows] + 1e-9).all()
    assert (red_joint[all_rows] >= -1e-12).all()


def test_joint_single_importer_equals_alone(scen, tmp_path):
    res = b.run_batch(scen, _grid(["DEU"], [3]), tmp_path, b.BatchOptions(workers=1, joint=True, quiet=True))
    a = res.table[res.table.risk == "ALL"].iloc[0]
    assert a.share_after == pytest.approx(a.share_after_alone, abs=1e-9)


def _finished(out: Path) -> dict[str, str]:
    """cell key -> run id of the finished cells in the batch dataset."""

    parts = sorted((out / "dataset" / "cells").glob("year=*/cap_basis=*/part-*.parquet"))
    rows = [pd.read_parquet(p, columns=["cell_key", "run_id"]) for p in parts]
    return dict(zip(*pd.concat(rows)[["cell_key", "run_id"]].to_numpy().T, strict=False)) if rows else {}


@pytest.mark.slow
def test_all_eu_caps_1_to_10_killed_and_resumed(scen, tmp_path):
    """27 members x caps 1..10 (270 cells, per-cell path): SIGKILL the batch half-way, re-run, only missing cells run."""
    out = tmp_path / "batch"
    cmd = [sys.executable, str(ROOT / "cli.py"), "batch", "--importers", "all-eu", "--caps", "1-10",
           "--out", str(out), "--workers", "2", "--quiet", "--per-cell"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 240
    try:
        while len(_finished(out)) < 60 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = _finished(out)
    assert 60 <= len(before) < 270, "the batch was not interrupted half-way"

    grid = b.Grid(importers=b.parse_importers("all-eu"), years=(2023,), caps_pp=b.parse_caps("1-10"),
                  risk_sets=(RISK,))
    res = b.run_batch(scen, grid, out, b.BatchOptions(workers=2, quiet=True, fast=False))
    all_keys = {c.key for c in grid.cells()}
    assert set(res.skipped) == set(before)
    assert set(res.computed) == all_keys - set(before)
    after = _finished(out)
    assert all(after[k] == before[k] for k in before), "a finished cell was recomputed"
    t = res.table
    assert len(t) == 270 * 4 and set(t["cell_key"]) == all_keys
    assert not t["status"].astype(str).str.startswith("error").any()
    # equal to an uninterrupted run: recompute a sample of cells (killed-run and resumed ones) afresh
    sample = sorted(all_keys)[::27]
    cells = tuple(c for c in grid.cells() if c.key in sample)
    fresh = b.assemble(b.run_task(pipeline.prepare(scen), b.Task("x", "cells", 2023, cells), b.CellOptions()).risk)
    got = t[t.cell_key.isin(sample)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, fresh, check_exact=False, rtol=0, atol=1e-12)
    # exposure never rises with the cap, per member
    a = t[t.risk == "ALL"].sort_values(["importer", "cap_pp"])
    assert (a.groupby("importer")["share_after"].diff().dropna() <= 1e-12).all()


def test_pool_workers_reading_their_own_years_equal_the_client_read(tmp_path):
    """Several years on a local pool: each worker reads and runs its years (``executors.iter_local_years``);
    one worker reads every year in the client. Same cells and numbers; ``all`` is per year (an importer
    without flows in a year has no cell in it); a re-run computes nothing."""
    from optimize.data.baci import SAMPLE_FILE
    from optimize.resources import data_dir

    one = pd.read_parquet(data_dir() / SAMPLE_FILE)
    gone = int(one["j"].iloc[0])  # this importer has no flows in 2021
    older = [one.loc[one["j"] != gone].assign(t=2021, v=lambda d: d["v"] * 1.3),
             one.sample(frac=0.8, random_state=5).assign(t=2022, v=lambda d: d["v"] * 0.7)]
    pd.concat([*older, one]).to_parquet(tmp_path / "flows.parquet", index=False)
    scen = load_scenario("default", overrides=[f"data.baci={tmp_path / 'flows.parquet'}"])
    grid = b.Grid(importers=(b.ALL_IMPORTERS, "EU27"), years=(2021, 2022, 2023), caps_pp=(1.0, 5.0),
                  risk_sets=(RISK,))
    inline = b.run_batch(scen, grid, tmp_path / "one", b.BatchOptions(workers=1, quiet=True))
    pooled = b.run_batch(scen, grid, tmp_path / "two", b.BatchOptions(workers=2, quiet=True))
    assert sorted(inline.computed) == sorted(pooled.computed)
    pd.testing.assert_frame_equal(inline.table, pooled.table, check_exact=False, rtol=1e-12, atol=0)
    assert set(pooled.cells["worker"]) - {f"{os.uname().nodename}:{os.getpid()}"}, "cells ran in the client"
    absent = to_iso3([gone])[0]
    per_year = pooled.table.groupby("year")["importer"].agg(set)
    assert absent not in per_year[2021] and absent in per_year[2023]
    assert b.run_batch(scen, grid, tmp_path / "two", b.BatchOptions(workers=2, quiet=True)).computed == []
