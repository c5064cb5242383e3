"""The ``tradeopt`` command: argument parsing and printing over the ``optimize`` API.

No analysis logic lives here: every command calls a public function of the
library and prints its result. Errors print one line and exit with the code of
``optimize.errors`` (2 input, 3 infeasible, 4 solver, 5 output, 1 internal).
"""
from __future__ import annotations

import sys
import traceback

import click

from optimize import __version__
from optimize.errors import EXIT_INTERNAL, TradeoptError


class _Group(click.Group):
    """Click group that turns tradeopt errors into one clear line and an exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TradeoptError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug: say so, keep the traceback behind --debug
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(f"Internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True)
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="tradeopt")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """tradeopt: which critical HS6 import flows can move away from risk suppliers, and where."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


# ---------------------------------------------------------------- data commands
@main.group()
def data() -> None:
    """Inspect, validate, convert and download BACI data."""


@data.command("info")
@click.argument("path", required=False, type=click.Path(path_type=str))
@click.option("--cache-dir", type=click.Path(), default=None, help="Parquet cache folder (default $TRADEOPT_CACHE or ~/.cache/tradeopt).")
def data_info_cmd(path: str | None, cache_dir: str | None) -> None:
    """Years, rows, products, countries and total value of PATH (default: the embedded SYNTHETIC sample)."""
    from optimize.data.baci import data_info
    from optimize.data.trade import SYNTHETIC_LABEL

    info = data_info(path, cache_dir=cache_dir)
    if info["synthetic"]:
        click.echo(f"*** {SYNTHETIC_LABEL} ***")
    click.echo(f"source:      {info['source']}")
    click.echo(f"hs revision: {info['hs_revision'] or 'unknown'}  release: {info['release'] or 'unknown'}")
    click.echo(f"years:       {', '.join(map(str, info['years']))}")
    click.echo(f"rows:        {info['rows']:,}")
    click.echo(f"products:    {info['products']:,}")
    click.echo(f"exporters:   {info['exporters']:,}")
    click.echo(f"importers:   {info['importers']:,}")
    click.echo(f"total value: {info['total_value_usd']:,.0f} USD")
    click.echo(f"missing q:   {info['missing_quantity_share']:.1%}")


@data.command("validate")
@click.argument("path", type=click.Path(path_type=str))
@click.option("--single-year", is_flag=True, help="Treat several years in one file as a problem.")
@click.pass_context
def data_validate_cmd(ctx: click.Context, path: str, single_year: bool) -> None:
    """Check a BACI file; print each problem (file, rows, count). Exit 2 on problems, 0 when clean."""
    from optimize.data.baci import read_baci
    from optimize.errors import DataError

    try:
        td = read_baci(path, cache=False, expect_single_year=single_year)
    except DataError as exc:
        problems = getattr(exc, "problems", None)
        if problems:
            for p in problems:
                click.echo(str(p))
            click.echo(f"{len(problems)} problem(s) found.", err=True)
        else:
            click.echo(f"problem: {exc}")
        ctx.exit(2)
    click.echo(f"OK: {len(td.flows):,} rows, years {', '.join(map(str, td.years))}, no problems found.")


@data.command("convert")
@click.argument("path", type=click.Path(path_type=str))
@click.option("--to", "fmt", type=click.Choice(["parquet"]), default="parquet", show_default=True)
@click.option("--out", type=click.Path(path_type=str), default=None, help="Output file (default beside PATH).")
def data_convert_cmd(path: str, fmt: str, out: str | None) -> None:
    """Write a validated parquet copy of a BACI CSV/CSV.gz/zip (atomic)."""
    from optimize.data.baci import convert

    click.echo(f"wrote {convert(path, to=fmt, out=out)}")


@data.command("fetch")
@click.option("--hs", default="HS22", show_default=True, help="HS revision of the release, e.g. HS17, HS22.")
@click.option("--release", default="202501", show_default=True, help="BACI release, e.g. 202501.")
@click.option("--base-url", default=None, help="Download location (default: CEPII's BACI page).")
@click.option("--cache-dir", type=click.Path(), default=None, help="Target folder (default $TRADEOPT_CACHE or ~/.cache/tradeopt).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def data_fetch_cmd(hs: str, release: str, base_url: str | None, cache_dir: str | None, quiet: bool) -> None:
    """Download BACI_{HS}_V{RELEASE}.zip with resume and integrity checks."""
    from optimize.data.fetch import DEFAULT_BASE_URL, fetch_release

    path = fetch_release(hs, release, base_url=base_url or DEFAULT_BASE_URL, cache_dir=cache_dir,
                         progress=False if quiet else None)
    click.echo(f"saved {path}")


# ---------------------------------------------------------------- run / scenarios
def scenario_options(fn):
    """The options every scenario-driven command shares: --scenario, --set, --baci."""
    fn = click.option("--baci", type=click.Path(), default=None,
                      help="BACI zip/CSV/parquet or a folder of them (default: the scenario's data, "
                           "else the embedded SYNTHETIC sample).")(fn)
    fn = click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                      help="Override a scenario key, e.g. --set cap.pp=3 (repeatable; applied last).")(fn)
    return click.option("--scenario", "scenario_name", default="default", show_default=True,
                        help="Shipped scenario name (see `tradeopt scenarios`) or a TOML file.")(fn)


def _load_scenario(scenario_name: str, sets, baci: str | None, overrides: list[str] = ()):
    """The scenario with the command's options applied as overrides (--baci first, --set last)."""
    from optimize.config.scenario import load_scenario, toml_value

    first = [f"data.baci={toml_value(str(baci))}"] if baci is not None else []
    return load_scenario(scenario_name, first + list(overrides) + list(sets))


def _run_overrides(year, importer, risk, friends, cap, cap_basis, products, sectors, backend,
                   eur_per_usd, xlsx, no_figures, keep_going) -> list[str]:
    """Command-line options -> scenario ``--set`` strings (TOML values)."""
    from pathlib import Path

    from optimize.config.scenario import toml_value

    def tokens(text: str) -> list[str]:
        return [t.strip() for t in text.split(",") if t.strip()]

    out: list[str] = []
    if year is not None:
        out.append(f"data.year={int(year)}")
    if importer is not None:
        out += [f"importer.countries={toml_value(tokens(importer))}", 'importer.label=""']
    if risk is not None:
        out.append(f"risk.countries={toml_value(tokens(risk))}")
    if friends is not None:
        out.append(f"alternatives.friends={toml_value(tokens(friends))}")
    if cap is not None:
        out.append(f"cap.pp={float(cap)!r}")
    if cap_basis is not None:
        out.append(f"cap.basis={toml_value(cap_basis)}")
    if products is not None:
        if Path(products).is_file():
            out.append(f"basket.file={toml_value(products)}")
        else:
            out.append(f"basket.products={toml_value(products if products == 'all' else tokens(products))}")
    if sectors:
        out.append(f"basket.sectors={toml_value([t for s in sectors for t in tokens(s)])}")
    if backend is not None:
        out.append(f"solver.backend={toml_value(backend)}")
    if eur_per_usd is not None:
        out.append(f"report.eur_per_usd={float(eur_per_usd)!r}")
    if xlsx:
        out.append("report.xlsx=true")
    if no_figures:
        out.append("report.figures=false")
    if keep_going:
        out.append("solver.keep_going=true")
    return out


@main.command()
@scenario_options
@click.option("--year", type=int, default=None, help="Year to analyse (default: the scenario's, else the latest).")
@click.option("--importer", default=None, help="Importer: ISO3, BACI codes or group (EU27, NLD, KOR), comma-separated = one bloc.")
@click.option("--risk", default=None, help="Risk countries, comma-separated (e.g. CHN,USA,RUS).")
@click.option("--friends", default=None, help="Allowed alternatives, comma-separated or a group (G7+allies).")
@click.option("--cap", type=float, default=None, help="Cap in percentage points (0-100).")
@click.option("--cap-basis", type=click.Choice(["world-exports", "importer-market", "rest-of-world"]), default=None)
@click.option("--products", default=None, help="'all', a basket CSV file, or HS6 codes/chapters/ranges, comma-separated.")
@click.option("--sector", "sectors", multiple=True, help="Basket sector(s): health, ict, energy, crm.")
@click.option("--backend", type=click.Choice(["highs", "pyomo"]), default=None)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default ./tradeopt-out/<scenario>).")
@click.option("--save-lp", type=click.Path(dir_okay=False), default=None, help="Also write the LP to this file.")
@click.option("--eur-per-usd", type=float, default=None, help="Also report EUR at this rate (EUR per USD).")
@click.option("--xlsx", is_flag=True, help="Also write an XLSX workbook.")
@click.option("--no-figures", is_flag=True, help="Skip the PNG/SVG figures.")
@click.option("--keep-going", is_flag=True, help="Report infeasible products and continue with the rest.")
@click.option("--quiet", is_flag=True, help="Print only the output path.")
def run(scenario_name, sets, baci, year, importer, risk, friends, cap, cap_basis, products, sectors, backend,
        out_dir, save_lp, eur_per_usd, xlsx, no_figures, keep_going, quiet):
    """Re-allocate the scenario's imports away from risk suppliers and write the report."""
    from pathlib import Path

    from optimize.atomic import check_writable
    from optimize.runs.pipeline import run as run_pipeline
    from optimize.data.trade import SYNTHETIC_LABEL

    overrides = _run_overrides(year, importer, risk, friends, cap, cap_basis, products, sectors, backend,
                               eur_per_usd, xlsx, no_figures, keep_going)
    scen = _load_scenario(scenario_name, sets, baci, overrides)
    out = Path(out_dir) if out_dir else Path("tradeopt-out") / scen.name
    check_writable(out)  # before any reading or solving
    result = run_pipeline(scen, save_lp=save_lp)
    written = result.write(out)
    if not quiet:
        click.echo(result.summary_md())
    if result.synthetic and quiet:
        click.echo(f"NOTE: {SYNTHETIC_LABEL}", err=True)
    infeasible = list(result.allocation.infeasible_products)
    if infeasible:
        shown = ", ".join(infeasible[:10]) + (" ..." if len(infeasible) > 10 else "")
        click.echo(f"{len(infeasible)} product(s) could not meet every limit (reported, not dropped): {shown}",
                   err=True)
    if save_lp:
        click.echo(f"LP written to {save_lp}")
    click.echo(f"Outputs written to {written}")


@main.command()
@click.argument("name", required=False)
def scenarios(name):
    """List the shipped scenarios, or print one fully resolved (every key) as TOML."""
    from optimize.config.scenario import list_scenarios, load_scenario

    if name:
        click.echo(load_scenario(name).to_toml(), nl=False)
        return
    rows = list_scenarios()
    width = max((len(n) for n, _ in rows), default=0)
    for n, desc in rows:
        click.echo(f"{n:<{width}}  {desc}")



# ---------------------------------------------------------------- batch / sweep
@main.command()
@scenario_options
@click.option("--importers", default=None,
              help="EU27,DEU,FRA (groups EU27, G7 are one bloc) / all-eu (each EU member) / all (every importer in the "
                   "data, single countries) / @file (one per line).")
@click.option("--years", default=None, help="e.g. 2021-2023 or 2022,2023 (default: the scenario's year).")
@click.option("--caps", default=None, help="Caps in pp: 0,1,2 or 1-10 or 0-10:0.5 (default: the scenario's).")
@click.option("--cap-basis", "cap_bases", default="world-exports", show_default=True,
              help="Comma-separated: world-exports, importer-market, rest-of-world.")
@click.option("--risk-sets", default=None, help="Risk sets separated by ';', e.g. 'CHN;CHN,RUS;CHN,USA,RUS'.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Output folder.")
@click.option("--workers", type=int, default=2, show_default=True, help="Local worker processes.")
@click.option("--dask", "dask_address", default=None,
              help="local / local:N (start a LocalCluster of N worker processes) or a scheduler address tcp://HOST:8786.")
@click.option("--joint", is_flag=True, help="Solve the importers of each cap/risk set as one coupled LP.")
@click.option("--full-outputs", is_flag=True, help="Write every report file per cell (default: tables only).")
@click.option("--figures", is_flag=True, help="With --full-outputs: also the figures per cell.")
@click.option("--dask-timeout", "dask_timeout", type=float, default=10.0, show_default=True,
              help="Seconds to wait for the --dask scheduler (unreachable: exit 2 before any data are read).")
@click.option("--per-cell", is_flag=True, help="Solve every cell through the full pipeline (no batched closed form).")
@click.option("--quiet", is_flag=True, help="No progress bar or per-cell lines.")
def batch(scenario_name, sets, baci, importers, years, caps, cap_bases, risk_sets, out_dir, workers, dask_address,
          joint, full_outputs, figures, dask_timeout, per_cell, quiet):
    """Run a grid importer x year x cap x cap basis x risk set; re-running skips finished cells."""
    import optimize.runs.batch as b
    from optimize.atomic import check_writable
    from optimize.runs.executors import close_dask, connect_dask

    scen = _load_scenario(scenario_name, sets, baci)
    check_writable(out_dir)  # before the data are read (the default year needs them)
    client = connect_dask(dask_address, dask_timeout, quiet)[0] if dask_address else None  # before reading too
    try:
        grid = b.grid_from_options(scen, importers, years, caps, cap_bases, risk_sets)
        res = b.run_batch(scen, grid, out_dir, workers=workers, dask_address=client, joint=joint, quiet=quiet,
                          outputs="full" if full_outputs else "tables", figures=figures, fast=not per_cell)
    finally:
        if client is not None:
            close_dask(client)
    n_err = int(res.table["status"].astype(str).str.startswith("error").sum()) if len(res.table) else 0
    click.echo(f"{len(res.computed)} cell(s) computed, {len(res.skipped)} already finished, "
               f"{len(grid.cells()) if b.ALL_IMPORTERS not in grid.importers else len(res.cells)} in the grid; "
               f"{n_err} error row(s); {res.seconds:.1f}s")
    click.echo(f"Table written to {res.out_dir / 'batch.csv'}; dataset in {res.out_dir / 'dataset'}")


@main.command()
@scenario_options
@click.option("--importer", default=None, help="Importer (ISO3, group); comma-separated = one bloc.")
@click.option("--risk", default=None, help="Risk countries, comma-separated.")
@click.option("--caps", default="0-10", show_default=True, help="Caps in pp: 0,1,2 or 1-10 or 0-10:0.5.")
@click.option("--cap-basis", default=None, type=click.Choice(["world-exports", "importer-market", "rest-of-world"]))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Output folder.")
@click.option("--cold", is_flag=True, help="Solve each cap from scratch (no warm start).")
@click.option("--no-figures", is_flag=True, help="Skip sweep.png/svg.")
def sweep(scenario_name, sets, baci, importer, risk, caps, cap_basis, out_dir, cold, no_figures):
    """Exposure per risk country against the cap, and the reduction per extra pp (warm-started HiGHS)."""
    import optimize.runs.batch as b
    import optimize.runs.sweep as sw

    scen = _load_scenario(scenario_name, sets, baci)
    res = sw.sweep(scen, b.parse_caps(caps), importer=importer, risk=risk.split(",") if risk else None,
                   cap_basis=cap_basis, warm=not cold, out_dir=out_dir, plot=not no_figures)
    all_rows = res.table[res.table["risk"] == "ALL"]
    for rec in all_rows.to_dict("records"):
        click.echo(f"cap {rec['cap_pp']:>5g} pp: risk share {rec['share_after'] * 100:6.2f} %")
    click.echo(f"{'warm-started' if res.warm else 'cold'} solves, {sum(res.solve_s):.3f}s solving, "
               f"{res.seconds:.1f}s total; written to {out_dir}")



# ---------------------------------------------------------------- screens / analysis
def _screen_flows(baci_path: str | None, years: list[int] | None):
    """Flows for the screens: ``optimize.data.baci.read_baci`` (None = embedded sample)."""
    from optimize.errors import InputError

    try:
        from optimize.data.baci import read_baci
    except ImportError:
        read_baci = None
    if read_baci is not None:
        data = read_baci(baci_path, years=years)
        if data.synthetic:
            click.echo(f"Data: {data.label()}")
        return data.flows
    if baci_path and str(baci_path).endswith(".parquet"):  # data layer not installed: plain parquet only
        import pandas as pd

        return pd.read_parquet(baci_path)
    raise InputError("the BACI reader (optimize.data.baci) is not available", file=baci_path,
                     fix="pass a BACI .parquet file with --baci")


def _parse_years(year: int | None, years: str | None) -> list[int] | None:
    from optimize.errors import InputError

    if year is not None and years:
        raise InputError("give --year or --years, not both", field="--years", fix="drop one of them")
    if year is not None:
        return [int(year)]
    if not years:
        return None
    try:
        if "-" in years:
            lo, hi = (int(x) for x in years.split("-", 1))
            return list(range(lo, hi + 1))
        return sorted(int(x) for x in years.split(","))
    except ValueError as exc:
        raise InputError(f"cannot read years {years!r}", field="--years", fix="write e.g. 2021-2023 or 2021,2023") from exc


@main.command()
@click.argument("kind", type=click.Choice(["ec", "geodep", "single"]), default="single")
@click.option("--baci", "baci_path", type=click.Path(dir_okay=False), default=None,
              help="BACI file (zip, CSV, parquet); default: the embedded synthetic sample.")
@click.option("--importer", default="EU27", show_default=True, help="Importer: ISO3, BACI code or group (EU27), comma-separated.")
@click.option("--year", type=int, default=None, help="One year.")
@click.option("--years", default=None, help="Years, e.g. 2021-2023 (GeoDep persistence).")
@click.option("--supplier", default=None, help="single: test one supplier's share (ISO3 or BACI code), e.g. CHN.")
@click.option("--stage", default=None, help="single: keep one value-chain stage.")
@click.option("--min-value-kusd", type=float, default=0.0, show_default=True, help="single: drop smaller products.")
@click.option("--threshold", "thresholds", type=float, multiple=True,
              help="single: supplier-share thresholds (repeatable, default 0.5 0.7); ec/geodep: importer HHI threshold.")
@click.option("--top", type=int, default=10, show_default=True, help="How many flagged products to print.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None, help="Write the full table as CSV.")
def screen(kind, baci_path, importer, year, years, supplier, stage, min_value_kusd, thresholds, top, out_path):
    """Dependency screens: ec (EC 2021), geodep (CEPII GeoDep) or single (one supplier > 50% / 70%)."""
    from pathlib import Path

    import numpy as np

    from optimize.analysis import screens
    from optimize.data.countries import resolve_countries, to_iso3
    from optimize.errors import OutputError

    if out_path:
        parent = Path(out_path).resolve().parent
        if not parent.is_dir():
            raise OutputError(f"folder {parent} does not exist", fix="create it or choose another --out")
    yrs = _parse_years(year, years)
    codes = resolve_countries([t.strip() for t in importer.split(",") if t.strip()])
    flows = _screen_flows(baci_path, yrs)
    if kind == "ec":
        kw = {"hhi_threshold": thresholds[0]} if thresholds else {}
        res = screens.ec_screen(flows, codes, year=yrs[-1] if yrs else None, **kw)
        value_col, order_col = "extra_imports_kusd", "hhi_extra"
    elif kind == "geodep":
        kw = {"hhi_importer": thresholds[0]} if thresholds else {}
        res = screens.geodep_screen(flows, codes, years=yrs, **kw)
        value_col, order_col = "imports_kusd", "hhi_importer"
        click.echo(f"GeoDep: {res['note'].iloc[0] if len(res) else 'no products'}")
    else:
        sup = resolve_countries([supplier])[0] if supplier else None
        res = screens.single_country_screen(flows, codes, thresholds=thresholds or (0.5, 0.7), supplier=sup,
                                            stage=stage, min_value_kusd=min_value_kusd, year=yrs[-1] if yrs else None)
        value_col, order_col = "total_kusd", "supplier_share" if sup is not None else "top_share"
        res["top_supplier_iso3"] = to_iso3(res["top_supplier"].to_numpy()) if len(res) else np.array([], dtype=str)
    counts = screens.count_flags(res)
    click.echo(f"{kind} screen, importer {importer}: {counts['flagged']} of {counts['rows']} rows flagged")
    for key, n in counts.items():
        if key.startswith("above_"):
            click.echo(f"  {key.replace('above_', 'above ')}%: {n}")
    flagged = res[res["flagged"]].sort_values([order_col, value_col, "k"], ascending=[False, False, True])
    if len(flagged):
        cols = [c for c in ("k", "year", "latest_year", value_col, order_col, "top_supplier_iso3") if c in flagged.columns]
        click.echo(flagged[cols].head(top).to_string(index=False))
    if out_path:
        res.to_csv(out_path, index=False)
        click.echo(f"Wrote {out_path}")


@main.command()
@click.argument("kind", type=click.Choice(["frontier", "cost", "binding"]))
@scenario_options
@click.option("--points", type=int, default=11, show_default=True, help="frontier: exposure levels.")
@click.option("--top", type=int, default=10, show_default=True, help="binding: exporters per sector.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None, help="Write the table as CSV.")
def analyse(kind, scenario_name, sets, baci, points, top, out_path):
    """Analyses of a scenario's re-allocation: frontier (exposure vs HHI), cost (of shifting), binding (caps)."""
    from pathlib import Path

    from optimize.errors import OutputError
    from optimize.runs.pipeline import prepare, solve_cell

    if out_path and not Path(out_path).resolve().parent.is_dir():
        raise OutputError(f"folder {Path(out_path).resolve().parent} does not exist", fix="create it or choose another --out")
    scen = _load_scenario(scenario_name, sets, baci)
    prepared = prepare(scen)
    result = solve_cell(prepared)
    inst, alloc = result.instance, result.allocation
    if result.synthetic:
        click.echo("NOTE: SYNTHETIC SAMPLE - not real trade data")
    sectors = prepared.product_info[["k", "sector"]] if "sector" in prepared.product_info else None
    if kind == "frontier":
        from optimize.analysis.frontier import frontier, frontier_coupled

        coupled = bool(scen.cap.exporter_total_pp)
        if coupled:
            table = frontier_coupled([inst], n_points=points, exporter_total_pp=float(scen.cap.exporter_total_pp))
            click.echo("Coupled caps: linear proxy (value-weighted largest supplier share).")
        else:
            table = frontier(inst, n_points=points, sectors=sectors, allocation=alloc)
        cols = [c for c in ("group", "point", "exposure_share", "hhi", "max_share", "is_knee") if c in table]
        click.echo(table[cols].to_string(index=False))
        if "n_hhi_rises" in table:
            first = table.groupby("group", sort=True).first()
            for g, row in first.iterrows():
                click.echo(f"{g}: HHI rises in {row['n_hhi_rises']} of {row['n_products']} products after the plain run")
    elif kind == "cost":
        from optimize.analysis.cost import shift_cost

        table, summary = shift_cost(inst, alloc)
        c = summary["extra_cost_usd"]
        click.echo(f"Shifted {summary['shifted_usd']:,.0f} USD; quantities usable for {summary['coverage']:.1%} of it")
        click.echo(f"Extra cost (USD): low {c['low']:,.0f}  central {c['central']:,.0f}  high {c['high']:,.0f}"
                   f" ({summary['n_products_without_estimate']} shifted products without an estimate)")
    else:
        from optimize.analysis.binding import binding_caps, top_binding_exporters
        from optimize.data.countries import to_iso3

        per_pair = binding_caps(inst, alloc)
        table = top_binding_exporters(per_pair, sectors, n=top)
        table.insert(2, "iso3", to_iso3(table["exporter"].to_numpy()) if len(table) else [])
        click.echo(f"{int(per_pair['binds'].sum())} binding caps in {per_pair.loc[per_pair['binds'], 'k'].nunique()} products")
        click.echo(table.to_string(index=False))
    if out_path:
        table.to_csv(out_path, index=False)
        click.echo(f"Wrote {out_path}")
        if kind == "frontier" and "group" in table and not coupled:
            from optimize.output.plots import plot_frontier

            stem = Path(out_path).with_suffix("")
            paths = plot_frontier(table.loc[table["group"] == "all"], stem, synthetic=result.synthetic)
            click.echo("Figure: " + ", ".join(str(p) for p in paths))




if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
