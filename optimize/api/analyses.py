"""Screens and analyses of the public API: dependency screens on trade data, and the frontier, cost and
binding analyses of a scenario's re-allocation. Every table is in USD (``*_usd``), shares 0..1, countries
ISO3 with the BACI code beside them; with ``out_dir`` each writes a folder as ``run`` does (each table as
CSV and Parquet, summary.json with its settings, datapackage.json; ``optimize.output.folder``).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimize.api.checks import api_checked

if TYPE_CHECKING:
    import pandas as pd

    from optimize.config.scenario import Scenario
    from optimize.data.trade import TradeData
    from optimize.runs.result import RunResult

#: The screens: kind -> the ``optimize.analysis.screens`` function.
SCREENS = {"ec": "ec_screen", "geodep": "geodep_screen", "single": "single_country_screen"}


@api_checked
def screen(kind: str, data: str | Path | Sequence[str | Path] | pd.DataFrame | TradeData | None = None, *,
           importer: str | int | Sequence[str | int] = "EU27", year: int | None = None,
           years: str | Iterable[int] | None = None, supplier: str | int | None = None,
           products: str | Iterable[str] | None = None, sectors: str | Iterable[str] | None = None,
           out_dir: str | Path | None = None, overwrite: bool = False, **options: Any) -> pd.DataFrame:
    """A dependency screen as a DataFrame (values USD, shares 0..1), one row per product (and year).

    ``kind``: ``"ec"`` (European Commission 2021: extra-bloc HHI > 0.4, extra share
    > 0.5, imports > exports), ``"geodep"`` (CEPII GeoDep, persistence over 3 years)
    or ``"single"`` (one supplier above 50% / 70%, Korea's screen; ``supplier`` tests
    one country, e.g. ``"CHN"``). ``data``: as ``load_trade`` (a file or a folder), or several
    files (a list: e.g. one BACI file per year for GeoDep). ``products`` (HS6 codes, chapters,
    ranges, a basket CSV file) and ``sectors`` (basket sectors) keep those products. ``options`` go to
    ``screens.ec_screen``, ``geodep_screen`` or ``single_country_screen`` (e.g.
    ``thresholds=(0.5, 0.7)``, ``stage="intermediate"``, ``min_value_usd=1e6``,
    ``intra_bloc="exclude"``). ``years``: a list or text (``"2021-2023"``); EC and
    single-country screens use the last year given. ``attrs["settings"]`` holds the settings
    (importer, years, thresholds, intra-bloc choice); ``screens.count_flags(df)`` counts the
    flagged rows. ``out_dir``: also write ``screen_<kind>.csv|parquet``, summary.json and
    datapackage.json there (refused before any reading when it holds files tradeopt did not
    write, unless ``overwrite``).
    """
    from optimize.analysis import screens
    from optimize.api.data import load_trade
    from optimize.data.countries import resolve_countries
    from optimize.data.revision import data_revision
    from optimize.errors import InputError
    from optimize.tokens import given_years

    if kind not in SCREENS:
        raise InputError(f"unknown screen kind {kind!r}", field="kind", fix="use 'ec', 'geodep' or 'single'")
    _check_out(out_dir, overwrite)
    if year is not None and years:
        raise InputError("give year or years, not both", field="--years", fix="drop one of them")
    yrs = given_years(years)
    if kind != "geodep" and yrs:
        year = yrs[-1]  # EC and single-country screens read one year: the last one given
    trade = load_trade(data, years=yrs if yrs else ([year] if year is not None else None))
    flows = _selected_products(trade, products, sectors)
    if kind == "geodep":
        options["years"] = yrs or ([year] if year is not None else None)
    else:
        options["year"] = year
    if supplier is not None:
        if kind != "single":
            raise InputError(f"--supplier applies to the single-supplier screen, not {kind}", field="--supplier",
                             fix="use `tradeopt screen single --supplier ...` or drop --supplier")
        options["supplier"] = resolve_countries(supplier)[0]
    res = getattr(screens, SCREENS[kind])(flows, resolve_countries(importer), **options)
    years_used = {} if kind == "geodep" else {"years": sorted({int(y) for y in res["year"]})}
    named = importer if isinstance(importer, str) else ",".join(map(str, importer))
    rev = data_revision(trade.hs_revision, trade.synthetic, flows["k"].astype(str).unique(),
                        int(flows["t"].max()) if len(flows) else None)
    res.attrs["settings"] = {"importer": named, **res.attrs["settings"], **years_used,
                             "products": _spec(products), "sectors": _spec(sectors), "data_source": trade.label(),
                             "hs_revision": rev.label}
    res.attrs.update(data_label=trade.label(), synthetic=bool(trade.synthetic), source=trade.source)
    if out_dir is not None:
        from optimize.output.folder import screen_summary, write_folder

        write_folder(out_dir, {f"screen_{kind}": res}, screen_summary(res), title=f"screen-{kind}",
                     synthetic=bool(trade.synthetic), overwrite=overwrite)
    return res


def _spec(value) -> str:
    """A product or sector selection as one line ("all" when not given)."""
    return "all" if value is None else value if isinstance(value, str) else ",".join(map(str, value))


def _selected_products(trade: TradeData, products, sectors) -> pd.DataFrame:
    """The flows of the products chosen by ``products`` (codes/chapters/ranges/'all' or a basket file) and
    ``sectors`` (basket sectors in the data's HS revision); every product when neither is given."""
    import pandas as pd

    from optimize.data.basket import load_basket, select_codes
    from optimize.tokens import basket_file

    flows = trade.flows
    if products is None and not sectors:
        return flows
    revision = trade.hs_revision or "HS22"
    keep = {str(k) for k in pd.unique(flows["k"])}
    if sectors:
        keep &= set(load_basket(None, sectors=sectors, hs_revision=revision)["k"].astype(str))
    if basket_file(products):
        keep &= set(load_basket(products, hs_revision=revision)["k"].astype(str))
    elif products is not None:
        keep &= set(select_codes(products, sorted(keep)))
    return flows[flows["k"].isin(keep)]


def _check_out(out_dir, overwrite: bool, run_key: str | None = None) -> None:
    if out_dir is not None:
        from optimize.atomic import check_out_dir

        check_out_dir(out_dir, overwrite=overwrite, run_key=run_key)  # before any reading or solving


def _analysed(scenario, data, out_dir, overwrite: bool, keywords: dict) -> RunResult:
    """The plain run an analysis starts from (the output folder checked first)."""
    from optimize.api import run

    _check_out(out_dir, overwrite)
    return run(scenario, data, **keywords)


def _write(kind: str, result: RunResult, tables: dict, out_dir, overwrite: bool, params: dict, extra=None,
           figures=None) -> None:
    if out_dir is not None:
        from optimize.output.folder import analysis_summary, write_folder

        write_folder(out_dir, tables, analysis_summary(kind, result.meta, params, extra), title=kind,
                     synthetic=result.synthetic, overwrite=overwrite, figures=figures)


@api_checked
def frontier(scenario: str | Path | Scenario | None = None, *,
             data: str | Path | pd.DataFrame | TradeData | None = None, points: int = 11,
             out_dir: str | Path | None = None, figures: bool = True, overwrite: bool = False,
             **keywords: Any) -> tuple[pd.DataFrame, RunResult]:
    """Exposure-vs-HHI frontier of a scenario's re-allocation, and the plain run it starts from.

    Separable scenarios: the exact frontier (``frontier.frontier``), one row per group
    (``all`` and each sector) and exposure level. Scenarios with an exporter-total cap
    (coupled): the linear max-share proxy (``frontier.frontier_coupled``, ``group`` =
    ``"coupled-proxy"``). Values USD (``exposure_level_usd``, ``exposure_usd``), shares 0..1.
    ``out_dir``: also write frontier.csv|parquet, summary.json, datapackage.json and, with
    ``figures``, figures/frontier.png|svg there.
    """
    from optimize.analysis.frontier import frontier as exact
    from optimize.analysis.frontier import frontier_coupled
    from optimize.units import usd_columns

    result = _analysed(scenario, data, out_dir, overwrite, keywords)
    if result.scenario.cap.exporter_total_pp:
        table = frontier_coupled([result.instance], n_points=points,
                                 exporter_total_pp=float(result.scenario.cap.exporter_total_pp))
        if "group" not in table:
            table.insert(0, "group", "coupled-proxy")
    else:
        sigma = result.tables.products.set_index("k")["sigma"].reindex(result.instance.products)
        table = exact(result.instance, n_points=points, sectors=_sectors(result), allocation=result.allocation,
                      sigma=sigma.to_numpy(dtype=float), prior_lambda=float(result.scenario.cost.prior_lambda))
    table = usd_columns(table)

    def plot(folder: Path) -> list[Path]:
        from optimize.output.plots import plot_frontier
        from optimize.output.settings import run_settings, settings_caption

        folder.mkdir(parents=True, exist_ok=True)
        return plot_frontier(table.loc[table["group"] == "all"], folder / "frontier", synthetic=result.synthetic,
                             subtitle=settings_caption(run_settings(result.meta)))

    drawn = figures and bool((table["group"] == "all").any())
    _write("frontier", result, {"frontier": table}, out_dir, overwrite, {"points": points, "figures": drawn},
           figures=plot if drawn else None)
    return table, result


@api_checked
def cost(scenario: str | Path | Scenario | None = None, *,
         data: str | Path | pd.DataFrame | TradeData | None = None, out_dir: str | Path | None = None,
         overwrite: bool = False, **keywords: Any) -> tuple[pd.DataFrame, dict, RunResult]:
    """Cost of shifting of a scenario's re-allocation (``cost.shift_cost``): per-product table, summary (USD).
    ``out_dir``: also write cost.csv|parquet, summary.json (with the cost summary) and datapackage.json."""
    from optimize.analysis.cost import shift_cost

    result = _analysed(scenario, data, out_dir, overwrite, keywords)
    table, summary = shift_cost(result.instance, result.allocation)
    _write("cost", result, {"cost": table}, out_dir, overwrite, {}, extra={"cost": summary})
    return table, summary, result


@api_checked
def binding(scenario: str | Path | Scenario | None = None, *,
            data: str | Path | pd.DataFrame | TradeData | None = None, top: int = 10,
            out_dir: str | Path | None = None, overwrite: bool = False,
            **keywords: Any) -> tuple[pd.DataFrame, pd.DataFrame, RunResult]:
    """Binding caps of a scenario's re-allocation: (per-pair table, top ``top`` exporters per sector), values USD,
    ``exporter`` ISO3 with ``exporter_code`` (BACI) beside it, as in the run's binding.csv. ``out_dir``: also
    write binding_top.csv|parquet, binding_pairs.csv|parquet, summary.json and datapackage.json."""
    from optimize.analysis.binding import binding_caps, top_binding_exporters
    from optimize.data.countries import to_iso3
    from optimize.units import usd_columns

    def iso3(table):
        table = usd_columns(table).rename(columns={"exporter": "exporter_code"})
        at = table.columns.get_loc("exporter_code")
        table.insert(at, "exporter", to_iso3(table["exporter_code"].to_numpy()) if len(table) else [])
        return table

    result = _analysed(scenario, data, out_dir, overwrite, keywords)
    per_pair = binding_caps(result.instance, result.allocation)
    per_pair, table = iso3(per_pair), iso3(top_binding_exporters(per_pair, _sectors(result), n=top))
    _write("binding", result, {"binding_top": table, "binding_pairs": per_pair}, out_dir, overwrite, {"top": top})
    return per_pair, table, result


@api_checked
def frontier_figure(table: pd.DataFrame, path_stem: str | Path, *, synthetic: bool = False,
                    overwrite: bool = False) -> list[Path]:
    """The frontier figure (group ``all``) as ``<path_stem>.png``/``.svg``; returns the paths.

    Each file is written atomically; an existing one is replaced only with ``overwrite``."""
    import os
    import tempfile

    from optimize.atomic import atomic_file, check_out_file
    from optimize.errors import InputError
    from optimize.output.plots import plot_frontier

    missing = sorted({"group", "exposure_share", "hhi"} - set(table.columns))
    if missing:
        raise InputError(f"table has no column(s) {missing}: not a frontier table", field="table",
                         fix="pass the table that optimize.frontier(...) returns")
    stem = Path(path_stem)
    paths = [stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")]
    for p in paths:
        check_out_file(p, overwrite=overwrite)
    with tempfile.TemporaryDirectory(prefix=f".{stem.name}.", dir=stem.resolve().parent) as d:
        made = plot_frontier(table.loc[table["group"] == "all"], Path(d) / stem.name, synthetic=synthetic)
        for src, dest in zip(made, paths, strict=False):
            with atomic_file(dest, overwrite=overwrite) as tmp:
                os.replace(src, tmp)
    return paths


def _sectors(result: RunResult) -> pd.DataFrame | None:
    info = result.tables.products if hasattr(result.tables, "products") else None
    if info is None or "sector" not in info or "k" not in info:
        return None
    return info[["k", "sector"]].drop_duplicates("k")
