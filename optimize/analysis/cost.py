"""Cost of shifting by the unit-value price gap (``cost.method = "unit-value"``; the CES cost
is ``optimize.analysis.armington``). Method and limits: docs/model.md "Cost of shifting".

Each supplier's price of a product is its *world* export unit value (world value / world
tonnes, i.e. the quantity-weighted mean over all its destinations; kUSD per tonne), never the
unit value of one bilateral flow (a 1.6 kUSD flow at 3,229 USD/t once priced Kuwait's crude).
Per product, with dV_r = x0_r - x_r (value cut from risk supplier r) and dX_a = x_a - x0_a
(value added by alternative a), all kUSD:

    tonnes shifted    Q_k   = sum_r dV_r / uv_r
    risk unit value   ur_k  = sum_r dV_r / Q_k       (value-weighted harmonic mean)
    alt. unit value   ua_k  = sum_a dX_a uv_a / sum_a dX_a
    price ratio       rho_k = ua_k / ur_k
    extra cost        C_k   = D_k (rho_k - 1) / max(rho_k, 1),  D_k = sum_r dV_r

Consistent with the value caps: when the alternatives are dearer (rho > 1) the importer can
spend only D_k with them (their gain is capped in value), so C_k is the premium paid on the
volume it gets, D_k (1 - 1/rho_k); when they are cheaper it buys the lost volume for
D_k rho_k. Hence |C_k| <= D_k: never above the value shifted.

Unit values mix price, quality and product mix inside one HS6 code, so a product whose
ratio lies outside [1/OUTLIER_RATIO, OUTLIER_RATIO] is an *outlier*: reported, counted,
and kept out of the low/central/high figures. Pairs without a usable unit value are
left out of ur_k / ua_k; ``coverage`` is the share of shifted value (risk cuts plus
alternative additions) whose pairs have one. Unit values are trimmed (winsorised) per
product across the instance's exporters: raw, 5-95th and 25-75th percentiles give the
range (central = 5-95). Without any usable quantity there is no estimate (None, never 0).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from optimize.model.instance import Instance
from optimize.units import USD_PER_KUSD

#: name -> (lower, upper) percentile of exporters' unit values per product; None = raw
TREATMENTS: dict[str, tuple[float, float] | None] = {"raw": None, "w05_95": (0.05, 0.95), "w25_75": (0.25, 0.75)}
CENTRAL = "w05_95"
#: A product's price ratio (alternatives / risk suppliers) beyond this factor either way is an outlier.
OUTLIER_RATIO = 3.0


def unit_values_kusd_per_t(instance: Instance) -> np.ndarray:
    """(N,) world unit value of each pair's exporter for the product, kUSD per tonne (NaN when unusable)."""
    v = np.asarray(instance.world_exports_kusd, dtype=float)
    q = np.asarray(instance.world_tonnes, dtype=float)
    ok = np.isfinite(v) & np.isfinite(q) & (v > 0) & (q > 0)
    return np.where(ok, v / np.where(ok, q, 1.0), np.nan)


def winsorise(pair_product: np.ndarray, uv: np.ndarray, lower_q: float, upper_q: float) -> np.ndarray:
    """Clip each product's unit values to its [lower_q, upper_q] quantiles across exporters (NaN kept)."""
    s = pd.Series(uv)
    g = s.groupby(np.asarray(pair_product))
    lo = g.quantile(lower_q)
    hi = g.quantile(upper_q)
    p = np.asarray(pair_product)
    lo_v = lo.reindex(p).to_numpy(dtype=float)
    hi_v = hi.reindex(p).to_numpy(dtype=float)
    return np.where(np.isnan(uv), np.nan, np.clip(uv, lo_v, hi_v))


def _product_cost(instance: Instance, x_after: np.ndarray, uv: np.ndarray) -> pd.DataFrame:
    p = instance.pair_product
    n_p = instance.n_products
    x0 = np.asarray(instance.x0_kusd, dtype=float)
    risk = np.asarray(instance.is_risk, dtype=bool)
    dv = np.where(risk, np.maximum(x0 - x_after, 0.0), 0.0)
    dx = np.where(~risk, np.maximum(x_after - x0, 0.0), 0.0)
    ok = np.isfinite(uv)
    safe = np.where(ok, uv, 1.0)
    shifted = np.bincount(p, weights=dv, minlength=n_p)
    added = np.bincount(p, weights=dx, minlength=n_p)
    dv_ok = np.bincount(p, weights=np.where(ok, dv, 0.0), minlength=n_p)
    dx_ok = np.bincount(p, weights=np.where(ok, dx, 0.0), minlength=n_p)
    tonnes_ok = np.bincount(p, weights=np.where(ok, dv / safe, 0.0), minlength=n_p)
    alt_val = np.bincount(p, weights=np.where(ok, dx * safe, 0.0), minlength=n_p)
    with np.errstate(divide="ignore", invalid="ignore"):
        ur = np.where(tonnes_ok > 0, dv_ok / tonnes_ok, np.nan)
        ua = np.where(dx_ok > 0, alt_val / dx_ok, np.nan)
        ratio = ua / ur
        extra = shifted * (ratio - 1.0) / np.maximum(ratio, 1.0)
        cov = np.where(shifted + added > 0, (dv_ok + dx_ok) / (shifted + added), np.nan)
    extra = np.where(shifted > 0, extra, 0.0)
    return pd.DataFrame({
        "k": np.asarray(instance.products),
        "shifted_usd": shifted * USD_PER_KUSD,
        "tonnes_shifted": np.where(dv_ok > 0, shifted / ur, np.nan),
        "uv_risk_usd_per_t": ur * USD_PER_KUSD,
        "uv_alt_usd_per_t": ua * USD_PER_KUSD,
        "price_ratio": np.where(shifted > 0, ratio, np.nan),
        "extra_cost_usd": extra * USD_PER_KUSD,
        "coverage": cov,
    })


def shift_cost(instance: Instance, allocation) -> tuple[pd.DataFrame, dict]:
    """Extra cost of buying the shifted volume from the alternatives (USD).

    Returns a per-product DataFrame (k, shifted_usd, tonnes_shifted, uv_risk_usd_per_t,
    uv_alt_usd_per_t, price_ratio, extra_cost_usd [central treatment],
    extra_cost_usd_<treatment>, coverage, outlier, estimate) and a summary dict:
    shifted_usd, coverage, covered_shifted_usd, extra_cost_usd {low, central, high}
    over covered non-outlier products (all None = "no estimate"), the same per
    treatment, extra_cost_share, n_products_without_estimate, n_outliers,
    outlier_shifted_usd, extra_cost_usd_with_outliers, outlier_ratio, method.
    ``estimate`` per product: "central", "outlier", "no quantities" or "nothing shifted".
    """
    x_after = np.asarray(allocation.x_after_kusd, dtype=float)
    raw = unit_values_kusd_per_t(instance)
    tables = {}
    for name, q in TREATMENTS.items():
        uv = raw if q is None else winsorise(instance.pair_product, raw, *q)
        tables[name] = _product_cost(instance, x_after, uv)
    out = tables[CENTRAL].copy()
    for name, t in tables.items():
        out[f"extra_cost_usd_{name}"] = t["extra_cost_usd"].to_numpy()
    shifted = out["shifted_usd"].to_numpy()
    ratio = out["price_ratio"].to_numpy()
    has = (shifted > 0) & np.isfinite(out["extra_cost_usd"].to_numpy())
    outlier = has & ((ratio > OUTLIER_RATIO) | (ratio < 1.0 / OUTLIER_RATIO))
    used = has & ~outlier
    out["outlier"] = outlier
    out["estimate"] = np.select([shifted <= 0, ~has, outlier], ["nothing shifted", "no quantities", "outlier"],
                                "central")
    totals = {name: float(t["extra_cost_usd"].to_numpy()[used].sum()) for name, t in tables.items()}
    touched = (shifted > 0) | (out["coverage"].notna())
    cov_num = float(np.nansum(out["coverage"].to_numpy() * np.where(touched, shifted, 0.0)))
    shifted_total = float(shifted.sum())
    covered_value = float(shifted[used].sum())
    estimate = bool(used.any())
    summary = {
        "shifted_usd": shifted_total,
        "coverage": cov_num / shifted_total if shifted_total > 0 else float("nan"),
        "covered_shifted_usd": covered_value,
        "extra_cost_usd": ({"low": min(totals.values()), "central": totals[CENTRAL], "high": max(totals.values())}
                           if estimate else {"low": None, "central": None, "high": None}),
        "extra_cost_usd_by_treatment": totals if estimate else {name: None for name in totals},
        "extra_cost_share": totals[CENTRAL] / covered_value if covered_value > 0 else float("nan"),
        "n_products_without_estimate": int(np.sum((shifted > 0) & ~has)),
        "n_outliers": int(outlier.sum()),
        "outlier_shifted_usd": float(shifted[outlier].sum()),
        "extra_cost_usd_with_outliers": float(out["extra_cost_usd"].to_numpy()[has].sum()) if has.any() else None,
        "outlier_ratio": OUTLIER_RATIO,
        "method": "unit-value: world export unit values per supplier (quantity-weighted over its destinations), "
                  "winsorised per product across suppliers; extra cost D (rho - 1) / max(rho, 1), never above the "
                  f"value shifted; price ratios beyond {OUTLIER_RATIO:g}x either way are outliers, kept out of "
                  "low/central/high",
    }
    return out.sort_values("k", kind="stable").reset_index(drop=True), summary


def unit_value_columns(instance: Instance, allocation) -> pd.DataFrame:
    """The run's cost columns by this method, in instance product order: cost_usd (central; NaN for
    outliers and products without quantities), cost_pct, tariff_equivalent (NaN: no such notion
    here), cost_low_usd / cost_high_usd (smallest / largest over the trimming treatments), cost_note."""
    per, _ = shift_cost(instance, allocation)
    per = per.set_index("k").reindex(np.asarray(instance.products))
    treat = per[[f"extra_cost_usd_{name}" for name in TREATMENTS]].to_numpy(dtype=float)
    central = per["extra_cost_usd"].to_numpy(dtype=float)
    use = (per["estimate"].isin(["central", "nothing shifted"])).to_numpy()
    total = np.bincount(instance.pair_product, weights=np.asarray(instance.x0_kusd, dtype=float),
                        minlength=instance.n_products) * USD_PER_KUSD
    cost = np.where(use, central, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(total > 0, cost / total * 100.0, np.nan)
    note = np.where(use, "", "unit-value: " + per["estimate"].astype(str).to_numpy())
    return pd.DataFrame({
        "cost_usd": cost, "cost_pct": pct, "tariff_equivalent": np.nan,
        "cost_low_usd": np.where(use, np.nanmin(np.where(np.isfinite(treat), treat, np.inf), axis=1), np.nan),
        "cost_high_usd": np.where(use, np.nanmax(np.where(np.isfinite(treat), treat, -np.inf), axis=1), np.nan),
        "cost_note": note.astype(object),
    })
