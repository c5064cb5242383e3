"""One alias table: API keywords, CLI options and batch/sweep axes -> dotted scenario keys.

``updates_from_keywords(importer="NLD", cap_pp=3)`` gives ``{"importer.countries":
["NLD"], "importer.label": "", "cap.pp": 3.0}``, ready for ``Scenario.update``.
Values are normalised once here (country and product lists to lists of tokens);
everything else is validated by the scenario schema.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args, get_origin

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
    "eur_per_usd": "report.eur_per_usd",
    "top_n": "report.top_n",
    "exclude_bloc_members": "report.exclude_bloc_members",
    "figures": "report.figures",
    "xlsx": "report.xlsx",
}

#: Keys whose value is a list of tokens (a comma-separated string is split).
LIST_KEYS = frozenset({"importer.countries", "basket.sectors", "risk.countries", "risk.priority",
                       "alternatives.friends", "ban.products"})


def tokens(value: Any) -> list[str]:
    """``"CHN, USA"`` / ``"CHN"`` / ``156`` / ``["CHN", 842]`` -> ``["CHN", "USA"]`` (str tokens, blanks dropped)."""
    if value is None:
        return []
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    out: list[str] = []
    for v in value:
        out += [t.strip() for t in str(v).split(",") if t.strip()]
    return out


def _normalise(key: str, value: Any) -> Any:
    if key in LIST_KEYS:
        return tokens(value)
    if key == "basket.products" and not isinstance(value, str):
        return tokens(value)
    if key in ("data.baci", "basket.file"):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return value


def updates_from_keywords(keywords: Mapping[str, Any]) -> dict[str, Any]:
    """Keywords -> ``{dotted key: value}``; None values are skipped; unknown keywords raise ``TypeError``.

    Sorted by keyword, so the result never depends on argument order.
    """
    unknown = sorted(set(keywords) - set(ALIASES))
    if unknown:
        raise TypeError(f"unknown scenario keyword(s) {unknown}; known: {', '.join(sorted(ALIASES))}")
    out: dict[str, Any] = {}
    for name in sorted(keywords):
        if keywords[name] is None:
            continue
        key = ALIASES[name]
        out[key] = _normalise(key, keywords[name])
    return out


def literal_choices(model: type, dotted: str) -> tuple[str, ...]:
    """The allowed values of a ``Literal`` field, e.g. ``literal_choices(Scenario, "cap.basis")`` (for click.Choice)."""
    current: Any = model
    for part in dotted.split("."):
        current = current.model_fields[part].annotation
    if get_origin(current) is not Literal:
        raise TypeError(f"{dotted} is not a Literal field")
    return tuple(get_args(current))
