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
from optimize.config.aliases import ALIASES, AXES, CLI_OPTIONS, CliOption, field_type
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
        return {"is_flag": True, "flag_value": not spec.flag.startswith("--no-")}
    return {"type": annotation} if annotation in (int, float) else {}


def scenario_option(keyword: str, *decls: str, **attrs):
    """The option of a scenario keyword (``ALIASES``) as ``CLI_OPTIONS`` declares it; ``attrs`` adjust it."""
    spec = CLI_OPTIONS[keyword]
    value = _value(spec, field_type(Scenario, ALIASES[keyword]))
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
            command = click.option(spec.flag, keyword, **{"default": None, "help": text, **attrs})(command)
        return command
    return decorate


def scenario_options(*keywords: str):
    """--scenario, --set, --baci, --intra-bloc and the options of ``keywords``: the command gets the
    ``scenario`` they make (keywords first, ``--set`` last) in their place."""
    keywords = ("baci", "intra_bloc", *keywords)

    def decorate(command):
        @functools.wraps(command)
        def with_scenario(scenario_name: str, sets: tuple[str, ...], **options):
            return command(scenario=_load(scenario_name, sets, {k: options.pop(k) for k in keywords}), **options)

        for keyword in reversed(keywords):
            with_scenario = scenario_option(keyword)(with_scenario)
        with_scenario = click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a "
                                     "scenario key, e.g. --set cap.pp=3 (repeatable; applied last).")(with_scenario)
        return click.option("--scenario", "scenario_name", default="default", show_default=True,
                            help="Shipped scenario name (see `tradeopt scenarios`) or a TOML file.")(with_scenario)
    return decorate


def _load(scenario_name: str, sets: tuple[str, ...], keywords: dict) -> Scenario:
    """The scenario with the options' keywords (None or no value = not given) and then ``--set`` applied;
    ``products`` names a basket CSV file when such a file exists, else codes/chapters/ranges/'all'."""
    products = keywords.pop("products", None)
    if products is not None:
        keywords["basket_file" if Path(products).is_file() else "products"] = products
    given = {k: v for k, v in keywords.items() if v is not None and v != ()}
    return api.load_scenario(scenario_name, overrides=sets, **given)


overwrite_option = click.option("--overwrite", is_flag=True, help="Write into an output that holds files tradeopt "
                                "did not write (those are never changed) or replace an existing output file.")
#: ``--out`` as a folder (``out_dir``) or as one CSV file (``out_path``); each command gives its help.
out_folder = functools.partial(click.option, "--out", "out_dir", type=click.Path(file_okay=False), default=None)
out_csv = functools.partial(click.option, "--out", "out_path", type=click.Path(dir_okay=False), default=None)
quiet_option = functools.partial(click.option, "--quiet", is_flag=True)
