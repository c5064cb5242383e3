"""Which dependencies persist: the products each screen flags per year, and how the flagged sets move.

``flagged_by_year`` runs the screens of ``analysis.screens`` (EC 2021, CEPII GeoDep on the window ending in
each year, single supplier) on each year's flows; ``persistence`` counts per screen and year the products
flagged, entering (flagged now, not the year before), leaving (flagged the year before, not now) and staying
(both), so that staying + leaving = flagged the year before and staying + entering = flagged now;
``survival`` gives the share of a year's flagged products still flagged 1, 2, ... years later (CEPII's
reading: flagged in both years, whatever happened between).
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

#: Columns of ``screens.csv``.
SCREENS_COLUMNS = ("screen", "year", "flagged", "entering", "leaving", "staying", "survival_1y")
#: Columns of ``screens_survival.csv``.
SURVIVAL_COLUMNS = ("screen", "from_year", "to_year", "years", "flagged_from", "still_flagged", "survival")


def flagged_by_year(flows: pd.DataFrame, importer_codes: Iterable[int], years: Iterable[int],
                    intra_bloc: str = "include") -> dict[str, dict[int, set[str]]]:
    """{screen: {year: flagged HS6 codes}} for the screens ``ec``, ``geodep`` (the 3-year window ending in the
    year, the years present) and ``single`` (one supplier above 50%, ``intra_bloc`` as the run's) on
    ``flows`` (BACI flows, kUSD, every year)."""
    from optimize.analysis import screens

    codes = [int(c) for c in importer_codes]
    present = set(int(y) for y in pd.unique(flows["t"]))
    out: dict[str, dict[int, set[str]]] = {"ec": {}, "geodep": {}, "single": {}}
    for year in sorted(int(y) for y in years):
        window = [y for y in range(year - 2, year + 1) if y in present]
        got = {"ec": screens.ec_screen(flows, codes, year=year),
               "geodep": screens.geodep_screen(flows, codes, years=window),
               "single": screens.single_country_screen(flows, codes, year=year, intra_bloc=intra_bloc)}
        for name, table in got.items():
            out[name][year] = set(table.loc[table["flagged"].astype(bool), "k"].astype(str))
    return out


def persistence(flagged: dict[str, dict[int, set[str]]]) -> pd.DataFrame:
    """``SCREENS_COLUMNS`` per screen and year; the first year has no entering/leaving/staying (empty), and
    ``survival_1y`` = staying / flagged the year before (empty when none were)."""
    rows = []
    for screen, by_year in flagged.items():
        years = sorted(by_year)
        for i, year in enumerate(years):
            now = by_year[year]
            row = {"screen": screen, "year": year, "flagged": len(now), "entering": pd.NA, "leaving": pd.NA,
                   "staying": pd.NA, "survival_1y": np.nan}
            if i:
                before = by_year[years[i - 1]]
                row.update(entering=len(now - before), leaving=len(before - now), staying=len(now & before),
                           survival_1y=len(now & before) / len(before) if before else np.nan)
            rows.append(row)
    table = pd.DataFrame(rows, columns=list(SCREENS_COLUMNS))
    return table.astype({c: "Int64" for c in ("year", "flagged", "entering", "leaving", "staying")})


def survival(flagged: dict[str, dict[int, set[str]]]) -> pd.DataFrame:
    """``SURVIVAL_COLUMNS``: for each screen and pair of years (from < to), the products flagged in ``from``
    still flagged in ``to`` and their share (empty when none were flagged)."""
    rows = []
    for screen, by_year in flagged.items():
        years = sorted(by_year)
        for a in years:
            for b in (y for y in years if y > a):
                base, kept = by_year[a], by_year[a] & by_year[b]
                rows.append({"screen": screen, "from_year": a, "to_year": b, "years": b - a,
                             "flagged_from": len(base), "still_flagged": len(kept),
                             "survival": len(kept) / len(base) if base else np.nan})
    return pd.DataFrame(rows, columns=list(SURVIVAL_COLUMNS))
