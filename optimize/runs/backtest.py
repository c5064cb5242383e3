"""A backtest of the cap rule: the scenario's run on Y0 at each cap, against what the importer's imports did
from Y0 to Y1. A planner: Y0 and Y1 are read as ``tradeopt run --year`` reads them (``trend.prepare_years``:
one HS revision), each cap is one ``pipeline.solve_cell`` on Y0, the realised imports are Y1's run's
``before`` values (the same conventions); the comparison is ``analysis.backtest``. Shares 0..1, values USD.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from optimize.config.scenario import Scenario

#: Columns of ``backtest.csv`` (one row per cap).
BACKTEST_COLUMNS = ("cap_pp", "cap_basis", "spearman", "captured_share", "predicted_cut", "realised_cut",
                    "share_y0", "share_y1", "predicted_gain_usd", "realised_gain_usd", "n_pairs")


@dataclass
class BacktestResult:
    """``table`` (``BACKTEST_COLUMNS``), ``pairs`` (the per-pair comparison at the best cap), the summary.json
    ``backtest`` block and the settings."""

    table: pd.DataFrame
    pairs: pd.DataFrame
    block: dict
    settings: dict
    synthetic: bool = False


def _all_row(result) -> pd.Series:
    ex = result.tables.exposure
    return ex.loc[ex["iso3"].astype(str) == "ALL"].iloc[0]


def backtest(scen: Scenario, data, from_year: int, to_year: int, caps: Sequence[float] | None = None,
             bases: Sequence[str] | None = None) -> BacktestResult:
    """Run ``scen`` on ``from_year`` at each of ``caps`` (pp; None: the scenario's cap) and each cap basis of
    ``bases`` (None: the scenario's) and compare with ``to_year`` (``analysis.backtest.fit``); ``best_cap``
    (and ``best_basis``): the cap whose predicted cut is closest to the realised one."""
    from optimize.analysis.backtest import best_cap, fit, pair_changes
    from optimize.errors import ScenarioError
    from optimize.runs import pipeline
    from optimize.runs.trend import known_years, prepare_years

    if int(to_year) <= int(from_year):
        raise ScenarioError(f"--to {to_year} is not after --from {from_year}", field="--to",
                            fix="give a later year to compare with, e.g. --from 2021 --to 2023")
    p0, p1 = prepare_years(scen, data, known_years(scen, data, [int(from_year), int(to_year)], "--from/--to"))
    r1 = pipeline.solve_cell(p1)
    share1 = float(_all_row(r1)["share_before"])
    rows, pairs_at = [], {}
    grid = [(b, float(c)) for b in (bases or (scen.cap.basis,)) for c in (caps or (float(scen.cap.pp),))]
    for basis, cap in grid:
        r0 = pipeline.solve_cell(p0, cap_pp=cap, cap_basis=basis)
        pairs = pair_changes(r0.tables.flows, r1.tables.flows)
        got, row0 = fit(pairs), _all_row(r0)
        rows.append({"cap_pp": float(cap), "cap_basis": r0.meta["cap_basis"], **got,
                     "predicted_cut": float(row0["share_before"] - row0["share_after"]),
                     "realised_cut": float(row0["share_before"]) - share1, "share_y0": float(row0["share_before"]),
                     "share_y1": share1, "predicted_gain_usd": float(pairs["predicted_usd"].sum()),
                     "realised_gain_usd": float(pairs["realised_usd"].clip(lower=0).sum())})
        pairs_at[(basis, cap)] = pairs
        meta = r0.meta
    table = pd.DataFrame(rows)[list(BACKTEST_COLUMNS)]
    best = best_cap(table)
    at = table.set_index(["cap_basis", "cap_pp"]).loc[best] if best is not None else None
    block = {"from_year": int(from_year), "to_year": int(to_year), "best_cap": None if best is None else best[1],
             "best_basis": None if best is None else best[0],
             "spearman": None if at is None else float(at["spearman"]),
             "captured_share": None if at is None else float(at["captured_share"]),
             "by_cap": table.to_dict("records"),
             "best_cap_rule": "the cap whose predicted cut of the risk share is closest to the realised cut"}
    settings = {"scenario": scen.name, "importer": meta["importer"], "risk": meta["risk_iso3"],
                "cap_pp": sorted({float(c) for c in table["cap_pp"]}),
                "cap_basis": ",".join(dict.fromkeys(table["cap_basis"].astype(str))),
                "years": [int(from_year), int(to_year)], "hs_revision": f"{meta['hs_revision']} "
                f"({meta['hs_revision_source']})", "data_source": meta["data_label"]}
    chosen = pairs_at[best] if best is not None else next(iter(pairs_at.values()))
    return BacktestResult(table=table, pairs=chosen, block=block, settings=settings,
                          synthetic=bool(meta.get("synthetic")))
