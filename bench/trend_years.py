"""A trend over 8 years against 8 sequential runs, side by side (issue #26; SYNTHETIC data).

The years: one synthetic year of ``make_fullyear.py`` (default 4.4M rows, 5,000 products) and 7 earlier
ones derived from it (``t`` rewritten, values scaled by a per-year trend and a per-row factor drawn from
a seeded generator), written once to ``<work>/trend_<rows>/BACI_HS22_Y<year>_V202501.parquet``.
Then, alternately and each in a fresh process (wall time around ``subprocess.run``, CPU time of the
child), after one warm-up of each (page cache warm; a fresh cache folder):

- ``tradeopt trend`` over the folder, EU27, risk CHN/USA/RUS, 5 pp, ``--products all``, no figures,
  ``--workers 2`` (each run into a new folder: nothing is resumed);
- the same years as ``tradeopt run --no-figures``, one process per year's file, one after another.

Printed: the median of ``--repeat`` rounds and the ratio sequential / trend (target of issue #26: at
least 1.5, i.e. the trend takes at most 1/1.5 of the sequential total).

    python bench/trend_years.py                    # 8 years of 4.4M rows (minutes; machine to yourself)
    python bench/trend_years.py --rows 500000 --repeat 1
    python bench/trend_years.py --smoke            # 2 years of 20,000 rows, one round (tests/test_bench_trend_smoke.py)

The options are single_run.py's ``size_args`` (``--rows`` takes several sizes, one table line and one
``sizes`` entry of the JSON each) plus ``--years`` and ``--workers``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from single_run import CAP_PP, RISK, child_env, dataset, save_sizes, size_args, timed  # noqa: E402  (the single-run benchmark's helpers)

LAST_YEAR = 2023


def years_folder(rows: int, products: int, n_years: int, work: Path) -> Path:
    """The folder of ``n_years`` yearly files ending in ``LAST_YEAR`` (made once; the last year is
    ``make_fullyear.py``'s, the others derived from it)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = work / f"trend_{rows}"
    folder.mkdir(parents=True, exist_ok=True)
    base = None
    for year in range(LAST_YEAR - n_years + 1, LAST_YEAR + 1):
        path = folder / f"BACI_HS22_Y{year}_V202501.parquet"
        if path.is_file():
            continue
        base = base if base is not None else pq.read_table(dataset(rows, products, work))
        rng = np.random.default_rng(year)
        scale = 0.97 ** (LAST_YEAR - year) * rng.uniform(0.8, 1.2, base.num_rows)
        t = base.set_column(base.schema.get_field_index("t"), "t",
                            pa.array(np.full(base.num_rows, year, dtype=np.int16)))
        t = t.set_column(t.schema.get_field_index("v"), "v",
                         pa.array(np.round(base["v"].to_numpy() * scale, 3)))
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        pq.write_table(t, tmp)
        os.replace(tmp, path)
    return folder


def _common(workers: int | None = None) -> list[str]:
    return ["--importer", "EU27", "--risk", RISK, "--cap", str(CAP_PP), "--products", "all", "--no-figures",
            "--quiet", "--overwrite"] + (["--workers", str(workers)] if workers else [])


def trend_args(folder: Path, out: Path, workers: int) -> list[str]:
    return [sys.executable, str(ROOT / "cli.py"), "trend", "--baci", str(folder), *_common(workers), "-o", str(out)]


def run_args(path: Path, out: Path) -> list[str]:
    return [sys.executable, str(ROOT / "cli.py"), "run", "--baci", str(path), *_common(), "--out", str(out)]


def sequential(files: list[Path], tmp: Path, env: dict) -> dict:
    """One ``run --no-figures`` per yearly file, one after another: total wall and CPU seconds."""
    each = [timed(run_args(f, tmp / f"run_{f.stem}"), env) for f in files]
    return {k: sum(e[k] for e in each) for k in ("wall_s", "cpu_s", "user_s")}


def measure(folder: Path, repeat: int, workers: int, warm: bool) -> dict:
    """Medians of ``repeat`` alternating rounds of the trend and the sequential runs (after a warm-up)."""
    files = sorted(folder.glob("BACI_*.parquet"))
    with tempfile.TemporaryDirectory(prefix="trend_years_") as tmp_s:
        tmp = Path(tmp_s)
        env = child_env(tmp)
        if warm:  # the first reads validate and mark the files; the page cache is warm afterwards
            sequential(files, tmp, env)
            timed(trend_args(folder, tmp / "trend_warm", workers), env)
        rounds: dict[str, list[dict]] = {"trend": [], "sequential": []}
        for i in range(repeat):
            rounds["trend"].append(timed(trend_args(folder, tmp / f"trend_{i}", workers), env))
            rounds["sequential"].append(sequential(files, tmp, env))
    med = {name: {k: statistics.median(r[k] for r in runs) for k in ("wall_s", "cpu_s", "user_s")}
           for name, runs in rounds.items()}
    return {"medians": med, "years": len(files), "workers": workers,
            "ratio_wall": med["sequential"]["wall_s"] / med["trend"]["wall_s"]}


def _trend_options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--years", type=int, default=8, help="yearly files (--smoke: 2)")
    ap.add_argument("--workers", type=int, default=2)


def main(argv=None) -> int:
    args = size_args(__doc__, [4_400_000], argv, repeat=3, more=_trend_options)
    warm = not args.smoke
    if args.smoke:
        args.years = 2
    print(f"| rows per year | years | trend --workers {args.workers} (s) | {args.years} x run --no-figures (s) | "
          "sequential / trend (target >= 1.5) |")
    print("|---|---|---|---|---|")
    report = {}
    for rows in args.rows:
        got = measure(years_folder(rows, args.products, args.years, args.work), args.repeat, args.workers, warm)
        report[str(rows)] = got
        med = got["medians"]
        print(f"| {rows:,} | {args.years} | {med['trend']['wall_s']:.2f} | {med['sequential']['wall_s']:.2f} | "
              f"{got['ratio_wall']:.2f}x |", flush=True)
    save_sizes(args, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
