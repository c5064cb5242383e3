"""The ``tradeopt`` command: argument parsing and printing over the ``optimize`` API.

No analysis logic lives here: every command calls a public function of the
library and prints its result. Errors print one line and exit with the code of
``optimize.errors`` (2 input, 3 infeasible, 4 solver, 5 output, 1 internal).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import traceback

import click

from optimize import __version__
from optimize.errors import EXIT_INTERNAL, TradeoptError


class _Group(click.Group):
    """Click group that turns tradeopt errors into one clear line and an exit code."""

    def invoke(self, ctx: click.Context):
        previous = None
        if threading.current_thread() is threading.main_thread():  # SIGTERM = Ctrl-C: clean up, exit 143
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            return super().invoke(ctx)
        except _Terminated:
            click.echo("Terminated.", err=True)
            ctx.exit(128 + signal.SIGTERM)
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
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every ``finally`` and temporary-folder cleanup runs."""


_MAIN_PID = os.getpid()


def _on_sigterm(signum, frame):
    if os.getpid() != _MAIN_PID:  # a forked worker: die as SIGTERM would have made it
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    raise _Terminated()


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
@click.option("--cache-dir", type=click.Path(), default=None, help="Parquet cache folder (default $TRADEOPT_CACHE, else the user cache folder: ~/.cache/tradeopt on Linux).")
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
@click.option("--out", type=click.Path(path_type=str), default=None,
              help="Output file (default beside PATH, last suffix -> .parquet; BACI* names in <folder>/parquet/).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--columns", default=None, help="Source column names: t=year,i=ex_id,j=im_id,k=code,v=value,q=quantity.")
@click.option("--year", type=int, default=None, help="The year of a file without a year column.")
@click.option("--country-codes", type=click.Choice(["baci", "iso3"]), default="baci", show_default=True)
@click.option("--value-unit", type=click.Choice(["kusd", "usd"]), default="kusd", show_default=True)
@click.option("--comtrade", type=click.Choice(["M", "X"]), default=None,
              help="PATH is a UN Comtrade bulk CSV; keep its imports (M) or exports (X).")
def data_convert_cmd(path: str, fmt: str, out: str | None, overwrite: bool, columns: str | None, year: int | None,
                     country_codes: str, value_unit: str, comtrade: str | None) -> None:
    """Write a validated BACI-layout parquet copy of PATH (atomic): a BACI CSV/CSV.gz/zip, any layout, or Comtrade."""
    from optimize.api import convert_data

    click.echo(f"wrote {convert_data(path, out=out, overwrite=overwrite, columns=columns, year=year, country_codes=country_codes, value_unit=value_unit, comtrade=comtrade, to=fmt)}")


@data.command("fetch")
@click.option("--hs", default="HS22", show_default=True, help="HS revision of the release, e.g. HS17, HS22.")
@click.option("--release", default="202501", show_default=True,
              help="BACI release, e.g. 202501, or 'latest' (the newest on the BACI page offering --hs).")
@click.option("--base-url", default=None, help="Download location (default: CEPII's BACI page).")
@click.option("--page-url", default=None, help="The BACI page listing releases (for --release latest).")
@click.option("--cache-dir", type=click.Path(), default=None, help="Target folder (default $TRADEOPT_CACHE, else the user cache folder: ~/.cache/tradeopt on Linux).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def data_fetch_cmd(hs: str, release: str, base_url: str | None, page_url: str | None, cache_dir: str | None,
                   quiet: bool) -> None:
    """Download BACI_{HS}_V{RELEASE}.zip with resume and integrity checks."""
    from optimize.data.fetch import DEFAULT_BASE_URL, fetch_release
    from optimize.data.releases import DEFAULT_PAGE_URL, latest_release

    if release.lower() == "latest":
        release = latest_release(hs, page_url or DEFAULT_PAGE_URL)
        click.echo(f"latest release offering {hs.upper()}: {release}")

    path = fetch_release(hs, release, base_url=base_url or DEFAULT_BASE_URL, cache_dir=cache_dir,
                         progress=False if quiet else None)
    click.echo(f"saved {path}")


@data.command("releases")
@click.option("--page-url", default=None, help="The BACI page listing releases (default: CEPII's).")
def data_releases_cmd(page_url: str | None) -> None:
    """List the BACI releases on CEPII's page (newest first) with their HS revisions."""
    from optimize.data.releases import DEFAULT_PAGE_URL, list_releases

    for r in list_releases(page_url or DEFAULT_PAGE_URL):
        click.echo(f"{r.version}  {' '.join(r.hs)}")


# ---------------------------------------------------------------- run / scenarios
def _choices(dotted: str) -> click.Choice:
    """The allowed values of a scenario key, from the schema's ``Literal``."""
    from optimize.config.aliases import literal_choices
    from optimize.config.scenario import Scenario

    return click.Choice(literal_choices(Scenario, dotted))


def scenario_options(fn):
    """The options every scenario-driven command shares: --scenario, --set, --baci."""
    fn = click.option("--baci", type=click.Path(), default=None,
                      help="BACI zip/CSV/parquet or a folder of them (default: the scenario's data, "
                           "else the embedded SYNTHETIC sample).")(fn)
    fn = click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                      help="Override a scenario key, e.g. --set cap.pp=3 (repeatable; applied last).")(fn)
    return click.option("--scenario", "scenario_name", default="default", show_default=True,
                        help="Shipped scenario name (see `tradeopt scenarios`) or a TOML file.")(fn)


def _scenario(scenario_name: str, sets, **keywords):
    """The scenario with the command's options (API keywords, ``ALIASES``) and then ``--set`` applied."""
    from optimize.api import load_scenario

    return load_scenario(scenario_name, overrides=sets, **keywords)


def _products_keywords(products: str | None) -> dict:
    """``--products``: a basket CSV file (``basket_file``) or codes/chapters/ranges/'all' (``products``)."""
    from pathlib import Path

    if products is None:
        return {}
    return {"basket_file": products} if Path(products).is_file() else {"products": products}


@main.command()
@scenario_options
@click.option("--year", type=int, default=None, help="Year to analyse (default: the scenario's, else the latest).")
@click.option("--importer", default=None, help="Importer: ISO3, BACI codes or group (EU27, NLD, KOR), comma-separated = one bloc.")
@click.option("--risk", default=None, help="Risk countries, comma-separated (e.g. CHN,USA,RUS).")
@click.option("--friends", default=None, help="Allowed alternatives, comma-separated or a group (G7+allies).")
@click.option("--cap", "cap_pp", type=float, default=None, help="Cap in percentage points (0-100).")
@click.option("--cap-basis", type=_choices("cap.basis"), default=None)
@click.option("--products", default=None, help="'all', a basket CSV file, or HS6 codes/chapters/ranges, comma-separated.")
@click.option("--sector", "sectors", multiple=True, help="Basket sector(s): health, ict, energy, crm.")
@click.option("--backend", type=_choices("solver.backend"), default=None)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default ./tradeopt-out/<scenario>).")
@click.option("--save-lp", type=click.Path(dir_okay=False), default=None, help="Also write the LP to this file.")
@click.option("--eur-per-usd", type=float, default=None, help="Also report EUR at this rate (EUR per USD).")
@click.option("--xlsx", is_flag=True, default=None, help="Also write an XLSX workbook.")
@click.option("--no-figures", "figures", flag_value=False, default=None, help="Skip the PNG/SVG figures.")
@click.option("--keep-going", is_flag=True, default=None, help="Report infeasible products and continue with the rest.")
@click.option("--quiet", is_flag=True, help="Print only the output path.")
@click.option("--overwrite", is_flag=True, help="Write into an output that holds files tradeopt did not write "
              "(those are never changed) or replace an existing output file.")
def run(scenario_name, sets, out_dir, save_lp, quiet, products, sectors, overwrite, **keywords):
    """Re-allocate the scenario's imports away from risk suppliers and write the report."""
    from pathlib import Path

    from optimize.api import run as api_run
    from optimize.atomic import contained
    from optimize.data.trade import SYNTHETIC_LABEL

    scen = _scenario(scenario_name, sets, sectors=list(sectors) or None, **_products_keywords(products), **keywords)
    out = Path(out_dir) if out_dir else contained("tradeopt-out", scen.name)
    result = api_run(scen, out_dir=out, save_lp=save_lp, overwrite=overwrite)
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
    click.echo(f"Outputs written to {out}")


@main.command()
@click.argument("name", required=False)
@click.option("--schema", is_flag=True, help="Print the JSON Schema of scenario files (for editors and validators).")
def scenarios(name, schema):
    """List the shipped scenarios, or print one fully resolved (every key) as TOML."""
    from optimize.api import list_scenarios, load_scenario, scenario_schema

    if schema:
        click.echo(scenario_schema(), nl=False)
        return
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
@click.option("--caps", "caps_pp", default=None, help="Caps in pp: 0,1,2 or 1-10 or 0-10:0.5 (default: the scenario's).")
@click.option("--cap-basis", "cap_bases", default=None,
              help="Comma-separated: world-exports, importer-market, rest-of-world (default: the scenario's).")
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
@click.option("--overwrite", is_flag=True, help="Write into an output that holds files tradeopt did not write "
              "(those are never changed) or replace an existing output file.")
def batch(scenario_name, sets, baci, out_dir, **grid):
    """Run a grid importer x year x cap x cap basis x risk set; re-running skips finished cells."""
    from optimize.api import batch_run

    res = batch_run(_scenario(scenario_name, sets, baci=baci), out_dir=out_dir, **grid)
    n_err = int(res.table["status"].astype(str).str.startswith("error").sum()) if len(res.table) else 0
    n_cells = len(res.computed) + len(res.skipped)
    click.echo(f"{len(res.computed)} cell(s) computed, {len(res.skipped)} already finished, "
               f"{n_cells} in the grid; {n_err} error row(s); {res.seconds:.1f}s")
    click.echo(f"Table written to {res.out_dir / 'batch.csv'}; dataset in {res.out_dir / 'dataset'}")


@main.command()
@scenario_options
@click.option("--importer", default=None, help="Importer (ISO3, group); comma-separated = one bloc.")
@click.option("--risk", default=None, help="Risk countries, comma-separated.")
@click.option("--caps", "caps_pp", default="0-10", show_default=True, help="Caps in pp: 0,1,2 or 1-10 or 0-10:0.5.")
@click.option("--cap-basis", default=None, type=_choices("cap.basis"))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Output folder.")
@click.option("--cold", is_flag=True, help="Solve each cap from scratch (no warm start).")
@click.option("--no-figures", is_flag=True, help="Skip sweep.png/svg.")
@click.option("--overwrite", is_flag=True, help="Write into an output that holds files tradeopt did not write "
              "(those are never changed) or replace an existing output file.")
def sweep(scenario_name, sets, caps_pp, out_dir, cold, no_figures, overwrite, **keywords):
    """Exposure per risk country against the cap, and the reduction per extra pp (warm-started HiGHS)."""
    from optimize.api import sweep_caps

    res = sweep_caps(_scenario(scenario_name, sets, **keywords), caps_pp=caps_pp, out_dir=out_dir,
                     plot=not no_figures, warm=not cold, overwrite=overwrite)
    all_rows = res.table[res.table["risk"] == "ALL"]
    for rec in all_rows.to_dict("records"):
        click.echo(f"cap {rec['cap_pp']:>5g} pp: risk share {rec['share_after'] * 100:6.2f} %")
    click.echo(f"{'warm-started' if res.warm else 'cold'} solves, {sum(res.solve_s):.3f}s solving, "
               f"{res.seconds:.1f}s total; written to {out_dir}")


# ---------------------------------------------------------------- screens / analysis
def _parse_years(year: int | None, years: str | None) -> list[int] | None:
    """``--year`` or ``--years`` (``2021-2023``, ``2021,2023``) -> a list of years (None = the data's latest)."""
    from optimize.errors import InputError
    from optimize.runs.batch import parse_years

    if year is not None and years:
        raise InputError("give --year or --years, not both", field="--years", fix="drop one of them")
    if year is not None:
        return [int(year)]
    return list(parse_years(years)) if years else None


def _check_out_parent(out_path: str | None, overwrite: bool = False, figures: bool = False) -> None:
    """``--out FILE``: its folder must exist, the file (and with ``figures`` its .png/.svg) not exist
    unless ``overwrite`` (exit 5 before any work; ``atomic.check_out_file``)."""
    from pathlib import Path

    from optimize.atomic import check_out_file
    from optimize.errors import OutputError

    if out_path and not Path(out_path).resolve().parent.is_dir():
        raise OutputError(f"folder {Path(out_path).resolve().parent} does not exist",
                          fix="create it or choose another --out")
    if out_path:
        stem = Path(out_path).with_suffix("")
        for p in (out_path, *((stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg"))
                              if figures else ())):
            check_out_file(p, overwrite=overwrite)


def _write_table(table, out_path: str | None, overwrite: bool = False) -> None:
    if out_path:
        from optimize.atomic import atomic_file

        with atomic_file(out_path, overwrite=overwrite) as tmp:
            table.to_csv(tmp, index=False, lineterminator="\n")
        click.echo(f"Wrote {out_path}")


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
@click.option("--overwrite", is_flag=True, help="Write into an output that holds files tradeopt did not write "
              "(those are never changed) or replace an existing output file.")
def screen(kind, baci_path, importer, year, years, supplier, stage, min_value_kusd, thresholds, top, out_path,
           overwrite):
    """Dependency screens: ec (EC 2021), geodep (CEPII GeoDep) or single (one supplier > 50% / 70%)."""
    from optimize.analysis.screens import count_flags
    from optimize.api import screen as api_screen

    _check_out_parent(out_path, overwrite)
    yrs = _parse_years(year, years)
    last = yrs[-1] if yrs else None
    if kind == "ec":
        opts = {"hhi_threshold": thresholds[0]} if thresholds else {}
        res = api_screen("ec", baci_path, importer=importer, year=last, **opts)
        value_col, order_col = "extra_imports_kusd", "hhi_extra"
    elif kind == "geodep":
        opts = {"hhi_importer": thresholds[0]} if thresholds else {}
        res = api_screen("geodep", baci_path, importer=importer, years=yrs, **opts)
        value_col, order_col = "imports_kusd", "hhi_importer"
        click.echo(f"GeoDep: {res['note'].iloc[0] if len(res) else 'no products'}")
    else:
        res = api_screen("single", baci_path, importer=importer, year=last, supplier=supplier,
                         thresholds=thresholds or (0.5, 0.7), stage=stage, min_value_kusd=min_value_kusd)
        value_col, order_col = "total_kusd", "supplier_share" if supplier else "top_share"
    if res.attrs.get("synthetic"):
        click.echo(f"Data: {res.attrs['data_label']}")
    counts = count_flags(res)
    click.echo(f"{kind} screen, importer {importer}: {counts['flagged']} of {counts['rows']} rows flagged")
    for key, n in counts.items():
        if key.startswith("above_"):
            click.echo(f"  {key.replace('above_', 'above ')}%: {n}")
    flagged = res[res["flagged"]].sort_values([order_col, value_col, "k"], ascending=[False, False, True])
    if len(flagged):
        cols = [c for c in ("k", "year", "latest_year", value_col, order_col, "top_supplier_iso3") if c in flagged.columns]
        click.echo(flagged[cols].head(top).to_string(index=False))
    _write_table(res, out_path, overwrite)


@main.command()
@click.argument("kind", type=click.Choice(["frontier", "cost", "binding"]))
@scenario_options
@click.option("--points", type=int, default=11, show_default=True, help="frontier: exposure levels.")
@click.option("--top", type=int, default=10, show_default=True, help="binding: exporters per sector.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None, help="Write the table as CSV.")
@click.option("--overwrite", is_flag=True, help="Write into an output that holds files tradeopt did not write "
              "(those are never changed) or replace an existing output file.")
def analyse(kind, scenario_name, sets, baci, points, top, out_path, overwrite):
    """Analyses of a scenario's re-allocation: frontier (exposure vs HHI), cost (of shifting), binding (caps)."""
    from optimize import api

    _check_out_parent(out_path, overwrite, figures=kind == "frontier")
    scen = _scenario(scenario_name, sets, baci=baci)
    if kind == "frontier":
        table, result = api.frontier(scen, points=points)
        if (table.get("group") == "coupled-proxy").any():
            click.echo("Coupled caps: linear proxy (value-weighted largest supplier share).")
        cols = [c for c in ("group", "point", "exposure_share", "hhi", "max_share", "is_knee") if c in table]
        click.echo(table[cols].to_string(index=False))
        if "n_hhi_rises" in table:
            for g, row in table.groupby("group", sort=True).first().iterrows():
                click.echo(f"{g}: HHI rises in {row['n_hhi_rises']} of {row['n_products']} products after the plain run")
    elif kind == "cost":
        table, summary, result = api.cost(scen)
        c = summary["extra_cost_usd"]
        click.echo(f"Shifted {summary['shifted_usd']:,.0f} USD; quantities usable for {summary['coverage']:.1%} of it")
        click.echo(f"Extra cost (USD): low {c['low']:,.0f}  central {c['central']:,.0f}  high {c['high']:,.0f}"
                   f" ({summary['n_products_without_estimate']} shifted products without an estimate)")
    else:
        per_pair, table, result = api.binding(scen, top=top)
        click.echo(f"{int(per_pair['binds'].sum())} binding caps in {per_pair.loc[per_pair['binds'], 'k'].nunique()} products")
        click.echo(table.to_string(index=False))
    if result.synthetic:
        click.echo("NOTE: SYNTHETIC SAMPLE - not real trade data")
    _write_table(table, out_path, overwrite)
    if out_path and kind == "frontier" and (table["group"] == "all").any():
        from pathlib import Path

        paths = api.frontier_figure(table, Path(out_path).with_suffix(""), synthetic=result.synthetic,
                                    overwrite=overwrite)
        click.echo("Figure: " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
