"""A backtest of the cap rule: the scenario's run on Y0 at each cap, against what the importer's imports did
from Y0 to Y1. A planner on the executors (``calls.calls_as_done``: Y0 and Y1 one task each, on batch's
local pool or Dask): each year is read as ``tradeopt run --year`` reads it (one HS revision); Y0's caps are
one ``kernel.Problem`` per cap basis for ``LP.solve`` (one warm-started HiGHS model where the features
allow it: one backend call per year and basis), Y1 is not solved: its realised imports are the observed
``before`` values of its run's instance (``engine.instance_of``, the same conventions). The comparison
is ``analysis.backtest``. Shares 0..1, values USD.
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


def backtest_year(scen: Scenario, data, year: int, grid: Sequence[tuple[str, float]] | None = None) -> dict:
    """One year of a backtest where it runs. ``grid`` ((cap basis, cap pp), ...): the year's run at each cap,
    warm-started per basis where ``kernel.LP.warm_start`` allows: {"caps": [{cap_pp, cap_basis, share_before,
    share_after, flows}], "facts"}; None: the observed values only, nothing solved: {"share", "flows"}. Both
    with "revision" (year, HS revision, its label, the file read)."""
    from optimize.analysis.backtest import all_shares, pair_flows
    from optimize.config.resolve import resolve
    from optimize.model.engine import instance_of
    from optimize.model.kernel import LP, Problem
    from optimize.runs import pipeline
    from optimize.runs.facts import run_facts

    p = pipeline.prepare_year(scen, year, data)
    out: dict = {"revision": (p.year, p.hs_revision.code, p.hs_revision.label, str(p.trade.source))}
    if grid is None:
        instance = instance_of(resolve(p.scenario), pipeline.year_rows(p))
        return out | {"share": all_shares(instance, instance.x0_kusd)[0],
                      "flows": pair_flows(instance, instance.x0_kusd, p.countries)}
    out["caps"] = []
    for basis in dict.fromkeys(b for b, _ in grid):
        caps = tuple(float(c) for b, c in grid if b == basis)
        cell = pipeline.cell_scenario(p.scenario, cap_pp=caps[0], cap_basis=basis)
        spec = resolve(cell)
        for cap, part in zip(caps, LP.solve(Problem((spec,), caps, pipeline.year_rows(p), warm=True, totals=False)),
                             strict=True):
            ((instance, allocation),) = part.solved
            before, after = all_shares(instance, allocation.x_after_kusd)
            out["caps"].append({"cap_pp": cap, "cap_basis": spec.cap_basis, "share_before": before,
                                "share_after": after,
                                "flows": pair_flows(instance, allocation.x_after_kusd, p.countries)})
            if "facts" not in out:  # the first cap's facts only (setdefault would build them for every cap)
                out["facts"] = run_facts(p, cell, instance, allocation)
    return out


def backtest(scen: Scenario, data, from_year: int, to_year: int, caps: Sequence[float] | None = None,
             bases: Sequence[str] | None = None, workers: int = 1, client=None) -> BacktestResult:
    """Run ``scen`` on ``from_year`` at each of ``caps`` (pp; None: the scenario's cap) and each cap basis of
    ``bases`` (None: the scenario's) and compare with ``to_year`` (``analysis.backtest.fit``); ``best_cap``
    (and ``best_basis``): the cap whose predicted cut is closest to the realised one. The two years run on
    the executors (``workers`` > 1: batch's local pool; ``client``: Dask)."""
    from optimize.analysis.backtest import fit, pair_changes
    from optimize.errors import ScenarioError
    from optimize.runs.calls import calls_as_done
    from optimize.runs.trend import known_years, same_revision

    if int(to_year) <= int(from_year):
        raise ScenarioError(f"--to {to_year} is not after --from {from_year}", field="--to",
                            fix="give a later year to compare with, e.g. --from 2021 --to 2023")
    known_years(scen, data, [int(from_year), int(to_year)], "--from/--to")
    grid = [(b, float(c)) for b in (bases or (scen.cap.basis,)) for c in (caps or (float(scen.cap.pp),))]
    got = {g["revision"][0]: g for g in calls_as_done(backtest_year, scen, data, [(int(from_year), grid),
                                                                                  (int(to_year), None)],
                                                      workers, client, label="backtest")}
    y0, y1 = got[int(from_year)], got[int(to_year)]
    same_revision([y0["revision"], y1["revision"]])
    rows, pairs_at = [], {}
    for c in y0["caps"]:
        pairs = pair_changes(c["flows"], y1["flows"])
        share0 = c["share_before"]
        rows.append({"cap_pp": c["cap_pp"], "cap_basis": c["cap_basis"], **fit(pairs),
                     "predicted_cut": share0 - c["share_after"], "realised_cut": share0 - y1["share"],
                     "share_y0": share0, "share_y1": y1["share"],
                     "predicted_gain_usd": float(pairs["predicted_usd"].sum()),
                     "realised_gain_usd": float(pairs["realised_usd"].clip(lower=0).sum())})
        pairs_at[(c["cap_basis"], c["cap_pp"])] = pairs
    return _result(rows, pairs_at, y0["facts"], scen, int(from_year), int(to_year))


def _result(rows: list[dict], pairs_at: dict, meta, scen: Scenario, from_year: int, to_year: int) -> BacktestResult:
    """The ``BacktestResult`` of the per-cap ``rows`` and pairs, the summary block and the settings."""
    from optimize.analysis.backtest import best_cap

    table = pd.DataFrame(rows)[list(BACKTEST_COLUMNS)]
    best = best_cap(table)
    at = table.set_index(["cap_basis", "cap_pp"]).loc[best] if best is not None else None
    block = {"from_year": from_year, "to_year": to_year, "best_cap": None if best is None else best[1],
             "best_basis": None if best is None else best[0],
             "spearman": None if at is None else float(at["spearman"]),
             "captured_share": None if at is None else float(at["captured_share"]),
             "by_cap": table.to_dict("records"),
             "best_cap_rule": "the cap whose predicted cut of the risk share is closest to the realised cut"}
    settings = {"scenario": scen.name, "importer": meta["importer"], "risk": meta["risk_iso3"],
                "cap_pp": sorted({float(c) for c in table["cap_pp"]}),
                "cap_basis": ",".join(dict.fromkeys(table["cap_basis"].astype(str))),
                "years": [from_year, to_year], "hs_revision": f"{meta['hs_revision']} "
                f"({meta['hs_revision_source']})", "data_source": meta["data_label"]}
    chosen = pairs_at[best] if best is not None else next(iter(pairs_at.values()))
    return BacktestResult(table=table, pairs=chosen, block=block, settings=settings,
                          synthetic=bool(meta.get("synthetic")))
