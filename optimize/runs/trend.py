"""A trend over years: the scenario's run once per year, and its headline per year and risk country.

A planner, no model arithmetic of its own: each year is ``pipeline.prepare`` (the year's data read and
selected as ``tradeopt run --year Y`` does) and ``pipeline.solve_cell`` (one engine call), and the
rows are read off the run's own tables. All years must be of one HS revision (taken from the file
names, the setting or detected from the codes); a mix is refused naming the years. Values USD,
shares 0..1.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from optimize.config.scenario import Scenario
from optimize.errors import DataError, ScenarioError
from optimize.runs.trendstore import TREND_COLUMNS, YearRun, year_store


@dataclass
class TrendResult:
    """The trend: ``table`` (``TREND_COLUMNS``), the decomposition and its top products, the settings."""

    table: pd.DataFrame
    decomposition: pd.DataFrame
    top_products: pd.DataFrame
    settings: dict
    screens: pd.DataFrame = field(default_factory=pd.DataFrame)  # persistence.SCREENS_COLUMNS
    survival: pd.DataFrame = field(default_factory=pd.DataFrame)  # persistence.SURVIVAL_COLUMNS
    synthetic: bool = False
    years: list[YearRun] = field(default_factory=list)
    computed: list[int] = field(default_factory=list)  # the years this call ran (the rest: the folder's records)


def _named_files(scen: Scenario, data) -> list[tuple[str, int | None, str | None]]:
    """(file or zip member, year, HS revision) named by each flow file of a path ``data`` ([] otherwise)."""
    from optimize.data import baci

    path = data if isinstance(data, (str, Path)) else (scen.data.baci or None) if data is None else None
    if path is None or not Path(path).exists():
        return []
    files, _ = baci._flow_sources(Path(path), None)
    out = []
    for f, member, _label in files:
        name = Path(member or f.name).name
        meta = baci.parse_name(name)
        out.append((name, meta["year"], meta["hs"].upper() if meta["hs"] else None))
    return out


def data_years(scen: Scenario, data) -> list[int]:
    """The years of ``data``: from the file names of a folder or release zip when each names its year, else
    every year read. Files naming two HS revisions are a ``DataError`` naming one of each."""
    from optimize.runs import pipeline

    named = _named_files(scen, data)
    revisions = {hs: name for name, _, hs in named if hs}
    if len(revisions) > 1:
        (a, fa), (b, fb) = sorted(revisions.items())[:2]
        raise DataError(f"files of two HS revisions: {fa} is {a}, {fb} is {b}", file=fb, field="hs revision",
                        fix=_MIXED_FIX)
    if named and all(y is not None for _, y, _ in named):
        return sorted({int(y) for _, y, _ in named})
    return pipeline.data_years(scen, data)


_MIXED_FIX = ("give yearly files of one HS revision (CEPII publishes every year in each revision: take all years "
              "from one release, e.g. BACI_HS17 for 2017-2024)")


def known_years(scen: Scenario, data, wanted: Sequence[int] | None, field: str = "--years") -> list[int]:
    """``wanted`` (None: every year of the data), each a year of the data (``data_years``, which also refuses
    files naming two HS revisions), else a ``ScenarioError`` naming the years there are."""
    found = data_years(scen, data)
    if not wanted:
        return found
    missing = sorted({int(y) for y in wanted} - set(found))
    if missing:
        raise ScenarioError(f"year(s) {', '.join(map(str, missing))} not in the data (years: {found})",
                            file=str(data if isinstance(data, (str, Path)) else scen.data.baci or "the data"),
                            field=field, fix=f"choose years among {found}")
    return sorted({int(y) for y in wanted})


def prepare_years(scen: Scenario, data, years: Sequence[int]) -> list:
    """``pipeline.Prepared`` of each year (as ``run --year Y`` reads it); years of different HS revisions
    are a ``DataError`` naming them."""
    from optimize.runs import pipeline

    prepared = [pipeline.prepare_year(scen, y, data) for y in years]
    same_revision([(p.year, p.hs_revision.code, p.hs_revision.label, str(p.trade.source)) for p in prepared])
    return prepared


def same_revision(years: list[tuple[int, str | None, str, str]]) -> None:
    """A ``DataError`` naming two of ``years`` ((year, HS revision, its label, the file read)) when they are
    not all of the first year's HS revision."""
    for year, code, label, source in years[1:]:
        if code != years[0][1]:
            raise DataError(f"years of two HS revisions: {years[0][0]} is {years[0][2]}, {year} is {label}",
                            file=source, field="hs revision", fix=_MIXED_FIX)


def headline(result) -> pd.DataFrame:
    """The trend rows of one run (``TREND_COLUMNS``): per risk country and ALL, from the run's exposure table
    and summary; ``shifted_usd`` = the country's cut (before - after; ALL: the run's shifted value);
    ``total_usd``, the HHIs and ``cost_usd`` (the run's cost block; NaN without one) are the basket's."""
    ex, s = result.tables.exposure, result.tables.summary
    cost = getattr(result.tables, "cost", None) or {}
    cut = (ex["before_usd"] - ex["after_usd"]).astype(float)
    shifted = cut.where(ex["iso3"].astype(str) != "ALL", float(s["shifted_usd"])).to_numpy(dtype=float)
    return pd.DataFrame({
        "year": int(s["year"]), "risk": ex["iso3"].astype(str).to_numpy(),
        "share_before": ex["share_before"].to_numpy(dtype=float),
        "share_after": ex["share_after"].to_numpy(dtype=float),
        "total_usd": float(s["total_usd"]), "shifted_usd": shifted, "hhi_before": float(s["hhi_before"]),
        "hhi_after": float(s["hhi_after"]),
        "cost_usd": float(cost["total_usd"]) if cost.get("total_usd") is not None else float("nan"),
    })[list(TREND_COLUMNS)]


def risk_values(result) -> pd.DataFrame:
    """[risk, k, value_usd, risk_usd] of one run (before re-allocation): each product's imports and the
    part from each risk country and from all of them (``ALL``), from the run's flows and products tables."""
    flows, products = result.tables.flows, result.tables.products
    value = products[["k", "total_usd"]].rename(columns={"total_usd": "value_usd"})
    risky = flows.loc[flows["is_risk"].astype(bool)]
    labels = [str(r) for r in result.tables.exposure["iso3"] if str(r) != "ALL"]
    per = risky.groupby(["exporter", "k"])["before_usd"].sum()
    parts = []
    for label in [*labels, "ALL"]:
        got = risky.groupby("k")["before_usd"].sum() if label == "ALL" else (
            per.loc[label] if label in per.index.get_level_values(0) else pd.Series(dtype=float))
        part = value.assign(risk=label)
        part["risk_usd"] = part["k"].map(got).fillna(0.0).to_numpy(dtype=float)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)[["risk", "k", "value_usd", "risk_usd"]]


def year_run(scen: Scenario, data, year: int) -> YearRun:
    """One year where it runs (this process, a pool or Dask worker): ``pipeline.prepare_year``, one
    ``pipeline.solve_cell`` (the run's one engine call), the screens on the year's flows
    (``persistence.year_flags``), and what the trend keeps of them (the flows stay here)."""
    from optimize.analysis.persistence import year_flags
    from optimize.config.resolve import resolve
    from optimize.runs import pipeline

    prepared = pipeline.prepare_year(scen, year, data)
    result = pipeline.solve_cell(prepared)
    meta = {k: result.meta[k] for k in ("year", "data_label", "hs_revision", "hs_revision_source", "status",
                                        "n_products", "importer", "risk_iso3", "cap_pp", "cap_basis")}
    flags = year_flags(prepared.flows, resolve(scen).importer_codes, prepared.year, scen.importer.intra_bloc)
    return YearRun(year=prepared.year, rows=headline(result), shares=risk_values(result),
                   products=prepared.product_info[["k", "description"]],
                   meta=meta | {"synthetic": result.synthetic, "notes": result.meta["notes"]}, flags=flags)


def trend(scen: Scenario, data=None, years: Sequence[int] | None = None, top: int = 5,
          workers: int = 1, client=None, out_dir=None, overwrite: bool = False) -> TrendResult:
    """The trend of ``scen`` over ``years`` (None: every year of the data) of ``data`` (a folder, a release
    zip, one file or TradeData (several files: read into one by the API); None: the scenario's ``data.baci``);
    the years run on the executors (``year_runs``: ``workers`` > 1 a local pool, ``client`` Dask).
    ``out_dir``: each finished year is kept there as it finishes (``trendstore``), and a re-run computes only
    the years without a record (``TrendResult.computed``); another run's records are replaced only with
    ``overwrite``. The folder's tables are written by ``api.trend.write_trend``."""

    given = years or ([scen.data.year] if scen.data.year else None)  # --year alone: a trend of one year
    wanted = known_years(scen, data, given)
    if not wanted:
        raise ScenarioError("no years to run", field="--years", fix="give --years, e.g. 2021-2023")
    with year_store(out_dir, scen, data, overwrite) as store:
        runs = store.finished(wanted) if store is not None else {}
        todo = [y for y in wanted if y not in runs]
        for run in year_runs(scen, data, todo, workers, client):
            if store is not None:
                store.add(run)
            runs[run.year] = run
    result = assemble(scen, [runs[y] for y in wanted], top)
    result.computed = todo
    return result


def assemble(scen: Scenario, runs: list[YearRun], top: int) -> TrendResult:
    """The ``TrendResult`` of the years' runs (in year order; one HS revision, else ``DataError``): the table,
    the decomposition and its ``top`` products, the screens' persistence and the settings."""
    from optimize.analysis.decompose import decompose_years
    from optimize.analysis.persistence import flagged_from_years, persistence, survival

    same_revision([(r.year, r.meta["hs_revision"], f"{r.meta['hs_revision']} ({r.meta['hs_revision_source']})",
                    r.meta["data_label"]) for r in runs])
    flagged = flagged_from_years({r.year: r.flags for r in runs})
    table = pd.concat([r.rows for r in runs], ignore_index=True)
    decomposition, tops = decompose_years({r.year: r.shares for r in runs}, top=top)
    names = pd.concat([r.products for r in runs]).drop_duplicates("k")
    tops = tops.merge(names, on="k", how="left")
    first = runs[0].meta
    settings = {"scenario": scen.name, "importer": first["importer"], "risk": first["risk_iso3"],
                "cap_pp": first["cap_pp"], "cap_basis": first["cap_basis"], "years": [r.year for r in runs],
                "hs_revision": f"{first['hs_revision']} ({first['hs_revision_source']})",
                "data_source": "; ".join(sorted({r.meta["data_label"] for r in runs})), "top_products": int(top),
                "decomposed": "share_before (the observed risk share of the basket's imports)"}
    settings["screens"] = ("ec, geodep (3-year window ending in the year), single (one supplier above 50%) on the "
                           "scenario's products")
    return TrendResult(table=table, decomposition=decomposition, top_products=tops, settings=settings,
                       synthetic=any(r.meta["synthetic"] for r in runs), years=runs,
                       screens=persistence(flagged), survival=survival(flagged))


def year_runs(scen: Scenario, data, years: Sequence[int], workers: int = 1, client=None) -> Iterator[YearRun]:
    """``year_run`` of each of ``years`` as they finish, on the executors (``calls.calls_as_done``: Dask with
    ``client``, batch's local pool with ``workers`` > 1, else here one after another)."""
    from optimize.runs.calls import calls_as_done

    return calls_as_done(year_run, scen, data, [(int(y),) for y in years], workers, client, label="trend")
