"""`tradeopt run --bands` against the same run without bands (issue #25 item 6; SYNTHETIC data).

Target: a run with the default bands (caps 2.5, 5 and 10 pp around the run's 5 pp; each cap
re-solved, the cost at each sigma band and prior weight) takes at most 2x the plain run.
For each size (default 4.4M rows, 5,000 products; made by ``make_fullyear.py`` when
missing) it runs, alternately and each in a fresh process, ``tradeopt run`` EU27, risk
CHN/USA/RUS, 5 pp of world exports, ``--products all --no-figures``, with and without
``--bands``. Whole-process wall and CPU time (``single_run.timed``), median of ``--repeat``
rounds after one warm-up of each (page cache warm, the file validated once); prints the ratio.

    python bench/bands.py                          # 4.4M rows (minutes; machine to yourself)
    python bench/bands.py --rows 200000 --repeat 3
    python bench/bands.py --smoke                  # 20,000 rows, one round (tests/test_bench_single_run.py)
"""
from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from single_run import child_env, dataset, save_sizes, size_args, timed, tradeopt_args  # noqa: E402

TARGET = 2.0


def measure_size(parquet: Path, repeat: int) -> dict:
    """Medians of ``repeat`` alternating rounds of the run with and without ``--bands`` (wall and CPU s)."""
    with tempfile.TemporaryDirectory(prefix="bands_bench_") as tmp:
        env = child_env(Path(tmp))
        plain = tradeopt_args(parquet, Path(tmp) / "plain", False)
        bands = [*tradeopt_args(parquet, Path(tmp) / "bands", False), "--bands"]
        timed(plain, env)  # warm-up: the first read validates and marks the file
        timed(bands, env)
        rounds: dict[str, list[dict]] = {"plain": [], "bands": []}
        for _ in range(repeat):
            rounds["plain"].append(timed(plain, env))
            rounds["bands"].append(timed(bands, env))
    return {name: {k: statistics.median(r[k] for r in runs) for k in ("wall_s", "cpu_s")}
            for name, runs in rounds.items()}


def main(argv=None) -> int:
    args = size_args(__doc__, [4_400_000], argv)
    report = {}
    print(f"| rows | run --bands / run (wall, CPU; target <= {TARGET:g}x) | seconds: run --bands, run |")
    print("|---|---|---|")
    for rows in args.rows:
        med = measure_size(dataset(rows, args.products, args.work), args.repeat)
        ratio = {"wall": med["bands"]["wall_s"] / med["plain"]["wall_s"],
                 "cpu": med["bands"]["cpu_s"] / med["plain"]["cpu_s"]}
        report[str(rows)] = {"medians": med, "ratios": ratio, "target_met": ratio["wall"] <= TARGET}
        print(f"| {rows:,} | {ratio['wall']:.2f}x, {ratio['cpu']:.2f}x | {med['bands']['wall_s']:.2f}, "
              f"{med['plain']['wall_s']:.2f} |", flush=True)
    save_sizes(args, report, target=TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())
