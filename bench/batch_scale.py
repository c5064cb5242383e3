"""Batch at scale against its floor, side by side in one run (SYNTHETIC data from make_fullyear.py).

Each measurement runs in a fresh subprocess (``--one NAME``) and times its work
from inside (interpreter start-up excluded; imports included where they are part
of the work). A warm-up batch run first fills the OS page cache and the parquet
cache, so every measurement reads warm files.

- floor: ``floor.py`` (plain pandas closed form, every single-country importer)
- batch1 / batch2: ``run_batch`` with ``--importers all``, all products, cap 5, 1 / 2 local workers
- dask2: the same on the 2-worker LocalCluster of ``--dask local:2`` (started, and its workers' imports done,
  before the clock: a running cluster pays them once, as forked pool workers inherit them from the client)
- run: ``tradeopt run`` EU27, all products, figures off, end to end (subprocess wall time)
- run_floor: the pandas closed form for the EU27 bloc reading the same parquet (subprocess wall time)
- caps10_batch1 / caps10_batch2: every importer, caps 0, 1, ..., 9 pp, on 1 / 2 local workers (reported: with
  many caps a year's importers are split over the workers, see ``cells.make_tasks``)
- years2_batch1 / years2_batch2: every importer, cap 5, two years (the year again as 2022, values x 0.9), on
  1 / 2 local workers (reported: with several years each pool worker reads and runs its own years)
- two independent processes (issue #24): year2022_batch1 and year2023_batch1, each one year of that two-year file
  on 1 worker, run one after the other and then side by side; the machine's own limit for two processes on this
  work. Target: the two-worker speed-up of the two-year batch is at least 0.9x the speed-up of the pair side by
  side (all four timed as process wall time, start-up included).

    python bench/batch_scale.py --rows 2000000 --products 3000
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))


def _scenario(parquet: str):
    from optimize.config.scenario import load_scenario

    return load_scenario("default", overrides=[f"data.baci={json.dumps(parquet)}", "basket.products=all"])


def one(name: str, parquet: str) -> dict:
    t0 = time.perf_counter()
    if name == "floor":
        from floor import floor

        out = floor(parquet, cap_pp=5.0)
        return {"seconds": time.perf_counter() - t0, "importers": int(out["j"].nunique())}
    import optimize.runs.batch as b

    caps = tuple(float(c) for c in range(10)) if name.startswith("caps10_") else (5.0,)
    years: tuple[int, ...] = ()
    if name.startswith("years2_"):  # two years: each pool worker reads and runs its own year
        parquet, years = two_years(parquet), (2022, 2023)
    elif name.startswith(("year2022_", "year2023_")):  # one year of the two-year file: an independent process
        parquet, years = two_years(parquet), (int(name[4:8]),)
    grid = b.Grid(importers=(b.ALL_IMPORTERS,), years=years, caps_pp=caps, risk_sets=(("CHN", "RUS", "USA"),))
    scen = _scenario(parquet)
    out_dir = Path(tempfile.mkdtemp()) / "batch"
    if name == "dask2":
        from optimize.runs.executors import _import_work_modules, close_dask, connect_dask

        client, _ = connect_dask("local:2", quiet=True)  # the cluster of `--dask local:2`
        try:
            client.run(_import_work_modules)  # a running cluster's workers have imported tradeopt already
            t0 = time.perf_counter()
            grid = grid.__class__(**{**grid.__dict__, "years": b.resolve_years(scen, None)})
            res = b.run_batch(scen, grid, out_dir, b.BatchOptions(dask_address=client, quiet=True))
        finally:
            close_dask(client)
    else:
        grid = grid.__class__(**{**grid.__dict__, "years": years or b.resolve_years(scen, None)})
        res = b.run_batch(scen, grid, out_dir, b.BatchOptions(workers=int(name[-1]), quiet=True))
    return {"seconds": time.perf_counter() - t0, "cells": len(res.computed), "table": str(out_dir / "batch.parquet")}


def two_years(parquet: str) -> str:
    """A file beside ``parquet`` holding its year as 2023 and, with values times 0.9, as 2022 (made once)."""
    out = Path(parquet).with_name(Path(parquet).stem + "_2years.parquet")
    if not out.is_file():
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        t = pq.read_table(parquet)
        year = pa.array([2022] * t.num_rows, t.schema.field("t").type)
        earlier = t.set_column(t.schema.get_field_index("t"), "t", year)
        earlier = earlier.set_column(earlier.schema.get_field_index("v"), "v", pc.multiply(earlier["v"], 0.9))
        pq.write_table(pa.concat_tables([earlier, t]), out)
    return str(out)


@functools.cache
def _env() -> dict:
    """The children's environment (``single_run.child_env``: bytecode cache on as installed, one cache
    folder for the whole benchmark so the warm-up's parquet cache serves every measurement)."""
    from single_run import child_env

    return child_env(Path(tempfile.mkdtemp(prefix="batch_scale_")))


def _sub(args: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True,
                          env=_env())
    if proc.returncode:
        raise RuntimeError(f"{args}: {proc.stderr[-2000:]}")
    return time.perf_counter() - t0, proc.stdout


def measure(name: str, parquet: str) -> dict:
    """Run ``one(name)`` in a child process; add the peak RSS (MiB) of the client (that process) and the
    largest peak of any worker process below it, RSS and USS (pages of its own: forked workers share the
    client's pages copy-on-write), sampled every 50 ms."""
    import psutil

    proc = subprocess.Popen([sys.executable, str(HERE / "batch_scale.py"), "--one", name, parquet], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env())
    root = psutil.Process(proc.pid)
    client = worker_rss = worker_uss = 0
    while proc.poll() is None:
        try:
            client = max(client, root.memory_info().rss)
            for child in root.children(recursive=True):
                if "python" in child.name():
                    info = child.memory_full_info()
                    worker_rss, worker_uss = max(worker_rss, info.rss), max(worker_uss, info.uss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"{name}: {err[-2000:]}")
    res = json.loads(out.strip().splitlines()[-1])
    mib = 2 ** 20
    return {**res, "client_peak_mib": client / mib, "worker_peak_rss_mib": worker_rss / mib,
            "worker_peak_uss_mib": worker_uss / mib}


def run_pair(parquet: str) -> dict:
    """``tradeopt run`` EU27 all products figures off vs the pandas closed form for EU27 (wall times)."""
    out = Path(tempfile.mkdtemp()) / "run"
    t_run, _ = _sub([sys.executable, str(ROOT / "cli.py"), "run", "--baci", parquet, "--importer", "EU27",
                     "--products", "all", "--no-figures", "--quiet", "--out", str(out)])
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); from floor import floor, eu27_codes; "
            f"print(floor({parquet!r}, cap_pp=5.0, bloc=eu27_codes()).query('risk == \"ALL\"').to_json())")
    t_floor, _ = _sub([sys.executable, "-c", code])
    return {"run_s": t_run, "run_floor_s": t_floor}


def _one_args(name: str, parquet: str) -> list[str]:
    return [sys.executable, str(HERE / "batch_scale.py"), "--one", name, parquet]


def independent_pair(parquet: str) -> dict:
    """Process wall times (s): the two-year batch on 1 and on 2 workers, and its two years as two independent
    one-year processes, one after the other and side by side (the machine's limit for two processes)."""
    out = {name + "_wall_s": _sub(_one_args(name, parquet))[0] for name in ("years2_batch1", "years2_batch2")}
    out["sequential_wall_s"] = sum(_sub(_one_args(f"year{y}_batch1", parquet))[0] for y in (2022, 2023))
    env = _env()
    t0 = time.perf_counter()
    procs = [subprocess.Popen(_one_args(f"year{y}_batch1", parquet), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for y in (2022, 2023)]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(err[-2000:])
    out["side_by_side_wall_s"] = time.perf_counter() - t0
    return out


def _medians(rounds: list[dict]) -> dict:
    """Per measurement: the median seconds over the rounds and the largest memory figures (first round's
    other fields)."""
    import statistics

    out = {}
    for name, first in rounds[0].items():
        if not isinstance(first, dict):
            out[name] = statistics.median(r[name] for r in rounds)
            continue
        out[name] = dict(first, seconds=statistics.median(r[name]["seconds"] for r in rounds))
        for key in ("client_peak_mib", "worker_peak_rss_mib", "worker_peak_uss_mib"):
            out[name][key] = max(r[name][key] for r in rounds)
    return out


def compare(floor_out: dict, batch_table: str, parquet: str) -> float:
    """Largest absolute difference of the risk shares, batch vs floor."""
    import numpy as np
    import pandas as pd
    from floor import floor

    from optimize.runs.grid import resolve_many

    fl = floor(parquet, cap_pp=5.0)
    t = pd.read_parquet(batch_table)
    t = t.assign(j=[r[0] for r in resolve_many(list(t["importer"]))])
    m = t.merge(fl, on=["j", "risk"], suffixes=("", "_f"))
    return float(max(np.abs(m["share_after"] - m["share_after_f"]).max(),
                     np.abs(m["share_before"] - m["share_before_f"]).max()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one", nargs=2, metavar=("NAME", "PARQUET"))
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--products", type=int, default=3_000)
    ap.add_argument("--repeat", type=int, default=3, help="rounds; each figure is the median over them")
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one(*args.one)))
        return 0
    from make_fullyear import WORK_DIR, generate

    parquet = WORK_DIR / f"synthetic_baci_Y2023_{args.rows}.parquet"
    if not parquet.is_file():
        generate(args.rows, products=args.products, formats=("csv.gz", "parquet"))
    parquet = str(parquet)
    load0 = os.getloadavg()
    measure("batch1", parquet)  # warm-up: page cache and parquet cache
    names = ("floor", "batch1", "batch2", "dask2", "caps10_batch1", "caps10_batch2", "years2_batch1",
             "years2_batch2")
    rounds = []
    for _ in range(args.repeat):  # interleaved rounds: a slow spell of the machine hits every measurement
        rounds.append({name: measure(name, parquet) for name in names} | run_pair(parquet)
                      | independent_pair(parquet))
    res = _medians(rounds)
    diff = compare(res["floor"], res["batch1"]["table"], parquet)
    load1 = os.getloadavg()
    f, b1, b2, d2 = (res[k]["seconds"] for k in ("floor", "batch1", "batch2", "dask2"))
    rows = [
        ("batch --importers all (1 worker) / floor", b1 / f, "<= 3x", b1 / f <= 3),
        ("1 worker / 2 workers, one year (reported)", b1 / b2, "-", True),
        ("LocalCluster(2) / local pool(2)", d2 / b2, "<= 1.15x", d2 / b2 <= 1.15),
        ("tradeopt run EU27 / pandas closed form", res["run_s"] / res["run_floor_s"], "<= 2x",
         res["run_s"] / res["run_floor_s"] <= 2),
        ("caps 0-9: 1 worker / 2 workers (reported)", res["caps10_batch1"]["seconds"]
         / res["caps10_batch2"]["seconds"], "-", True),
        ("two years: 1 worker / 2 workers (reported)", res["years2_batch1"]["seconds"]
         / res["years2_batch2"]["seconds"], "-", True),
    ]
    workers = res["years2_batch1_wall_s"] / res["years2_batch2_wall_s"]
    alone = res["sequential_wall_s"] / res["side_by_side_wall_s"]
    rows += [
        ("two years, process wall: 1 worker / 2 workers (reported)", workers, "-", True),
        ("two one-year processes: one after the other / side by side (reported)", alone, "-", True),
        ("two-worker speed-up / two-process speed-up", workers / alone, ">= 0.9x", workers / alone >= 0.9),
    ]
    print(f"median of {args.repeat} interleaved rounds; "
          f"{args.rows:,} rows target, {res['floor']['importers']} importers, {res['batch1']['cells']} cells; "
          f"load average {load0[0]:.1f} -> {load1[0]:.1f} on {os.cpu_count()} cores")
    print(f"seconds: floor {f:.2f}, batch1 {b1:.2f}, batch2 {b2:.2f}, dask2 {d2:.2f}, "
          f"run {res['run_s']:.2f}, run_floor {res['run_floor_s']:.2f}; max |share diff| {diff:.1e}")
    print("| ratio | measured | target | met |\n|---|---|---|---|")
    for name, r, target, ok in rows:
        met = "-" if target == "-" else "yes" if ok else "no"
        print(f"| {name} | {r:.2f}x | {target} | {met} |")
    print("\n| measurement | client peak RSS (MiB) | worker peak RSS / USS (MiB) |\n|---|---|---|")
    for name in ("batch1", "batch2", "dask2", "years2_batch1", "years2_batch2"):
        m = res[name]
        rss, uss = m["worker_peak_rss_mib"], m["worker_peak_uss_mib"]
        workers = f"{rss:,.0f} / {uss:,.0f}" if rss else "-"
        print(f"| {name} | {m['client_peak_mib']:,.0f} | {workers} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
