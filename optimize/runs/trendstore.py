"""A trend's folder as its resume record: each finished year is appended to the folder's dataset as it
finishes (``runs.resume``: the one writer's lock, the content key, the Parquet parts), so a trend re-run into
its folder computes only the years without a record of the same content key.

Tables, partitioned by year and the scenario's cap basis: ``trend_rows`` (``TREND_COLUMNS``),
``trend_shares`` (risk, k, value_usd, risk_usd), ``trend_products`` (k, description), ``trend_flags``
(screen, k: what ``persistence.year_flags`` flagged on the year's flows) and, written last, the record
``trend_years`` (one row per year: its run facts as JSON). The key covers the scenario (any year), the data's
identity and ``RECORD_VERSION``, not the years asked: a longer trend re-uses the years it has.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from optimize.analysis.persistence import YEAR_SCREENS
from optimize.runs import resume

#: Columns of ``trend.csv``.
TREND_COLUMNS = ("year", "risk", "share_before", "share_after", "total_usd", "shifted_usd", "hhi_before",
                 "hhi_after", "cost_usd")


@dataclass
class YearRun:
    """What the trend keeps of one year's run: its headline rows, the per-product risk values (for the
    decomposition), product descriptions and the run's facts."""

    year: int
    rows: pd.DataFrame  # TREND_COLUMNS
    shares: pd.DataFrame  # [risk, k, value_usd, risk_usd]
    products: pd.DataFrame  # [k, description]
    meta: dict
    flags: dict[str, set[str]] = field(default_factory=dict)  # persistence.year_flags


#: The record tables (the record ``trend_years`` last, as ``resume.write_parts`` wants it).
TABLES = ("trend_rows", "trend_shares", "trend_products", "trend_flags", "trend_years")
#: The ``ownership.run_key`` of a trend folder.
TREND_KEY = "trend"
#: The tables of a trend's folder (``<name>.csv`` and ``.parquet``).
TREND_TABLES = ("trend", "decomposition", "decomposition_products", "screens", "screens_survival")
#: Everything a trend writes in its folder (``atomic.claim_dir``).
TREND_OWNS = (*(f"{t}.{ext}" for t in TREND_TABLES for ext in ("csv", "parquet")), "summary.json", "summary.md",
              "datapackage.json", "figures/", f"{resume.DATASET}/")
#: Raised when what a year's record holds changes: older records are then another run's results.
RECORD_VERSION = 1
_COLUMNS = {"trend_shares": ["risk", "k", "value_usd", "risk_usd"], "trend_products": ["k", "description"],
            "trend_flags": ["screen", "k"]}


@dataclass(frozen=True)
class _Options:
    """What the content key covers beside the scenario and the data (``resume.scenario_hash``)."""

    kind: str = "trend"
    version: int = RECORD_VERSION


class YearStore:
    """The finished years of one content key in a locked trend folder."""

    def __init__(self, out: Path, digest: str, run_id: str, basis: str):
        self.out, self.digest, self.run_id, self.basis, self.seq = out, digest, run_id, basis, 0

    def add(self, run) -> None:
        """Append the ``trend.YearRun`` ``run`` (its parts, the record last)."""
        key = {"year": int(run.year), "cap_basis": self.basis, "cell_key": f"trend-{int(run.year)}"}
        flags = pd.DataFrame([(s, k) for s, codes in sorted(run.flags.items()) for k in sorted(codes)],
                             columns=_COLUMNS["trend_flags"])
        frames = {"trend_rows": run.rows, "trend_shares": run.shares, "trend_products": run.products,
                  "trend_flags": flags,
                  "trend_years": pd.DataFrame([{"status": "ok", "meta": json.dumps(run.meta, default=str)}])}
        resume.write_parts(self.out, {name: f.assign(**key) for name, f in frames.items()}, self.digest,
                           self.run_id, self.seq)
        self.seq += 1

    def finished(self, years: Sequence[int]) -> dict:
        """{year: ``trend.YearRun``} of the ``years`` with a record."""

        done = resume.finished(self.out, self.digest, record="trend_years")
        if done.empty:
            return {}
        done = done.loc[done["year"].isin([int(y) for y in years])]
        tables = {t: resume.read_table(self.out, t, done) for t in TABLES[:-1]}

        def part(table: str, key: str, columns: list[str]) -> pd.DataFrame:
            df = tables[table]
            if df.empty:
                return pd.DataFrame(columns=columns)
            return df.loc[df["cell_key"] == key, columns].reset_index(drop=True)

        out = {}
        for rec in done.itertuples():
            flags = part("trend_flags", rec.cell_key, _COLUMNS["trend_flags"])
            out[int(rec.year)] = YearRun(
                year=int(rec.year), rows=part("trend_rows", rec.cell_key, list(TREND_COLUMNS)),
                shares=part("trend_shares", rec.cell_key, _COLUMNS["trend_shares"]),
                products=part("trend_products", rec.cell_key, _COLUMNS["trend_products"]),
                meta=json.loads(rec.meta),
                flags={s: set() for s in YEAR_SCREENS} | {s: set(g["k"].astype(str))
                                                          for s, g in flags.groupby("screen")})
        return out


@contextmanager
def year_store(out_dir, scen, data, overwrite: bool = False) -> Iterator[YearStore | None]:
    """The ``YearStore`` of ``out_dir`` (None: no folder, nothing kept) for the block, holding the folder's
    lock: claimed as a trend folder (``atomic.claim_dir``), dead writers' leftovers removed, parts of another
    content key replaced only with ``overwrite`` (else ``OutputError``)."""
    if out_dir is None:
        yield None
        return
    from optimize.atomic import claim_dir
    from optimize.runs.pipeline import for_year

    out = claim_dir(out_dir, owns=TREND_OWNS, overwrite=overwrite, run_key=TREND_KEY)
    run_id = resume.new_run_id()
    lock = resume.acquire_lock(out, run_id)
    try:
        resume.remove_stale(out)
        digest = resume.scenario_hash(for_year(scen, 0), _Options(), data)
        resume.tidy_dataset(out, digest, replace=overwrite, tables=TABLES)
        yield YearStore(out, digest, run_id, str(scen.cap.basis))
    finally:
        resume.release_lock(lock)


def carried(out_dir) -> dict[str, bytes]:
    """The record parts in ``out_dir`` (``resume.part_files``), for the trend's final write of its folder."""
    return resume.part_files(Path(out_dir), TABLES) if out_dir is not None and Path(out_dir).is_dir() else {}
