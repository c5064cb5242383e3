"""Generate a full-year-sized SYNTHETIC BACI file (t,i,j,k,v,q) for benchmarks.

Not real trade data. Default size is about one BACI year: ~11 million flows,
5,600 HS6 products, every country of ``data/baci/country_codes.csv`` (238).
Values (kUSD) are lognormal and skewed towards large exporters/importers;
about 8 % of quantities (tonnes) are missing. Flows are drawn product chunk by product
chunk and written in BACI's file order (sorted by t, i, j, k, as CEPII's files are), so
the whole year is held in memory once (about 0.5 GB at the default size).

    python bench/make_fullyear.py                 # ~11M rows -> bench/work/
    python bench/make_fullyear.py --rows 200000   # scaled down

Outputs ``synthetic_baci_Y<year>_<rows>.csv.gz`` and ``.parquet`` (same rows),
written atomically. Deterministic for a given (seed, rows, products, year).
Products include the shipped basket's HS6 codes when ``optimize.data.basket`` is
available, so basket runs find their products.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
WORK_DIR = ROOT / "bench" / "work"
DEFAULT_ROWS = 11_000_000
DEFAULT_PRODUCTS = 5_600
MISSING_Q_SHARE = 0.08
#: Largest traders first: they get the largest size draws (ISO3 from the country table).
BIG_TRADERS = ("CHN", "USA", "DEU", "JPN", "KOR", "NLD", "FRA", "ITA", "GBR", "IND", "MEX", "CAN", "RUS",
               "BEL", "SGP", "ESP", "CHE", "POL", "VNM", "TWN", "AUS", "BRA", "MYS", "THA", "SWE")

SCHEMA = pa.schema([("t", pa.int16()), ("i", pa.int32()), ("j", pa.int32()), ("k", pa.string()),
                    ("v", pa.float64()), ("q", pa.float64())])


def country_sizes(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(BACI codes, relative trade size) for every country in the project's code table."""
    import pandas as pd

    table = pd.read_csv(ROOT / "data" / "baci" / "country_codes.csv", dtype={"iso3": str})
    table = table.sort_values("baci_code").reset_index(drop=True)
    codes = table["baci_code"].to_numpy(dtype=np.int32)
    sizes = np.sort(rng.lognormal(0.0, 1.3, codes.shape[0]))[::-1]
    order = np.argsort(-rng.random(codes.shape[0]))  # random rank for the rest
    iso = table["iso3"].to_numpy(dtype=str)
    big = [np.flatnonzero(iso == c)[0] for c in BIG_TRADERS if (iso == c).any()]
    rest = [int(x) for x in order if int(x) not in set(big)]
    ranked = np.asarray(big + rest)
    out = np.empty_like(sizes)
    out[ranked] = sizes
    return codes, out / out.sum()


def product_codes(n_products: int, rng: np.random.Generator) -> np.ndarray:
    """``n_products`` sorted 6-character HS6 codes: the basket's codes plus synthetic ones."""
    basket: list[str] = []
    try:
        from optimize.data.basket import load_basket

        basket = sorted(set(load_basket()["k"].astype(str)))
    except Exception:  # basket not available: synthetic codes only
        basket = []
    chapters = np.array([c for c in range(1, 98) if c != 77])
    pool = (chapters[:, None] * 10_000 + np.arange(100, 10_000, 7)[None, :]).ravel()
    pool = np.setdiff1d(pool, np.array([int(b) for b in basket], dtype=np.int64))
    n_extra = max(n_products - len(basket), 0)
    extra = np.sort(rng.choice(pool, size=min(n_extra, pool.shape[0]), replace=False))
    codes = np.union1d(np.array([int(b) for b in basket], dtype=np.int64), extra)
    return np.char.zfill(codes.astype(str), 6)


def flows_per_product(rows: int, n_products: int, n_countries: int, rng: np.random.Generator) -> np.ndarray:
    """Skewed number of flows per product summing to about ``rows`` (each <= 30 % of all pairs)."""
    weights = rng.lognormal(0.0, 1.0, n_products)
    max_pairs = int(0.3 * n_countries * (n_countries - 1))
    share = weights / weights.sum()
    scale = float(rows)
    for _ in range(20):  # re-scale so the capped counts still sum to ``rows``
        capped = np.minimum(share * scale, max_pairs)
        if capped.sum() >= rows * 0.999 or capped.sum() >= max_pairs * n_products * 0.999:
            break
        scale *= rows / capped.sum()
    return np.minimum(np.maximum(np.round(share * scale), 1), max_pairs).astype(np.int64)


def make_chunk(prod_idx: np.ndarray, counts: np.ndarray, codes_hs6: np.ndarray, countries: np.ndarray,
               size: np.ndarray, unit_value: np.ndarray, year: int, rng: np.random.Generator) -> pa.Table:
    """Flows of the products ``prod_idx`` (``counts`` rows each, before de-duplication)."""
    n_c = countries.shape[0]
    want = counts[prod_idx]
    max_pairs = n_c * (n_c - 1)
    # oversample (duplicates and i == j are dropped), more where the product's pairs fill up
    draw = np.round(want * (1.3 + 6.0 * want / max_pairs) + 5).astype(np.int64)
    p = np.repeat(prod_idx, draw)
    ex = rng.choice(n_c, size=p.shape[0], p=size)
    im = rng.choice(n_c, size=p.shape[0], p=np.sqrt(size) / np.sqrt(size).sum())
    ok = ex != im
    p, ex, im = p[ok], ex[ok], im[ok]
    key = (p.astype(np.int64) * n_c + ex) * n_c + im
    _, first = np.unique(key, return_index=True)
    first.sort()  # keep draw order, then trim each product to its target count
    p, ex, im = p[first], ex[first], im[first]
    rank = np.arange(p.shape[0]) - np.searchsorted(p, p, side="left")  # p is grouped (repeat order kept)
    keep = rank < counts[p]
    p, ex, im = p[keep], ex[keep], im[keep]
    n = p.shape[0]
    v = rng.lognormal(0.0, 2.2, n) * (size[ex] * n_c) ** 0.6 * (size[im] * n_c) ** 0.3 * 20.0
    v = np.maximum(np.round(v, 3), 0.001)
    q = np.round(v / unit_value[p], 3)
    q_missing = rng.random(n) < MISSING_Q_SHARE
    order = np.lexsort((codes_hs6[p], countries[im], countries[ex]))  # BACI order: i, j, k
    return pa.table(
        {
            "t": pa.array(np.full(n, year, dtype=np.int16)),
            "i": pa.array(countries[ex][order]),
            "j": pa.array(countries[im][order]),
            "k": pa.array(codes_hs6[p][order]),
            "v": pa.array(v[order]),
            "q": pa.array(q[order], mask=q_missing[order]),
        },
        schema=SCHEMA,
    )


def _open_writers(tmps: dict) -> list:
    """[gzip sink or None, CSV writer, parquet writer] for the formats asked (None entries dropped, sink first)."""
    sink = pa.CompressedOutputStream(str(tmps["csv.gz"]), "gzip") if "csv.gz" in tmps else None
    out = []
    if sink is not None:
        sink.write(b"t,i,j,k,v,q\n")  # BACI header, unquoted
        out = [sink, pacsv.CSVWriter(sink, SCHEMA, write_options=pacsv.WriteOptions(
            include_header=False, quoting_style="none"))]
    else:
        out = [_NoSink()]
    if "parquet" in tmps:
        out.append(pq.ParquetWriter(str(tmps["parquet"]), SCHEMA, compression="zstd"))
    return out


class _NoSink:
    def close(self) -> None:
        pass


def generate(rows: int = DEFAULT_ROWS, *, products: int = DEFAULT_PRODUCTS, year: int = 2023, seed: int = 2025,
             out_dir: str | os.PathLike = WORK_DIR, chunk_rows: int = 1_000_000, formats=("csv.gz", "parquet"),
             quiet: bool = False) -> dict[str, Path]:
    """Write the synthetic year; returns {format: path}. Existing files of the same name are replaced."""
    rng = np.random.default_rng(seed)
    countries, size = country_sizes(rng)
    hs6 = product_codes(products, rng)
    counts = flows_per_product(rows, hs6.shape[0], countries.shape[0], rng)
    unit_value = rng.lognormal(1.0, 1.5, hs6.shape[0])  # kUSD per tonne
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"synthetic_baci_Y{year}_{rows}"
    paths = {fmt: out / f"{stem}.{fmt}" for fmt in formats}
    tmps = {fmt: p.with_name(f".{p.name}.tmp") for fmt, p in paths.items()}
    bounds = np.searchsorted(np.cumsum(counts), np.arange(chunk_rows, counts.sum() + chunk_rows, chunk_rows))
    start, written, t0 = 0, 0, time.perf_counter()
    chunks = []
    for stop in np.unique(np.minimum(bounds + 1, hs6.shape[0])):
        if stop <= start:
            continue
        chunks.append(make_chunk(np.arange(start, stop), counts, hs6, countries, size, unit_value, year, rng))
        written += chunks[-1].num_rows
        start = stop
        if not quiet:
            print(f"  {written:>12,} rows  products {stop:>5}/{hs6.shape[0]}  {time.perf_counter() - t0:6.1f}s",
                  file=sys.stderr)
    # one table in BACI's file order (t, i, j, k): real BACI files come sorted so
    table = pa.concat_tables(chunks).sort_by([("i", "ascending"), ("j", "ascending"), ("k", "ascending")])
    del chunks
    writers = _open_writers(tmps)
    try:
        for offset in range(0, table.num_rows, chunk_rows):
            for w in writers[1:]:
                w.write_table(table.slice(offset, chunk_rows))
    finally:
        for w in (*writers[1:], writers[0]):  # the CSV writer before its gzip sink
            w.close()
    for fmt in paths:
        os.replace(tmps[fmt], paths[fmt])
    if not quiet:
        print(f"wrote {written:,} rows, {hs6.shape[0]} products, {countries.shape[0]} countries -> "
              + ", ".join(str(p) for p in paths.values()), file=sys.stderr)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="target number of flows (default 11,000,000)")
    ap.add_argument("--products", type=int, default=DEFAULT_PRODUCTS)
    ap.add_argument("--year", type=int, default=2023)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--out", default=str(WORK_DIR), help="output folder (default bench/work)")
    ap.add_argument("--chunk-rows", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    generate(args.rows, products=args.products, year=args.year, seed=args.seed, out_dir=args.out,
             chunk_rows=args.chunk_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
