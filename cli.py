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


# ---------------------------------------------------------------- run / scenarios


# ---------------------------------------------------------------- batch / sweep


# ---------------------------------------------------------------- screens / analysis
def _screen_flows(baci_path: str | None, years: list[int] | None):
    """Flows for the screens: ``optimize.baci.read_baci`` (None = embedded sample)."""
    from optimize.errors import InputError

    try:
        from optimize.baci import read_baci
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
    raise InputError("the BACI reader (optimize.baci) is not available", file=baci_path,
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

    from optimize import screens
    from optimize.countries import resolve_countries, to_iso3
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




if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
