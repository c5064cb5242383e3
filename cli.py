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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
