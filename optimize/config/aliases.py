"""One alias table: API keywords, CLI options and batch/sweep axes -> dotted scenario keys.

``updates_from_keywords(importer="NLD", cap_pp=3)`` gives ``{"importer.countries":
["NLD"], "importer.label": "", "cap.pp": 3.0}``, ready for ``Scenario.update``.
Values are normalised once here (country and product lists to lists of tokens);
everything else is validated by the scenario schema.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple, get_args, get_origin

from optimize.errors import ScenarioError
from optimize.tokens import basket_file
from optimize.tokens import split_tokens as tokens
from optimize.vocab import SECTORS

#: Keyword -> dotted scenario key (the only such table in tradeopt).
ALIASES: dict[str, str] = {
    "baci": "data.baci",
    "year": "data.year",
    "hs_revision": "data.hs_revision",
    "importer": "importer.countries",
    "label": "importer.label",
    "sectors": "basket.sectors",
    "basket_file": "basket.file",
    "products": "basket.products",
    "risk": "risk.countries",
    "risk_weights": "risk.weights",
    "split": "risk.split",
    "priority": "risk.priority",
    "friends": "alternatives.friends",
    "spread": "alternatives.spread",
    "self_supply": "alternatives.self_supply",
    "intra_bloc": "importer.intra_bloc",
    "cap_pp": "cap.pp",
    "cap_basis": "cap.basis",
    "exporter_pp": "cap.exporter_pp",
    "product_pp": "cap.product_pp",
    "share_limit": "cap.share_limit",
    "exporter_total_pp": "cap.exporter_total_pp",
    "ban_country": "ban.country",
    "ban_products": "ban.products",
    "backend": "solver.backend",
    "algorithm": "solver.algorithm",
    "time_limit_s": "solver.time_limit_s",
    "keep_going": "solver.keep_going",
    "elasticities": "cost.elasticities",
    "bands": "bands.enabled",
    "eur_per_usd": "report.eur_per_usd",
    "top_n": "report.top_n",
    "exclude_bloc_members": "report.exclude_bloc_members",
    "figures": "report.figures",
    "xlsx": "report.xlsx",
}


class CliOption(NamedTuple):
    """How the command line sets one keyword of ``ALIASES``; its value type and choices come from the schema."""

    flag: str  # e.g. "--cap"; a "--no-..." flag sets a boolean key to false; "--x/--no-x" sets it either way
    help: str  # says the unit
    repeat: bool = False  # given once per value (--sector a --sector b) instead of one comma-separated value
    path: bool = False  # a file or folder name (the shell completes it)


#: Keyword -> its command-line option (the only place an option's name and help are written).
CLI_OPTIONS: dict[str, CliOption] = {
    "baci": CliOption("--baci", "BACI zip/CSV/parquet or a folder of them; screens, trend and backtest also "
                                "take several files (--baci repeated). Default: the scenario's data, else the "
                                "embedded SYNTHETIC sample.", path=True),
    "intra_bloc": CliOption("--intra-bloc", "Trade between members of the importer set: include (study; default) "
                                            "or exclude (EC 2021: totals, shares and caps on imports from outside "
                                            "the set)."),
    "year": CliOption("--year", "Year to analyse (default: the scenario's, else the latest; screens: every "
                                "year in the data)."),
    "importer": CliOption("--importer", "Importer: ISO3, BACI code, English name or group (EU27, NLD, KOR); "
                                        "comma-separated = one bloc."),
    "risk": CliOption("--risk", "Risk countries, comma-separated (e.g. CHN,USA,RUS)."),
    "friends": CliOption("--friends", "Allowed alternatives, comma-separated or a group (G7+allies)."),
    "cap_pp": CliOption("--cap", "Cap in percentage points (0-100)."),
    "cap_basis": CliOption("--cap-basis", "What the cap's percentage points are of: the alternative's exports "
                                          "of the product, the importer's imports of it, or the alternative's "
                                          "exports outside the importer (default: the scenario's)."),
    "products": CliOption("--products", "'all', a basket CSV file (columns k,sector), a file of codes, or HS6 "
                                        "codes/chapters/ranges, comma-separated."),
    "sectors": CliOption("--sector", f"Basket sector(s): {', '.join(SECTORS)} (repeatable).", repeat=True),
    "backend": CliOption("--backend", "LP solver: highspy directly, or the Pyomo model (cross-check)."),
    "bands": CliOption("--bands", "Also report low/central/high bands: re-solve at each cap of bands.caps "
                                  "(default 2.5, 5, 10 pp) and use the sigma band and the prior's range."),
    "elasticities": CliOption("--elasticities", "CSV with columns k,sigma (HS6 codes of the data's revision, "
                                                "sigma > 0) overriding the bundled ProTEE elasticities.", path=True),
    "eur_per_usd": CliOption("--eur-per-usd", "Also report EUR at this rate (EUR per USD)."),
    "xlsx": CliOption("--xlsx", "Also write an XLSX workbook."),
    "figures": CliOption("--figures/--no-figures", "Write the PNG/SVG figures, or skip them (default: the "
                                                   "scenario's report.figures; batch: off)."),
    "keep_going": CliOption("--keep-going", "Report infeasible products and continue with the rest."),
}

#: The selection every command that reads trade data takes (``SELECTION``; screens: ``SCREEN_SELECTION``),
#: beside --year/--years, -o/--out, -q/--quiet and --debug; a test walks the click tree to check it.
SELECTION = ("baci", "year", "importer", "risk", "friends", "cap_pp", "cap_basis", "intra_bloc", "products",
             "sectors")
SCREEN_SELECTION = ("baci", "year", "importer", "intra_bloc", "products", "sectors")

#: Batch and sweep axes: ``batch_run``/``sweep_caps`` keyword -> (the scenario key it lists values of, its option;
#: ``{choices}`` in the help = the key's allowed values; the CLI adds the default).
AXES: dict[str, tuple[str, CliOption]] = {
    "importers": ("importer.countries", CliOption("--importers", "EU27,DEU,FRA (groups EU27, G7 are one bloc) / "
                                                  "all-eu (each EU member) / all (every importer with flows in each "
                                                  "year, single countries) / @file, one per line")),
    "years": ("data.year", CliOption("--years", "e.g. 2021-2023 or 2022,2023")),
    "caps_pp": ("cap.pp", CliOption("--caps", "Caps in pp: 0,1,2 or 1-10 or 0-10:0.5")),
    "cap_bases": ("cap.basis", CliOption("--cap-basis", "Comma-separated: {choices}")),
    "risk_sets": ("risk.countries", CliOption("--risk-sets", "Risk sets separated by ';', e.g. "
                                                             "'CHN;CHN,RUS;CHN,USA,RUS'")),
}

#: Keys whose value is a list of tokens (a comma-separated string is split).
LIST_KEYS = frozenset({"importer.countries", "basket.sectors", "risk.countries", "risk.priority",
                       "alternatives.friends", "ban.products"})


def _normalise(key: str, value: Any) -> Any:
    if key in LIST_KEYS:
        return tokens(value)
    if key == "basket.products" and not isinstance(value, str):
        return tokens(value)
    if key in ("data.baci", "basket.file", "cost.elasticities"):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return value


def updates_from_keywords(keywords: Mapping[str, Any]) -> dict[str, Any]:
    """Keywords -> ``{dotted key: value}``; None values are skipped; unknown keywords raise ``ScenarioError``;
    ``products`` naming a basket CSV (``tokens.basket_file``) sets ``basket.file``.

    Sorted by keyword, so the result never depends on argument order.
    """
    unknown = sorted(set(keywords) - set(ALIASES))
    if unknown:
        raise ScenarioError(f"unknown scenario keyword(s) {unknown}", field=unknown[0],
                            fix=f"use one of {', '.join(sorted(ALIASES))}")
    out: dict[str, Any] = {}
    for name in sorted(keywords):
        if keywords[name] is None:
            continue
        key = "basket.file" if name == "products" and basket_file(keywords[name]) else ALIASES[name]
        out[key] = _normalise(key, keywords[name])
    return out


def field_type(model: type, dotted: str) -> Any:
    """The annotation of a scenario key, e.g. ``field_type(Scenario, "cap.pp")`` is ``float`` (CLI option types)."""
    current: Any = model
    for part in dotted.split("."):
        current = current.model_fields[part].annotation
    return current


def literal_choices(model: type, dotted: str) -> tuple[str, ...]:
    """The allowed values of a ``Literal`` field, e.g. ``literal_choices(Scenario, "cap.basis")`` (for click.Choice)."""
    current = field_type(model, dotted)
    if get_origin(current) is not Literal:
        raise TypeError(f"{dotted} is not a Literal field")
    return tuple(get_args(current))
