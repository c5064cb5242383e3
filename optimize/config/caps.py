"""The cap's unit and range, written once: percentage points (pp) within [0, 100], finite.

Every place that takes a cap (the scenario schema, a hand-built ``instance.CapRule``, the
batch and sweep cap lists, the engine's exporter total) asks ``pp_problem``.
"""
from __future__ import annotations

import math

PP_MIN, PP_MAX = 0.0, 100.0
PP_FIX = "give percentage points between 0 and 100"


def pp_problem(value, what: str = "cap") -> str | None:
    """Why ``value`` is no cap in pp (a message naming ``what``), or None when it is one."""
    try:
        pp = float(value)
    except (TypeError, ValueError):
        return f"{what} {value!r} is not a number of percentage points"
    if not math.isfinite(pp) or not PP_MIN <= pp <= PP_MAX:
        return f"{what} of {pp:g} pp is outside [0, 100]"
    return None
