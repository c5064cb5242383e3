"""Numbers as the reports write them: money with its unit (USD/EUR, m/bn), shares as percent, plain numbers;
and the one markdown table writer of every summary.md (``md_table``)."""
from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

#: Rows shown per long table in summary.md.
MD_ROWS = 20


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


def md_table(df: pd.DataFrame | None, columns: dict[str, tuple[str, Callable]], limit: int | None = MD_ROWS) -> str:
    """Markdown table: ``columns`` maps source column -> (header, formatter); at most ``limit`` rows (None: all)."""
    if df is None or df.empty:
        return "_none_\n"
    shown = df if limit is None else df.head(limit)
    cells = {src: [str(fn(v)).replace("|", "\\|") for v in shown[src].tolist()] for src, (_, fn) in columns.items()}
    headers = [h for h, _ in columns.values()]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in zip(*cells.values(), strict=False)]
    if limit is not None and len(df) > limit:
        lines.append(f"\n_... and {len(df) - limit} more rows (see the CSV)._")
    return "\n".join(lines) + "\n"


def formatted(spec: str) -> Callable:
    """A formatter of ``format(value, spec)``; missing and non-finite values are 'n/a'."""
    def fmt(value) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
            return "n/a"
        return format(value, spec)
    return fmt
