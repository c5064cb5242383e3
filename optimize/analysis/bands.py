"""Low / central / high bands on a run's headlines (docs/cost.md "Bands").

The central figures are the run's own. The band spans the run re-solved at each cap of
``bands.caps`` (pp; default 2.5, 5, 10) and, for the cost, each run's sigma band and
new-supplier prior (``cost_low_usd`` / ``cost_high_usd``, ``optimize.analysis.armington``).
Low and high are the smallest and largest value over these variants, so they bracket the
central figure. Values in USD, shares 0..1, HHI 0..1.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

COLUMNS = ["measure", "risk", "low", "central", "high"]
MEASURES = ("exposure_after", "shifted_usd", "hhi_after", "cost_usd")


def headline(tables) -> dict:
    """The headline figures of one run's tables: {measure: {risk: value}} (risk "" for basket totals)."""
    exp = tables.exposure
    cost = getattr(tables, "cost", None) or {}
    return {
        "exposure_after": dict(zip(exp["iso3"].astype(str), exp["share_after"].astype(float), strict=True)),
        "shifted_usd": {"": float(tables.summary["shifted_usd"])},
        "hhi_after": {"": float(tables.summary["hhi_after"])},
        "cost_usd": {"": _num(cost.get("total_usd"))},
        "cost_low_usd": _num(cost.get("low_usd")),
        "cost_high_usd": _num(cost.get("high_usd"), np.inf),
    }


def solved_headline(instance, x_after_kusd, countries: pd.DataFrame, sigmas: pd.DataFrame, lam: float) -> dict:
    """``headline`` of one solved cell (flows after, kUSD, pair order) without its result tables: exposure,
    shifted value and HHI by ``exposure.cell_metrics`` of ``kernel.totals_of`` and the CES cost by
    ``batchcost.priced`` (the numbers ``metrics.compute_tables`` and ``armington.attach`` report).
    ``sigmas``: per product of the instance; ``countries``: the run's country table (ISO3 labels)."""
    from dataclasses import replace

    from optimize.analysis.batchcost import priced
    from optimize.analysis.exposure import cell_metrics
    from optimize.analysis.metrics import ALL_RISK, country_labels
    from optimize.model.kernel import totals_of
    from optimize.model.pairflows import PairArrays

    t = replace(totals_of(instance, x_after_kusd), pairs=PairArrays.of(instance, x_after_kusd))
    m = cell_metrics(priced([t], sigmas.reset_index(drop=True), lam))
    iso3, _ = country_labels(m.risk_codes, countries)
    labels = [*(str(s) for s in iso3), ALL_RISK]
    cost = m.cost_usd[0]
    return {
        "exposure_after": dict(zip(labels, m.share_after[0].astype(float).tolist(), strict=True)),
        "shifted_usd": {"": float(m.shifted_usd[0])}, "hhi_after": {"": float(m.hhi_after[0])},
        "cost_usd": {"": float(cost[0])}, "cost_low_usd": float(cost[1]), "cost_high_usd": float(cost[2]),
    }


def _num(v, missing: float = np.nan) -> float:
    return missing if v is None else float(v)


def band_table(central: dict, variants: Sequence[dict]) -> pd.DataFrame:
    """DataFrame[measure, risk, low, central, high] from ``headline`` dicts of the run and its variants;
    the cost's low / high also take every run's own cost_low_usd / cost_high_usd (inf: no finite bound)."""
    runs = [central, *variants]
    rows = []
    for measure in MEASURES:
        for risk, mid in central[measure].items():
            vals = np.array([r[measure].get(risk, np.nan) for r in runs], dtype=float)
            if measure == "cost_usd":
                vals = np.r_[vals, [r["cost_low_usd"] for r in runs], [r["cost_high_usd"] for r in runs]]
            ok = vals[~np.isnan(vals)]
            lo, hi = (float(ok.min()), float(ok.max())) if ok.size else (np.nan, np.nan)
            rows.append({"measure": measure, "risk": risk, "low": lo, "central": mid, "high": hi})
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["high"] = out["high"].where(np.isfinite(out["high"]))  # empty: no finite upper bound
    return out


def band_block(table: pd.DataFrame, caps_pp: Sequence[float], lambdas: Sequence[float]) -> dict:
    """The summary.json ``bands`` block: ``exposure_after`` {risk: {low, central, high}} and ``cost_usd``,
    ``shifted_usd``, ``hhi_after`` {low, central, high}, with what was varied (high None: no finite bound)."""

    def trio(r) -> dict:
        return {k: (None if not np.isfinite(r[k]) else float(r[k])) for k in ("low", "central", "high")}

    out: dict = {"exposure_after": {}}
    for r in table.to_dict("records"):
        if r["measure"] == "exposure_after":
            out["exposure_after"][r["risk"]] = trio(r)
        else:
            out[r["measure"]] = trio(r)
    out["varied"] = {"caps_pp": [float(c) for c in caps_pp], "prior_lambda": [float(x) for x in lambdas],
                     "sigma": "each product's band (sigma_low, sigma_high)"}
    return out
