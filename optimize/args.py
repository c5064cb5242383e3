"""Argument checks of the public entry points, one rule per argument name, shared by the API and the CLI.

``checked(RULES)`` wraps a function: a missing or unknown argument, or a value of the wrong type or
below its minimum, raises ``InputError`` naming the argument (never a bare ``TypeError`` from deep
inside). The CLI calls the same functions, so both refuse the same values with the same message.
None is accepted only where the argument's default is None. Range checks that have a home of their
own (caps in ``runs.grid.check_caps``, scenario keys in the scenario schema) stay there.
"""
from __future__ import annotations

import functools
import inspect
import numbers
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from optimize.errors import InputError


def is_int(v: Any) -> bool:
    """An integer (Python or numpy), not a bool."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    """A real number (Python or numpy), not a bool."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def is_text(v: Any) -> bool:
    return isinstance(v, str)


def is_path(v: Any) -> bool:
    """A non-empty path: text or ``os.PathLike``."""
    return isinstance(v, os.PathLike) or (isinstance(v, str) and v.strip() != "")


def is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def is_country(v: Any) -> bool:
    """An ISO3 code, group name or BACI code (not blank)."""
    return (is_text(v) and v.strip() != "") or is_int(v)


def file_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be read as an input file ("not found", "is not a regular file ..."), or None."""
    p = os.fspath(path)
    if not os.path.exists(p):
        return "not found"
    if not os.path.isfile(p):  # a FIFO would block, a device or socket read garbage, a folder is no file
        return "is not a regular file (a folder, pipe, socket or device?)"
    return None


class Rule(NamedTuple):
    """What one argument may be: a single value (``one``), a list of values (``each`` item), a minimum."""

    one: Callable[[Any], bool] | None
    each: Callable[[Any], bool] | None
    text: str  # what it must be, for the message
    minimum: float | None = None


PATH = Rule(is_path, None, "a path (str or os.PathLike)")
FLAG = Rule(is_bool, None, "True or False")
TEXT = Rule(is_text, None, "a str")
COUNT = Rule(is_int, None, "an integer >= 1", minimum=1)
COUNTRIES = Rule(is_country, is_country, "an ISO3 code, group or BACI code, or a list of them")
YEARS = Rule(lambda v: is_text(v) or is_int(v), is_int, "a year, a list of years or text such as '2021-2023'")
NUMBERS = Rule(lambda v: is_text(v) or is_number(v), is_number, "a number, a list of numbers or text such as '0-10'")
TEXTS = Rule(is_text, is_text, "a str or a list of str")
RISK_SETS = Rule(is_text, lambda v: is_text(v) or (_listlike(v) and all(map(is_text, v))),
                 "text such as 'CHN;CHN,RUS' or a list of lists of ISO3 codes")

#: Rules by argument name (the same name means the same thing in every public function).
RULES: dict[str, Rule] = {
    "out_dir": PATH, "save_lp": PATH, "path": PATH, "out": PATH, "cache_dir": PATH, "path_stem": PATH,
    "overwrite": FLAG, "quiet": FLAG, "joint": FLAG, "full_outputs": FLAG, "figures": FLAG, "per_cell": FLAG,
    "cache": FLAG, "xlsx": FLAG, "plot": FLAG, "warm": FLAG, "single_year": FLAG, "synthetic": FLAG,
    "kind": TEXT, "comtrade": TEXT, "country_codes": TEXT, "value_unit": TEXT, "to": TEXT, "hs": TEXT, "release": TEXT,
    "workers": COUNT, "top": COUNT, "points": Rule(is_int, None, "an integer >= 2", minimum=2),
    "year": Rule(is_int, None, "a year (integer)"),
    "importers": COUNTRIES, "exporters": COUNTRIES, "importer": COUNTRIES,
    "supplier": Rule(is_country, None, "one country"),
    "years": YEARS, "caps_pp": NUMBERS, "products": TEXTS, "sectors": TEXTS, "cap_bases": TEXTS,
    "overrides": Rule(None, is_text, "a list of str"),
    "risk_sets": RISK_SETS,
    "eur_per_usd": Rule(lambda v: is_number(v) and 0 <= v < float("inf"), None,
                        "a finite number >= 0 (EUR per USD; 0 = none)"),
    "extra_text": Rule(lambda v: isinstance(v, Mapping) and all(is_text(k) and is_text(t) for k, t in v.items()), None,
                       "a dict of file name -> text"),
}


def _listlike(v: Any) -> bool:
    return isinstance(v, Iterable) and not isinstance(v, (str, bytes, Mapping))


def _shown(v: Any) -> str:
    text = repr(v)
    return f"{type(v).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def check(name: str, value: Any, rule: Rule, *, none_ok: bool) -> Any:
    """``value`` when it follows ``rule`` (an iterator is read into a list, which is returned), else ``InputError``."""
    if value is None and none_ok:
        return value
    if rule.one is not None and rule.one(value):
        items = [value]
    elif rule.each is not None and _listlike(value):
        value = list(value) if isinstance(value, Iterator) else value
        items = list(value)
        if not all(rule.each(v) for v in items):
            bad = next(v for v in items if not rule.each(v))
            raise InputError(f"{name} must be {rule.text}; it holds {_shown(bad)}", field=name,
                             fix=f"give {name} as {rule.text}")
    else:
        raise InputError(f"{name} must be {rule.text}, got {_shown(value)}", field=name,
                         fix=f"give {name} as {rule.text}")
    if rule.minimum is not None and any(v < rule.minimum for v in items):
        raise InputError(f"{name} must be {rule.text}, got {value!r}", field=name,
                         fix=f"give {name} >= {rule.minimum:g}")
    return value


def seconds(value: Any, name: str, default: float, maximum: float) -> float:
    """``value`` in seconds, within (0, ``maximum``] (None -> ``default``); else ``InputError`` naming ``name``
    (NaN, infinity, 0, negatives and text included)."""
    if value is None:
        return float(default)
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = -1.0
    if not 0 < out <= maximum:  # also refuses NaN
        raise InputError(f"{name} {value!r} is not a number of seconds in (0, {maximum:g}]", field=name,
                         fix=f"give {name} in seconds, e.g. {default:g}")
    return out


def checked(rules: Mapping[str, Rule] = RULES) -> Callable:
    """Decorator: bind the call to the signature and ``check`` every given argument that has a rule."""
    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError as exc:
                raise InputError(f"{fn.__name__}(): {exc}", field=fn.__name__,
                                 fix=f"see help({fn.__module__}.{fn.__qualname__})") from None
            for name, value in bound.arguments.items():
                rule = rules.get(name)
                if rule is not None and sig.parameters[name].kind is not inspect.Parameter.VAR_KEYWORD:
                    bound.arguments[name] = check(name, value, rule, none_ok=sig.parameters[name].default is None)
            return fn(*bound.args, **bound.kwargs)
        return wrapper
    return decorate
