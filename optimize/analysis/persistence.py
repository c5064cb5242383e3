"""Which dependencies persist: the products each screen flags per year, and how the flagged sets move.

``year_flags`` runs the screens of ``analysis.screens`` (EC 2021, CEPII GeoDep's yearly criteria, single
supplier) on one year's flows and ``flagged_from_years`` puts the years together (GeoDep on the window ending
in each year); ``persistence`` counts per screen and year the products
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


#: GeoDep's persistence rule as ``screens.geodep_screen`` applies it: the criteria together in 2 of 3 years.
GEODEP_MIN_YEARS, GEODEP_WINDOW = 2, 3
#: The keys of ``year_flags`` (what one year's flows flag, before ``flagged_from_years``' window rule).
YEAR_SCREENS = ("ec", "single", "geodep_year")


def year_flags(flows: pd.DataFrame, importer_codes: Iterable[int], year: int,
               intra_bloc: str = "include") -> dict[str, set[str]]:
    """The products flagged on one year's ``flows`` (BACI, kUSD) alone: ``ec``, ``single`` (one supplier above
    50%, ``intra_bloc`` as the run's) and ``geodep_year`` (GeoDep's three criteria hold together that year;
    ``flagged_from_years`` applies its window rule). Runs where the year was read (a worker)."""
    from optimize.analysis import screens

    codes = [int(c) for c in importer_codes]
    flows = flows.assign(k=flows["k"].astype("category"))  # factorised once for the screens' group-bys
    got = {"ec": screens.ec_screen(flows, codes, year=year),
           "single": screens.single_country_screen(flows, codes, year=year, intra_bloc=intra_bloc)}
    out = {name: set(table.loc[table["flagged"].astype(bool), "k"].astype(str)) for name, table in got.items()}
    yearly = screens.geodep_criteria(screens.geodep_yearly(flows.loc[flows["t"] == year], codes))
    out["geodep_year"] = set(yearly.loc[yearly["c_all"], "k"].astype(str))
    return out


def flagged_from_years(per_year: dict[int, dict[str, set[str]]]) -> dict[str, dict[int, set[str]]]:
    """{screen: {year: flagged HS6 codes}} for ``ec``, ``geodep`` and ``single`` from ``year_flags`` of each
    year: GeoDep flags a product in a year when its criteria hold in at least ``min(GEODEP_MIN_YEARS, n)`` of
    the n years given of the ``GEODEP_WINDOW`` years ending there (``screens.geodep_screen``'s rule)."""
    from collections import Counter

    out: dict[str, dict[int, set[str]]] = {"ec": {}, "geodep": {}, "single": {}}
    for year in sorted(per_year):
        window = [y for y in range(year - GEODEP_WINDOW + 1, year + 1) if y in per_year]
        need = min(GEODEP_MIN_YEARS, len(window))
        counts = Counter(k for y in window for k in per_year[y]["geodep_year"])
        out["ec"][year], out["single"][year] = per_year[year]["ec"], per_year[year]["single"]
        out["geodep"][year] = {k for k, n in counts.items() if n >= need}
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
