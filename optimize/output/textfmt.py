"""Numbers as the reports write them: money with its unit (USD/EUR, m/bn), shares as percent, plain numbers."""
from __future__ import annotations

import math


def fmt_money(value_usd: float, currency: str = "USD") -> str:
    """'USD 150.0 bn' / 'USD 12.3 m' / 'USD 4,500' (value already in ``currency``)."""
    if value_usd is None or not math.isfinite(value_usd):
        return "n/a"
    a = abs(value_usd)
    if a >= 1e9:
        return f"{currency} {value_usd / 1e9:,.2f} bn"
    if a >= 1e5:
        return f"{currency} {value_usd / 1e6:,.2f} m"
    return f"{currency} {value_usd:,.0f}"


def pct(share) -> str:
    return "n/a" if share is None or not math.isfinite(float(share)) else f"{100 * float(share):.1f}%"


def num(v, digits: int = 3) -> str:
    return "n/a" if v is None or not math.isfinite(float(v)) else f"{float(v):.{digits}f}"


def country_label(name, iso3) -> str:
    """'China (CHN)'; just 'USA' when the country table's name is the code itself (CEPII's 842)."""
    return str(iso3) if str(name) == str(iso3) else f"{name} ({iso3})"
