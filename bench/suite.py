"""Benchmark suite: ratios measured in one run, peak memory per measurement, machine description.

    python bench/suite.py            # full size (~11M rows; generates bench/work/ data if missing)
    python bench/suite.py --smoke    # reduced size, < 60 s (CI)
    python bench/suite.py --rows 2000000

Each measurement runs in its own subprocess (``--measure NAME``) whose peak RSS
(process tree, sampled with psutil every 20 ms) is recorded. Ratios and targets:

- ingest: ``baci.convert`` (CSV.gz -> validated parquet) / bare ``pyarrow.csv.read_csv`` +
  ``pyarrow.parquet.write_table`` of the same file   (<= 2x)
- eu27: EU27 all-products from flows in memory: build + ``engine.reallocate`` /
  build + ``lp.closed_form``   (<= 5x); peak memory of read + build + solve (< 3 GB at full size)
- backend: Pyomo / highspy on the EU27 basket instance   (>= 10x)
- batch: 28 importers (EU27 + 27 members, basket) on 1 worker / 2 workers   (>= 1.6x); the batched
  closed form (``batch``, the default) and one pipeline solve per cell (``batch_cells``, ``--per-cell``)
- joint: 28 importers as one coupled LP (first stage: ``lp.build_lp(joint=True)`` +
  ``solve_highs``), IPM vs dual simplex (reported, no target). The engine's
  second-stage tie-break LP is not timed here.

``--smoke`` also cuts the batch and joint measurements to 10 importers
(EU27 + 9 members; ``TRADEOPT_BENCH_IMPORTERS``).

Results: ``bench/results/suite-<size>.json`` and ``.md`` (SYNTHETIC data, see make_fullyear.py).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
SMOKE_ROWS, SMOKE_PRODUCTS = 150_000, 800
TARGETS = {"ingest": ("<=", 2.0), "eu27": ("<=", 5.0), "backend": (">=", 10.0), "batch": (">=", 1.6),
           "batch_cells": (">=", 1.6)}


# ------------------------------------------------------------------ measurements (run in a child process)


def _eu27_instance(parquet: str, products):
    from optimize.data import baci
    from optimize.data.countries import EU27
    from optimize.model.instance import build_instance

    t0 = time.perf_counter()
    td = baci.read_baci(parquet, products=products)
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    inst = build_instance(td.flows, importer="EU27", importer_codes=EU27, year=int(td.years[-1]), products=products,
                          risk_codes=(156, 643, 842))
    return td, inst, read_s, time.perf_counter() - t0


def _basket_codes() -> list[str]:
    from optimize.data.basket import load_basket

    return sorted(set(load_basket()["k"].astype(str)))


def m_ingest_convert(csv: str) -> dict:
    from optimize.data.convert import convert

    out = Path(tempfile.mkdtemp()) / "converted.parquet"
    t0 = time.perf_counter()
    convert(csv, out=out)
    return {"seconds": time.perf_counter() - t0}


def m_ingest_bare(csv: str) -> dict:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    out = Path(tempfile.mkdtemp()) / "bare.parquet"
    t0 = time.perf_counter()
    tbl = pacsv.read_csv(csv)
    read_s = time.perf_counter() - t0
    pq.write_table(tbl, out)
    return {"seconds": time.perf_counter() - t0, "read_s": read_s, "rows": tbl.num_rows}


def m_eu27(parquet: str) -> dict:
    from optimize.model.engine import reallocate
    from optimize.model.lp import closed_form

    td, inst, read_s, build_s = _eu27_instance(parquet, None)
    t0 = time.perf_counter()
    reallocate([inst])
    solve_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    closed_form(inst)
    closed_s = time.perf_counter() - t0
    return {"read_s": read_s, "build_s": build_s, "reallocate_s": solve_s, "closed_form_s": closed_s,
            "rows": int(len(td.flows)), "pairs": inst.n_pairs, "products": inst.n_products,
            "seconds": read_s + build_s + solve_s}


def m_backend(parquet: str) -> dict:
    from optimize.model.engine import EngineOptions, reallocate

    _, inst, _, _ = _eu27_instance(parquet, _basket_codes())
    out = {"pairs": inst.n_pairs}
    for backend in ("highs", "pyomo"):
        t0 = time.perf_counter()
        reallocate([inst], EngineOptions(backend=backend))
        out[f"{backend}_s"] = time.perf_counter() - t0
    out["seconds"] = out["highs_s"] + out["pyomo_s"]
    return out


def m_batch(parquet: str, workers: int, fast: bool = True) -> dict:
    import optimize.runs.batch as b
    from optimize.config.scenario import load_scenario

    scen = load_scenario("default", overrides=[f"data.baci={json.dumps(str(parquet))}"])
    prepared_t0 = time.perf_counter()
    importers = (("EU27",) + b.parse_importers("all-eu"))[:int(os.environ.get("TRADEOPT_BENCH_IMPORTERS", "28"))]
    grid = b.Grid(importers=importers, years=b.resolve_years(scen, None), caps_pp=(5.0,),
                  risk_sets=(("CHN", "RUS", "USA"),))
    res = b.run_batch(scen, grid, Path(tempfile.mkdtemp()) / "batch",
                      b.BatchOptions(workers=workers, quiet=True, fast=fast))
    return {"seconds": time.perf_counter() - prepared_t0, "cells": len(res.computed)}


def m_joint(parquet: str) -> dict:
    from optimize.data import baci
    from optimize.data.countries import EU27, to_iso3
    from optimize.model.instance import build_instance
    from optimize.model.lp import build_lp
    from optimize.solve.highs import solve_highs

    products = _basket_codes()
    td = baci.read_baci(parquet, products=products)
    year = int(td.years[-1])
    sets = [("EU27", EU27)] + [(str(iso), (code,)) for iso, code in zip(to_iso3(EU27), EU27, strict=False)]
    sets = sets[:int(os.environ.get("TRADEOPT_BENCH_IMPORTERS", "28"))]
    insts = []
    for label, codes in sets:
        try:
            insts.append(build_instance(td.flows, importer=label, importer_codes=codes, year=year, products=products,
                                        risk_codes=(156, 643, 842)))
        except Exception:  # an importer without basket imports at small sizes
            continue
    lp = build_lp(insts, joint=True)
    out = {"importers": len(insts), "pairs": sum(i.n_pairs for i in insts), "lp_rows": lp.n_rows,
           "lp_cols": lp.n_cols}
    for algo in ("ipm", "simplex"):
        t0 = time.perf_counter()
        sol = solve_highs(lp, algorithm=algo)
        out[f"{algo}_s"] = time.perf_counter() - t0
        out[f"{algo}_ran"] = sol.info.algorithm
        out[f"{algo}_objective"] = float(sol.info.objective)
    out["seconds"] = out["ipm_s"] + out["simplex_s"]
    return out


MEASURES = {
    "ingest_convert": lambda a: m_ingest_convert(a.csv),
    "ingest_bare": lambda a: m_ingest_bare(a.csv),
    "eu27": lambda a: m_eu27(a.parquet),
    "backend": lambda a: m_backend(a.parquet),
    "batch1": lambda a: m_batch(a.parquet, 1),
    "batch2": lambda a: m_batch(a.parquet, 2),
    "batch1_cells": lambda a: m_batch(a.parquet, 1, fast=False),
    "batch2_cells": lambda a: m_batch(a.parquet, 2, fast=False),
    "joint": lambda a: m_joint(a.parquet),
}


# ------------------------------------------------------------------ parent: subprocess + peak RSS


def measure(name: str, csv: Path, parquet: Path, timeout_s: float) -> dict:
    """Run one measurement in a child process; add its wall time and the peak RSS (MB) of its process tree."""
    import psutil

    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", name, "--csv", str(csv),
           "--parquet", str(parquet)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        if time.perf_counter() - t0 > timeout_s:
            proc.kill()
            break
        time.sleep(0.02)
    out, err = proc.communicate()
    result = {"name": name, "wall_s": time.perf_counter() - t0, "peak_rss_mb": peak / 2**20}
    if proc.returncode != 0:
        result["error"] = (err.strip().splitlines() or ["killed (timeout)"])[-1][:300]
        return result
    result.update(json.loads(out.strip().splitlines()[-1]))
    return result


def machine() -> dict:
    import importlib.metadata as md

    import psutil

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for pkg in ("numpy", "pandas", "pyarrow", "scipy", "highspy", "pyomo", "dask", "distributed"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = "-"
    return {"cpu": cpu, "cores_logical": os.cpu_count(), "cores_physical": psutil.cpu_count(logical=False),
            "ram_gb": round(psutil.virtual_memory().total / 2**30, 1), "os": platform.platform(),
            "python": platform.python_version(), "versions": versions,
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}


def ratios(res: dict) -> dict:
    """Headline ratios from the measurements (NaN where one side failed)."""
    nan = float("nan")

    def get(name, key="seconds"):
        return float(res.get(name, {}).get(key, nan))

    eu = res.get("eu27", {})
    build = float(eu.get("build_s", nan))
    return {
        "ingest": get("ingest_convert") / get("ingest_bare"),
        "eu27": (build + float(eu.get("reallocate_s", nan))) / (build + float(eu.get("closed_form_s", nan))),
        "backend": get("backend", "pyomo_s") / get("backend", "highs_s"),
        "batch": get("batch1") / get("batch2"),
        "batch_cells": get("batch1_cells") / get("batch2_cells"),
        "joint_ipm_over_simplex": get("joint", "ipm_s") / get("joint", "simplex_s"),
    }


def to_markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"# Benchmark suite: {report['size']} ({report['rows']:,} rows, SYNTHETIC data)", "",
             f"Run {report['started']}; {m['cpu']}, {m['cores_logical']} logical cores, {m['ram_gb']} GB RAM, "
             f"Python {m['python']}, " + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
             + f"; load average at start {m['load_avg_at_start']}.", "",
             "| ratio | measured | target | met |", "|---|---|---|---|"]
    for key, value in report["ratios"].items():
        op, target = TARGETS.get(key, (None, None))
        met = "" if op is None or value != value else ("yes" if (value <= target if op == "<=" else value >= target)
                                                         else "no")
        lines.append(f"| {key} | {value:.2f}x | {'' if op is None else f'{op} {target:g}x'} | {met} |")
    lines += ["", "| measurement | wall s | peak RSS MB | details |", "|---|---|---|---|"]
    for name, r in report["measurements"].items():
        details = ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()
                            if k not in ("name", "wall_s", "peak_rss_mb"))
        lines.append(f"| {name} | {r['wall_s']:.2f} | {r['peak_rss_mb']:.0f} | {details} |")
    return "\n".join(lines) + "\n"


def run_suite(rows: int | None, *, smoke: bool = False, out_dir: Path = RESULTS, only=None,
              timeout_s: float = 7200) -> dict:
    sys.path.insert(0, str(ROOT / "bench"))
    from make_fullyear import DEFAULT_ROWS, WORK_DIR, generate

    if smoke:
        os.environ.setdefault("TRADEOPT_BENCH_IMPORTERS", "10")
        timeout_s = min(timeout_s, 120)
        rows = rows or SMOKE_ROWS
        work = Path(tempfile.mkdtemp(prefix="tradeopt-bench-"))
        paths = generate(rows, products=SMOKE_PRODUCTS, out_dir=work, quiet=True)
    else:
        rows = rows or DEFAULT_ROWS
        stem = WORK_DIR / f"synthetic_baci_Y2023_{rows}"
        paths = {"csv.gz": Path(f"{stem}.csv.gz"), "parquet": Path(f"{stem}.parquet")}
        if not all(p.exists() for p in paths.values()):
            paths = generate(rows)
    report = {"size": "smoke" if smoke else "full" if rows == DEFAULT_ROWS else f"{rows} rows", "rows": rows,
              "importers": int(os.environ.get("TRADEOPT_BENCH_IMPORTERS", "28")),
              "started": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(), "measurements": {}}
    for name in MEASURES:
        if only and name not in only:
            continue
        r = measure(name, paths["csv.gz"], paths["parquet"], timeout_s)
        report["measurements"][name] = r
        print(f"  {name:<15} {r['wall_s']:8.2f}s  peak {r['peak_rss_mb']:7.0f} MB  {r.get('error', '')}",
              file=sys.stderr)
    report["ratios"] = ratios(report["measurements"])
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = "smoke" if smoke else f"{rows}"
    from optimize.atomic import atomic_write_text

    atomic_write_text(out_dir / f"suite-{tag}.json", json.dumps(report, indent=1, default=str))
    atomic_write_text(out_dir / f"suite-{tag}.md", to_markdown(report))
    return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="tradeopt benchmark suite")
    ap.add_argument("--smoke", action="store_true", help=f"reduced size ({SMOKE_ROWS:,} rows) for CI")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--only", default=None, help="comma-separated measurement names")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--measure", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--csv", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--parquet", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure:
        import logging

        logging.disable(logging.WARNING)
        print(json.dumps(MEASURES[args.measure](args), default=float))
        return 0
    report = run_suite(args.rows, smoke=args.smoke, out_dir=Path(args.out),
                       only=set(args.only.split(",")) if args.only else None)
    print(to_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
