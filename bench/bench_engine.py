"""Benchmark of the engine on a synthetic full-year-sized instance (SYNTHETIC, not BACI).

EU27 bloc, ~5,000 products x 200 exporters (``--size`` scales the product
count), skewed lognormal values. Measures in one run: highspy build+solve,
the Pyomo backend (only up to ``--pyomo-max-products`` products; the ratio is
reported at the largest size measured), and the closed-form numpy solution;
peak RSS (psutil). Writes JSON to bench/results/.
Usage: python bench/bench_engine.py [--size 1.0] [--smoke]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from optimize.model.engine import EngineOptions, reallocate
from optimize.model.instance import build_instance
from optimize.model.lp import closed_form

EU27 = [40, 56, 100, 191, 196, 203, 208, 233, 246, 251, 276, 300, 348, 372, 380, 428, 440, 442, 470, 528,
        616, 620, 642, 703, 705, 724, 752]
RISK = [156, 842, 643]


def synthetic_flows(n_products: int, n_exporters: int, seed: int = 0) -> pd.DataFrame:
    """Exporters -> (EU members + 20 other importers), ~15% of cells non-zero, lognormal values (kUSD)."""
    rng = np.random.default_rng(seed)
    exporters = np.unique(np.concatenate([RISK, EU27, np.arange(1000, 1000 + n_exporters)]))[:max(n_exporters, 30)]
    importers = np.array(EU27 + list(range(5000, 5020)))
    n = n_products * exporters.size * importers.size
    density = 0.15
    m = int(n * density)
    cell = rng.choice(n, size=m, replace=False)
    k, rest = np.divmod(cell, exporters.size * importers.size)
    e, j = np.divmod(rest, importers.size)
    i_code, j_code = exporters[e], importers[j]
    keep = i_code != j_code
    size_e = rng.pareto(1.2, exporters.size) + 0.1
    v = rng.lognormal(2.0, 2.0, m) * size_e[e]
    hs6 = np.char.zfill(np.arange(n_products).astype(str), 6)
    return pd.DataFrame({"t": np.int16(2023), "i": i_code[keep].astype("int32"), "j": j_code[keep].astype("int32"),
                         "k": hs6[k[keep]], "v": np.round(v[keep], 3), "q": np.nan})


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def run(n_products: int, n_exporters: int, pyomo: bool) -> dict:
    flows = synthetic_flows(n_products, n_exporters)
    inst, build_s = timed(lambda: build_instance(flows, importer="EU27", importer_codes=EU27, year=2023,
                                                 products=None, risk_codes=RISK))
    highs, highs_s = timed(lambda: reallocate([inst]))
    cf, cf_s = timed(lambda: closed_form(inst))
    row = {"products": inst.n_products, "pairs": inst.n_pairs, "flows": len(flows), "build_instance_s": build_s,
           "highs_s": highs_s, "closed_form_s": cf_s, "highs_algorithm": highs[0].solver.algorithm,
           "max_abs_diff_vs_closed_form": float(np.abs(highs[0].x_after_kusd - cf).max())}
    if pyomo:
        py, py_s = timed(lambda: reallocate([inst], EngineOptions(backend="pyomo")))
        row["pyomo_s"] = py_s
        row["objective_rel_diff"] = abs(py[0].solver.objective - highs[0].solver.objective) / max(
            1.0, abs(highs[0].solver.objective))
    row["peak_rss_mb"] = psutil.Process().memory_info().rss / 2**20
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=float, default=1.0, help="fraction of 5,000 products")
    ap.add_argument("--exporters", type=int, default=200)
    ap.add_argument("--pyomo-max-products", type=int, default=1000)
    ap.add_argument("--smoke", action="store_true", help="tiny size for CI")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)
    if args.smoke:
        sizes, exporters = [20], 40
    else:
        full = max(1, int(5000 * args.size))
        sizes = sorted({min(full, args.pyomo_max_products), full})
        exporters = args.exporters
    rows = [run(n, exporters, pyomo=n <= (args.pyomo_max_products if not args.smoke else 10**9)) for n in sizes]
    print(f"{'products':>8} {'pairs':>9} {'highs s':>8} {'closed s':>8} {'pyomo s':>8} {'pyomo/highs':>11} "
          f"{'highs/closed':>12} {'RSS MB':>7}")
    for r in rows:
        py = r.get("pyomo_s")
        ratio = f"{py / r['highs_s']:.1f}x" if py else "-"
        print(f"{r['products']:>8} {r['pairs']:>9} {r['highs_s']:>8.3f} {r['closed_form_s']:>8.3f} "
              f"{(f'{py:.3f}' if py else '-'):>8} {ratio:>11} "
              f"{r['highs_s'] / r['closed_form_s']:>11.1f}x {r['peak_rss_mb']:>7.0f}")
    result = {"label": "SYNTHETIC benchmark instance, not real trade data", "smoke": args.smoke, "rows": rows,
              "machine": {"platform": platform.platform(), "python": sys.version.split()[0],
                          "cpu_count": os.cpu_count()}}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "smoke.json" if args.smoke else f"bench_{time.strftime('%Y%m%d_%H%M%S')}.json"
    (out / name).write_text(json.dumps(result, indent=2))
    print(f"written {out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
