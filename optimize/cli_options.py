"""The click options of ``tradeopt``, generated from the one alias table and the scenario schema.

An option that sets a scenario key is declared once, in ``optimize.config.aliases`` (``CLI_OPTIONS``,
``AXES``: name and help); its type comes from the schema field (``Literal``: a choice of its values,
``bool``: a flag, ``int``/``float``: a number, else text). Only the CLI (``cli.py``) imports this module.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal, get_args, get_origin

import click

from optimize import api
from optimize.config.aliases import ALIASES, AXES, CLI_OPTIONS, SCREEN_SELECTION, SELECTION, CliOption, field_type
from optimize.config.scenario import Scenario


def _value(spec: CliOption, annotation) -> dict:
    """click attributes of the value: repeated, a path, a choice of a ``Literal``'s values, a flag, a number, text."""
    if spec.repeat:
        return {"multiple": True}
    if spec.path:
        return {"type": click.Path()}
    if get_origin(annotation) is Literal:
        return {"type": click.Choice(get_args(annotation))}
    if annotation is bool:
        return {} if "/" in spec.flag else {"is_flag": True, "flag_value": not spec.flag.startswith("--no-")}
    return {"type": annotation} if annotation in (int, float) else {}


def scenario_option(keyword: str, *decls: str, **attrs):
    """The option of a scenario keyword (``ALIASES``) as ``CLI_OPTIONS`` declares it; ``attrs`` adjust it."""
    spec = CLI_OPTIONS[keyword]
    value = _value(spec, field_type(Scenario, ALIASES[keyword]))
    if keyword == "baci":  # repeatable: screens read several files, the scenario commands one file or folder
        value["multiple"] = True
    return click.option(spec.flag, *(decls or (keyword,)), **{"default": None, "help": spec.help, **value, **attrs})


def axis_options(*keywords: str, **attrs):
    """The options of batch/sweep axes (each lists values of one scenario key) as ``AXES`` declares them;
    without a ``default`` in ``attrs`` the help says the scenario gives it."""
    def decorate(command):
        for keyword in reversed(keywords):
            dotted, spec = AXES[keyword]
            annotation = field_type(Scenario, dotted)
            choices = get_args(annotation) if get_origin(annotation) is Literal else ()
            given = "." if "default" in attrs else f" (default: the scenario's {dotted})."
            text = spec.help.format(choices=", ".join(choices)) + given
            kind = {"type": ChoiceList(choices)} if choices else {}
            command = click.option(spec.flag, keyword, **{"default": None, "help": text, **kind, **attrs})(command)
        return command
    return decorate


class ChoiceList(click.ParamType):
    """Comma-separated values, each one of ``choices`` (e.g. batch's ``--cap-basis a,b``); the text is kept."""

    name = "choices"

    def __init__(self, choices):
        self.choices = tuple(choices)

    def get_metavar(self, param, ctx=None):
        return "[" + "|".join(self.choices) + "],..."

    def convert(self, value, param, ctx):
        bad = [t for t in str(value).split(",") if t.strip() not in self.choices]
        if bad:
            self.fail(f"{bad[0]!r} is not one of {', '.join(self.choices)} (comma-separated)", param, ctx)
        return value


def scenario_options(*keywords: str, sources: bool = False):
    """--scenario, --set, --baci, --intra-bloc and the options of ``keywords``: the command gets the
    ``scenario`` they make (keywords first, ``--set`` last) in their place; with ``sources`` it also gets
    the --baci files or folder as ``sources`` (a tuple: several files allowed) and the scenario keeps its own."""
    keywords = ("baci", "intra_bloc", *keywords)

    def decorate(command):
        @functools.wraps(command)
        def with_scenario(scenario_name: str, sets: tuple[str, ...], **options):
            given = {k: options.pop(k) for k in keywords}
            if sources:
                options["sources"] = tuple(given.pop("baci") or ())
            return command(scenario=_load(scenario_name, sets, given), **options)

        for keyword in reversed(keywords):
            with_scenario = scenario_option(keyword)(with_scenario)
        with_scenario = click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a "
                                     "scenario key, e.g. --set cap.pp=3 (repeatable; applied last).")(with_scenario)
        return click.option("--scenario", "scenario_name", default="default", show_default=True,
                            help="Shipped scenario name (see `tradeopt scenarios`) or a TOML file.")(with_scenario)
    return decorate


def _load(scenario_name: str, sets: tuple[str, ...], keywords: dict) -> Scenario:
    """The scenario with the options' keywords (None or no value = not given) and then ``--set`` applied
    (``products``: a basket CSV, codes, chapters, ranges or 'all', told apart as the API does)."""
    keywords["baci"] = one_source(keywords.get("baci"))
    given = {k: v for k, v in keywords.items() if v is not None and v != ()}
    return api.load_scenario(scenario_name, overrides=sets, **given)


def selection_options(*more: str, sources: bool = False, axes: tuple[str, ...] = ()):
    """``scenario_options`` with the whole selection (``SELECTION``: data, year, importer, risk, friends, cap,
    cap basis, intra-bloc, products, sectors) and ``more`` keywords (``sources``: as ``scenario_options``;
    ``axes``: selection keywords the command takes as a list instead, e.g. ``cap_basis``)."""
    return scenario_options(*(k for k in SELECTION if k not in ("baci", "intra_bloc", *axes)), *more,
                            sources=sources)


def _stacked(options):
    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return function
    return decorate


#: Each screen's own options: (--threshold help, further options).
_SCREEN_OWN = {
    "single": ("Supplier-share thresholds (repeatable; default 0.5 and 0.7).", (
        click.option("--supplier", default=None, help="Test one supplier's share (ISO3 or BACI code), e.g. CHN; "
                                                      "default: the top supplier."),
        click.option("--stage", default=None, help="Keep one value-chain stage, e.g. intermediate."),
        click.option("--min-value-usd", type=float, default=0.0, show_default=True,
                     help="Drop products with smaller imports (USD)."),
        click.option("--min-value-kusd", type=float, default=None, hidden=True,
                     help="Old spelling: --min-value-usd in thousands of USD."))),
    "ec": ("Extra-bloc HHI threshold (default 0.4).", ()),
    "geodep": ("Importer HHI threshold (default 0.4).", ()),
}
#: The analyses (``tradeopt analyse KIND``) and their one-line help.
ANALYSES = {"frontier": "Exposure vs HHI frontier of the re-allocation (figure with -o unless --no-figures).",
            "cost": "Cost of shifting the imports (quantities and unit values; low / central / high, USD).",
            "binding": "Binding caps: the exporters whose extra pp of cap would remove the most risk imports."}
#: Each analysis's own options.
_ANALYSIS_OWN = {
    "frontier": (click.option("--points", type=int, default=11, show_default=True, help="Exposure levels."),),
    "cost": (),
    "binding": (click.option("--top", type=int, default=10, show_default=True, help="Exporters per sector."),),
}


class KindGroup(click.Group):
    """A group of subcommands (``screen``, ``analyse``) that, given options before any subcommand (the old
    ``tradeopt screen --baci F`` spelling), names the subcommands to choose from."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0].startswith("-") and args[0] not in ("--help", "--debug"):
            raise click.UsageError(f"name the {ctx.info_name} first: tradeopt {ctx.info_name} "
                                   f"{'|'.join(sorted(self.commands))} {' '.join(args)}", ctx=ctx)
        return super().parse_args(ctx, args)


def screen_options(kind: str):
    """The options of ``tradeopt screen KIND``: the screen selection (``SCREEN_SELECTION``, ``--years``),
    the screen's own, --threshold, --top, -o/--out, -q/--quiet, --overwrite."""
    threshold_help, extra = _SCREEN_OWN[kind]
    selection = [scenario_option(k, default="EU27", show_default=True) if k == "importer" else scenario_option(k)
                 for k in SCREEN_SELECTION]
    return _stacked((*selection, axis_options("years", default=None), *extra,
                     click.option("--threshold", "thresholds", type=float, multiple=True, help=threshold_help),
                     click.option("--top", type=int, default=10, show_default=True,
                                  help="How many flagged products to print."),
                     out_folder(help="Output folder: the table as CSV and Parquet, summary.json (settings, counts), "
                                     "datapackage.json."),
                     quiet_option(help="Print only the output folder."), overwrite_option))


def analysis_options(kind: str):
    """The options of ``tradeopt analyse KIND``: the whole selection (``selection_options``; frontier also
    --figures/--no-figures), the analysis's own, -o/--out, -q/--quiet, --overwrite."""
    extra = _ANALYSIS_OWN[kind]
    figures = ", figures/frontier.png|svg" if kind == "frontier" else ""
    return _stacked((selection_options("elasticities", *(("figures",) if kind == "frontier" else ())), *extra,
                     out_folder(help=f"Output folder: the table(s) as CSV and Parquet, summary.json (settings), "
                                     f"datapackage.json{figures}."),
                     quiet_option(help="Print only the output folder."), overwrite_option))


#: The commands across years (``tradeopt KIND``) and their one-line help.
ACROSS_YEARS = {"trend": "Run the scenario once per year (a folder of yearly files or several --baci) and "
                         "decompose each change of the risk share (within products / basket composition).",
                "backtest": "Backtest the cap rule: the run on --from at each of --caps against what the importer's "
                            "imports did by --to (Spearman, captured share, predicted and realised cut)."}
#: Where the across-years commands run their years (``runs.calls``).
_ACROSS_EXECUTORS = (
    click.option("--workers", type=int, default=1, show_default=True,
                 help="Local worker processes, one year each (1: one after another)."),
    click.option("--dask", "dask_address", default=None,
                 help="local / local:N (a LocalCluster of N worker processes) or a scheduler address "
                      "tcp://HOST:8786: each year one task there (the --baci path must be readable by the workers)."))
#: Each across-years command's own options.
_ACROSS_OWN = {
    "trend": (axis_options("years", default=None),
              click.option("--top", type=int, default=5, show_default=True,
                           help="Top contributing products per year-to-year change and risk country."),
              *_ACROSS_EXECUTORS),
    "backtest": (click.option("--from", "from_year", type=int, required=True, help="The year the model runs on."),
                 click.option("--to", "to_year", type=int, required=True,
                              help="The later year whose imports are compared with the model's prediction."),
                 axis_options("caps_pp", "cap_bases", default=None), *_ACROSS_EXECUTORS),
}
_ACROSS_FILES = {"trend": "trend.csv, decomposition.csv, decomposition_products.csv, screens.csv, "
                          "screens_survival.csv (and .parquet), "
                          "figures/trend",
                  "backtest": "backtest.csv, backtest_pairs.csv (and .parquet), figures/backtest"}


def across_years_options(kind: str):
    """The options of ``tradeopt trend`` / ``backtest``: the whole selection with several --baci
    (``selection_options(sources=True)``) and --figures/--no-figures, the command's own, -o/--out (required),
    -q/--quiet, --overwrite."""
    axes = ("cap_basis",) if kind == "backtest" else ()  # backtest: several bases, as batch's --cap-basis
    return _stacked((selection_options("figures", sources=True, axes=axes), *_ACROSS_OWN[kind],
                     out_folder(required=True, help=f"Output folder: {_ACROSS_FILES[kind]}, summary.json "
                                                    "(settings), summary.md, datapackage.json."),
                     quiet_option(help="Print only the output folder."), overwrite_option))


def across_years_command(kind: str) -> click.Command:
    """``tradeopt trend`` / ``backtest``: ``api.<kind>`` over the --baci folder or files, printed by
    ``output.trend.across_text``."""
    @click.command(kind, help=ACROSS_YEARS[kind])
    @across_years_options(kind)
    def command(scenario, sources, out_dir, quiet: bool, overwrite: bool, **params) -> None:
        from optimize.output.trend import across_text

        got = getattr(api, kind)(scenario, list(sources) or None, out_dir=out_dir, figures=scenario.report.figures,
                                 overwrite=overwrite, **params)
        click.echo(f"Outputs written to {out_dir}" if quiet else across_text(kind, got, out_dir))
    return command


def extra_bloc_only(kind: str, options: dict) -> dict:
    """``options`` without ``intra_bloc``: the EC and GeoDep screens are defined on trade with outside the
    importer set (``exclude``); ``include`` is an ``InputError``."""
    from optimize.errors import InputError

    options = dict(options)
    if options.pop("intra_bloc", None) == "include":
        raise InputError(f"the {kind} screen counts trade with outside the importer set only", field="--intra-bloc",
                         fix="drop --intra-bloc include (or use `screen single`, which counts either way)")
    return options


def one_source(baci: tuple[str, ...] | str | None) -> str | None:
    """The one --baci of a scenario command (a file or a folder); several are an ``InputError``."""
    from optimize.errors import InputError

    if not baci or isinstance(baci, str):
        return baci or None
    if len(baci) > 1:
        raise InputError(f"{len(baci)} --baci sources given", field="--baci",
                         fix="this command reads one BACI file or folder: put the files in one folder (screens take "
                             "several files)")
    return baci[0]


def _set_debug(ctx: click.Context, _param, value: bool) -> None:
    if value:
        ctx.find_root().ensure_object(dict)["debug"] = True


def _set_progress(_ctx: click.Context, _param, value: bool | None) -> None:
    from optimize.progress import set_progress

    set_progress(value)


def debug_everywhere(group: click.Group) -> None:
    """Give ``group`` and every command under it a ``--debug`` flag (tracebacks on errors) and
    ``--progress/--no-progress`` (bars only on a terminal unless forced), so they can be written before or
    after the subcommand."""
    for command in (group, *group.commands.values()):
        if not any(p.name == "debug" for p in command.params):
            command.params.append(click.Option(["--debug"], is_flag=True, expose_value=False, callback=_set_debug,
                                               help="Show tracebacks on errors."))
        if not any(p.name == "progress" for p in command.params):
            command.params.append(click.Option(
                ["--progress/--no-progress"], default=None, expose_value=False, callback=_set_progress,
                help="Progress bars even when stderr is no terminal, or never (default: only on a terminal)."))
        if isinstance(command, click.Group) and command is not group:
            debug_everywhere(command)


def _folder(ctx, param, value):
    if value and Path(value).suffix.lower() in (".csv", ".parquet", ".xlsx") and not Path(value).is_file():
        raise click.BadParameter(f"{value!r} names a file; -o/--out is an output folder (tables as CSV and Parquet, "
                                 f"summary.json, datapackage.json): give a folder, e.g. -o {Path(value).stem}",
                                 ctx=ctx, param=param)
    return value


overwrite_option = click.option("--overwrite", is_flag=True, help="Write into an output that holds files tradeopt "
                                "did not write (those are never changed) or replace an existing output file.")
#: ``-o/--out``: the output folder (``out_dir``); a name ending .csv/.parquet/.xlsx is refused (a file, not a
#: folder; an existing file is exit 5, from the output preflight); each command gives its help. No explicit
#: default: under click >= 8.3 ``default=None`` counts as a value and ``required=True`` is never checked.
out_folder = functools.partial(click.option, "-o", "--out", "out_dir", type=click.Path(), callback=_folder)
quiet_option = functools.partial(click.option, "-q", "--quiet", is_flag=True)
