"""The ``tradeopt`` command: argument parsing and printing over the ``optimize`` API.

Commands parse their options, call ``optimize.api`` and print the text that
``optimize.output.console`` makes of the result. Errors print one line and exit with the code of
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
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            ctx.exit(_report(exc, debug=bool(ctx.obj and ctx.obj.get("debug"))))
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def _report(exc: BaseException, *, debug: bool) -> int:
    """Print one line for ``exc`` (a traceback only with --debug) and return the exit code."""
    if isinstance(exc, _Terminated):
        click.echo("Terminated.", err=True)
        return 128 + signal.SIGTERM
    if isinstance(exc, KeyboardInterrupt):
        click.echo("Interrupted.", err=True)
        return 130
    if isinstance(exc, BrokenPipeError):  # `tradeopt screen ... | head`: the reader left; stop quietly
        _quiet_stdout()
        return 0
    if debug:
        traceback.print_exception(exc)
    if isinstance(exc, TradeoptError):
        click.echo(f"Error: {exc}", err=True)
        return exc.exit_code
    click.echo(f"Internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True)
    return EXIT_INTERNAL  # a bug: say so


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every ``finally`` and temporary-folder cleanup runs."""


_MAIN_PID = os.getpid()


def _on_sigterm(signum, frame):
    if os.getpid() != _MAIN_PID:  # a forked worker: die as SIGTERM would have made it
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    raise _Terminated()


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot raise on a closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (e.g. under a test runner)
        pass


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="tradeopt")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """tradeopt: which critical HS6 import flows can move away from risk suppliers, and where."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


# ---------------------------------------------------------------- shared options
def _choices(dotted: str) -> click.Choice:
    """The allowed values of a scenario key, from the schema's ``Literal``."""
    from optimize.config.aliases import literal_choices
    from optimize.config.scenario import Scenario

    return click.Choice(literal_choices(Scenario, dotted))


def overwrite_option(fn):
    return click.option("--overwrite", is_flag=True, help="Write into an output that holds files tradeopt did not "
                        "write (those are never changed) or replace an existing output file.")(fn)


def _remember_intra_bloc(ctx: click.Context, _param, value):
    if value is not None:
        ctx.meta["tradeopt.intra_bloc"] = value
    return value


def intra_bloc_option(fn):
    """--intra-bloc include|exclude (scenario key importer.intra_bloc), the same on every command."""
    return click.option("--intra-bloc", type=_choices("importer.intra_bloc"), default=None, expose_value=False,
                        callback=_remember_intra_bloc,
                        help="Trade between members of the importer set: include (study; default) or exclude "
                             "(EC 2021: totals, shares and caps on imports from outside the set).")(fn)


def _intra_bloc() -> str | None:
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get("tradeopt.intra_bloc") if ctx is not None else None


def scenario_options(fn):
    """The options every scenario-driven command shares: --scenario, --set, --baci, --intra-bloc."""
    fn = intra_bloc_option(fn)
    fn = click.option("--baci", type=click.Path(), default=None,
                      help="BACI zip/CSV/parquet or a folder of them (default: the scenario's data, "
                           "else the embedded SYNTHETIC sample).")(fn)
    fn = click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                      help="Override a scenario key, e.g. --set cap.pp=3 (repeatable; applied last).")(fn)
    return click.option("--scenario", "scenario_name", default="default", show_default=True,
                        help="Shipped scenario name (see `tradeopt scenarios`) or a TOML file.")(fn)


def _scenario(scenario_name: str, sets, **keywords):
    """The scenario with the command's options (API keywords, ``ALIASES``) and then ``--set`` applied."""
    from pathlib import Path

    from optimize.api import load_scenario

    if _intra_bloc() is not None:
        keywords["intra_bloc"] = _intra_bloc()
    products = keywords.pop("products", None)  # a basket CSV file, or codes/chapters/ranges/'all'
    if products is not None:
        keywords["basket_file" if Path(products).is_file() else "products"] = products
    return load_scenario(scenario_name, overrides=sets, **keywords)


# ---------------------------------------------------------------- data commands
@main.group()
def data() -> None:
    """Inspect, validate, convert and download BACI data."""


_CACHE_HELP = "cache folder (default $TRADEOPT_CACHE, else the user cache folder: ~/.cache/tradeopt on Linux)."


@data.command("info")
@click.argument("path", required=False, type=click.Path(path_type=str))
@click.option("--cache-dir", type=click.Path(), default=None, help="Parquet " + _CACHE_HELP)
def data_info_cmd(path: str | None, cache_dir: str | None) -> None:
    """Years, rows, products, countries and total value of PATH (default: the embedded SYNTHETIC sample)."""
    from optimize.api import data_info
    from optimize.data.trade import SYNTHETIC_LABEL
    from optimize.output.console import data_info_text

    click.echo(data_info_text(data_info(path, cache_dir=cache_dir), SYNTHETIC_LABEL))


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
        problems = getattr(exc, "problems", None) or []
        click.echo("\n".join(str(p) for p in problems) if problems else f"problem: {exc}")
        if problems:
            click.echo(f"{len(problems)} problem(s) found.", err=True)
        ctx.exit(2)
    click.echo(f"OK: {len(td.flows):,} rows, years {', '.join(map(str, td.years))}, no problems found.")


@data.command("convert")
@click.argument("path", type=click.Path(path_type=str))
@click.option("--to", type=click.Choice(["parquet"]), default="parquet", show_default=True)
@click.option("--out", type=click.Path(path_type=str), default=None,
              help="Output file (default beside PATH, last suffix -> .parquet; BACI* names in <folder>/parquet/).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--columns", default=None, help="Source column names: t=year,i=ex_id,j=im_id,k=code,v=value,q=quantity.")
@click.option("--year", type=int, default=None, help="The year of a file without a year column.")
@click.option("--country-codes", type=click.Choice(["baci", "iso3"]), default="baci", show_default=True)
@click.option("--value-unit", type=click.Choice(["kusd", "usd"]), default="kusd", show_default=True)
@click.option("--comtrade", type=click.Choice(["M", "X"]), default=None,
              help="PATH is a UN Comtrade bulk CSV; keep its imports (M) or exports (X).")
def data_convert_cmd(path: str, **options) -> None:
    """Write a validated BACI-layout parquet copy of PATH (atomic): a BACI CSV/CSV.gz/zip, any layout, or Comtrade."""
    from optimize.api import convert_data

    click.echo(f"wrote {convert_data(path, **options)}")


@data.command("fetch")
@click.option("--hs", default="HS22", show_default=True, help="HS revision of the release, e.g. HS17, HS22.")
@click.option("--release", default="202501", show_default=True,
              help="BACI release, e.g. 202501, or 'latest' (the newest on the BACI page offering --hs).")
@click.option("--base-url", default=None, help="Download location (default: CEPII's BACI page).")
@click.option("--page-url", default=None, help="The BACI page listing releases (for --release latest).")
@click.option("--cache-dir", type=click.Path(), default=None, help="Target " + _CACHE_HELP)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def data_fetch_cmd(hs: str, release: str, quiet: bool, **where) -> None:
    """Download BACI_{HS}_V{RELEASE}.zip with resume and integrity checks."""
    from optimize.api import fetch

    got, path = fetch(hs, release, progress=False if quiet else None, **where)
    if release.lower() == "latest":
        click.echo(f"latest release offering {hs.upper()}: {got}")
    click.echo(f"saved {path}")


@data.command("releases")
@click.option("--page-url", default=None, help="The BACI page listing releases (default: CEPII's).")
def data_releases_cmd(page_url: str | None) -> None:
    """List the BACI releases on CEPII's page (newest first) with their HS revisions."""
    from optimize.api import releases

    for r in releases(page_url):
        click.echo(f"{r.version}  {' '.join(r.hs)}")


# ---------------------------------------------------------------- run / scenarios
@main.command()
@scenario_options
@click.option("--year", type=int, default=None, help="Year to analyse (default: the scenario's, else the latest).")
@click.option("--importer", default=None,
              help="Importer: ISO3, BACI code, English name or group (EU27, NLD, KOR); comma-separated = one bloc.")
@click.option("--risk", default=None, help="Risk countries, comma-separated (e.g. CHN,USA,RUS).")
@click.option("--friends", default=None, help="Allowed alternatives, comma-separated or a group (G7+allies).")
@click.option("--cap", "cap_pp", type=float, default=None, help="Cap in percentage points (0-100).")
@click.option("--cap-basis", type=_choices("cap.basis"), default=None)
@click.option("--products", default=None,
              help="'all', a basket CSV file, or HS6 codes/chapters/ranges, comma-separated.")
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
@overwrite_option
def run(scenario_name, sets, out_dir, save_lp, quiet, sectors, overwrite, **keywords):
    """Re-allocate the scenario's imports away from risk suppliers and write the report."""
    from pathlib import Path

    from optimize.api import run as api_run
    from optimize.atomic import contained
    from optimize.data.trade import SYNTHETIC_LABEL
    from optimize.output.console import run_messages

    scen = _scenario(scenario_name, sets, sectors=list(sectors) or None, **keywords)
    out = Path(out_dir) if out_dir else contained("tradeopt-out", scen.name)
    result = api_run(scen, out_dir=out, save_lp=save_lp, overwrite=overwrite)
    if not quiet:
        click.echo(result.summary_md())
    if result.synthetic and quiet:
        click.echo(f"NOTE: {SYNTHETIC_LABEL}", err=True)
    for line in run_messages(result):
        click.echo(line, err=True)
    if save_lp:
        click.echo(f"LP written to {save_lp}")
    click.echo(f"Outputs written to {out}")


@main.command()
@click.argument("name", required=False)
@click.option("--schema", is_flag=True, help="Print the JSON Schema of scenario files (for editors and validators).")
def scenarios(name, schema):
    """List the shipped scenarios, or print one fully resolved (every key) as TOML."""
    from optimize.api import list_scenarios, load_scenario, scenario_schema

    if schema or name:
        click.echo(scenario_schema() if schema else load_scenario(name).to_toml(), nl=False)
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
@click.option("--caps", "caps_pp", default=None,
              help="Caps in pp: 0,1,2 or 1-10 or 0-10:0.5 (default: the scenario's).")
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
@overwrite_option
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
@overwrite_option
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
@main.command()
@click.argument("kind", type=click.Choice(["ec", "geodep", "single"]), default="single")
@click.option("--baci", "baci_path", type=click.Path(dir_okay=False), default=None,
              help="BACI file (zip, CSV, parquet); default: the embedded synthetic sample.")
@click.option("--importer", default="EU27", show_default=True,
              help="Importer: ISO3, BACI code or group (EU27), comma-separated.")
@click.option("--year", type=int, default=None, help="One year.")
@click.option("--years", default=None, help="Years, e.g. 2021-2023 (GeoDep persistence).")
@click.option("--supplier", default=None, help="single: test one supplier's share (ISO3 or BACI code), e.g. CHN.")
@click.option("--stage", default=None, help="single: keep one value-chain stage.")
@click.option("--min-value-kusd", type=float, default=0.0, show_default=True, help="single: drop smaller products.")
@click.option("--threshold", "thresholds", type=float, multiple=True,
              help="single: supplier-share thresholds (repeatable, default 0.5 0.7); "
                   "ec/geodep: importer HHI threshold.")
@click.option("--top", type=int, default=10, show_default=True, help="How many flagged products to print.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None, help="Write the full table as CSV.")
@overwrite_option
@intra_bloc_option
def screen(kind, baci_path, importer, year, years, supplier, stage, min_value_kusd, thresholds, top, out_path,
           overwrite):
    """Dependency screens: ec (EC 2021), geodep (CEPII GeoDep) or single (one supplier > 50% / 70%)."""
    from optimize.api import screen as api_screen
    from optimize.output.console import check_out_file, screen_view, write_csv

    check_out_file(out_path, overwrite=overwrite)
    options = {"single": {"supplier": supplier, "thresholds": thresholds or (0.5, 0.7), "stage": stage,
                          "min_value_kusd": min_value_kusd, "intra_bloc": _intra_bloc() or "include"},
               "ec": {"hhi_threshold": thresholds[0]} if thresholds else {},
               "geodep": {"hhi_importer": thresholds[0]} if thresholds else {}}[kind]
    res = api_screen(kind, baci_path, importer=importer, year=year, years=years, **options)
    text, table = screen_view(kind, res, importer=importer, supplier=supplier, top=top)
    click.echo(text)
    if out_path:
        write_csv(table, out_path, overwrite=overwrite)
        click.echo(f"Wrote {out_path}")


@main.command()
@click.argument("kind", type=click.Choice(["frontier", "cost", "binding"]))
@scenario_options
@click.option("--points", type=int, default=11, show_default=True, help="frontier: exposure levels.")
@click.option("--top", type=int, default=10, show_default=True, help="binding: exporters per sector.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None, help="Write the table as CSV.")
@overwrite_option
def analyse(kind, scenario_name, sets, baci, points, top, out_path, overwrite):
    """Analyses of a scenario's re-allocation: frontier (exposure vs HHI), cost (of shifting), binding (caps)."""
    from pathlib import Path

    from optimize import api
    from optimize.output import console

    console.check_out_file(out_path, overwrite=overwrite, figures=kind == "frontier")
    scen = _scenario(scenario_name, sets, baci=baci)
    if kind == "frontier":
        table, result = api.frontier(scen, points=points)
        text, table = console.frontier_view(table)
    elif kind == "cost":
        table, summary, result = api.cost(scen)
        text = console.cost_text(summary)
    else:
        per_pair, table, result = api.binding(scen, top=top)
        text, table = console.binding_view(per_pair, table)
    click.echo(text)
    if result.synthetic:
        click.echo("NOTE: SYNTHETIC SAMPLE - not real trade data")
    if out_path:
        console.write_csv(table, out_path, overwrite=overwrite)
        click.echo(f"Wrote {out_path}")
    if out_path and kind == "frontier" and (table["group"] == "all").any():
        paths = api.frontier_figure(table, Path(out_path).with_suffix(""), synthetic=result.synthetic,
                                    overwrite=overwrite)
        click.echo("Figure: " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
