"""User lists as text: the one comma-list (token) parser and the one number/range parser.

``split_tokens("CHN, USA")`` -> ``["CHN", "USA"]`` for every list a user writes (CLI
options, ``--set`` values, API keywords, scenario fields); ``number_list("0-10:2.5")``
for caps and years; ``basket_file(products)`` tells a basket CSV from a product selection.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from optimize.errors import ScenarioError

#: Most values one range token may expand to (``0-100:0.0001`` is 1,000,001): refused before expanding.
MAX_RANGE_VALUES = 1_000_000
_RANGE = re.compile(r"(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?")


def split_tokens(value: Any, sep: str = ",") -> list[str]:
    """``"CHN, USA"`` / ``"CHN"`` / ``156`` / ``["CHN", "USA,RUS"]`` / None -> stripped tokens
    (empty ones dropped), in order."""
    if value is None:
        return []
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        value = [value]
    out: list[str] = []
    for v in value:
        out += [t.strip() for t in str(v).split(sep) if t.strip()]
    return out


def _expand(tok: str, cast: Callable, field: str) -> list:
    """One token: a number, ``lo-hi`` (step 1) or ``lo-hi:step``, inclusive. Raises ValueError
    (``ScenarioError`` naming ``field`` for a range of more than ``MAX_RANGE_VALUES`` values)."""
    m = _RANGE.fullmatch(tok)
    if not m:
        return [cast(float(tok))]
    lo, hi, step = float(m.group(1)), float(m.group(2)), float(m.group(3) or 1)
    if step <= 0 or hi < lo:
        raise ValueError(tok)
    n = int(round((hi - lo) / step))
    if n >= MAX_RANGE_VALUES:
        raise ScenarioError(f"range {tok!r} has {n + 1:,} values; a range may have at most {MAX_RANGE_VALUES:,}",
                            field=field, fix="use a coarser step")
    return [cast(round(lo + i * step, 9)) for i in range(n + 1) if lo + i * step <= hi + 1e-9]


def number_list(text: Any, what: str, cast: Callable = float, *, field: str | None = None,
                example: str = "0,1,2 or 1-10 or 0-10:0.5") -> list:
    """``"0,1,2"``, ``"1-10"`` (step 1) or ``"0-10:2.5"`` (start-stop:step), inclusive -> sorted
    unique numbers. ``ScenarioError`` (``field``, default ``what``) on anything else or nothing."""
    out: list = []
    for tok in split_tokens(text):
        try:
            out += _expand(tok, cast, field or what)
        except ValueError:
            raise ScenarioError(f"{what} {tok!r} is not a number or range", field=field or what,
                                fix=f"write e.g. {example}") from None
    if not out:
        raise ScenarioError(f"no {what} given", field=field or what, fix=f"write e.g. {example}")
    return sorted(set(out))


def parse_years(text: Any, *, field: str = "--years") -> tuple[int, ...]:
    """``"2021-2023"`` or ``"2021,2023"`` -> sorted unique years (errors name ``field``, the CLI option)."""
    return tuple(int(y) for y in number_list(text, "years", cast=lambda v: int(round(v)), field=field,
                                             example="2021-2023 or 2021,2023"))


def given_years(years: str | int | Iterable[int] | None) -> list[int] | None:
    """The years of an API ``years`` argument (text ``"2021-2023"``, one year or a list), sorted; None when
    none is given (None, "" or an empty list)."""
    import numbers

    if years is None or years == "":
        return None
    return sorted(set(parse_years(years) if isinstance(years, (str, numbers.Integral)) else map(int, years))) or None


def named_file(products: Any) -> Path | None:
    """The existing file a product selection names (a str or Path), else None (typed-in tokens)."""
    if isinstance(products, (str, Path)) and str(products) and Path(products).is_file():
        return Path(products)
    return None


def basket_file(products: Any) -> Path | None:
    """The basket CSV a product selection names, else None: the one test of whether ``products`` (an API
    keyword, ``--products``, a screen's selection) is a basket file or a selection. A basket file is an
    existing file whose header names a ``sector`` column (``k,sector,...``); codes, chapters, ranges, 'all'
    and a file of codes (one per line, or a CSV with ``k`` only) are a selection (``basket.select_codes``)."""
    path = named_file(products)
    if path is None:
        return None
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as fh:
            header = fh.readline()
    except OSError:
        return path  # unreadable: the basket reader names it
    return path if "sector" in {c.strip().strip('"').lower() for c in header.split(",")} else None
