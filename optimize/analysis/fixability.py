"""Screens beside a re-allocation: does the optimised allocation un-flag a screened product?

``fixability(screen, allocation)`` re-computes the importer-side criteria of an EC,
GeoDep or single-country screen (``optimize.analysis.screens``) from the flows after
an ``engine.Allocation`` (values USD, shares 0..1).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from optimize.analysis.exposure import hhi
from optimize.analysis.screens import GEODEP_ZERO_EXPORT_RATIO, _ratio
from optimize.errors import InputError
from optimize.units import kusd_to_usd


def allocation_supplier_table(allocation) -> pd.DataFrame:
    """Per (k, exporter) flows before/after of an ``engine.Allocation`` (USD)."""
    inst = allocation.instance
    return pd.DataFrame(
        {
            "k": np.asarray(inst.products)[inst.pair_product],
            "i": np.asarray(inst.pair_exporter, dtype=np.int64),
            "v_before": kusd_to_usd(np.asarray(inst.x0_kusd, dtype=float)),
            "v_after": kusd_to_usd(np.asarray(allocation.x_after_kusd, dtype=float)),
            "is_risk": np.asarray(inst.is_risk, dtype=bool),
        }
    )


def fixability(screen: pd.DataFrame, allocation) -> pd.DataFrame:
    """For every flagged product of ``screen``, whether the re-allocation un-flags it.

    Recomputes the importer-side criteria from the allocation's flows after (same
    importer set; suppliers inside the set excluded as in the screens): risk share,
    top-supplier share, extra-set HHI and, for EC/GeoDep, extra-set imports (exports
    are unchanged by a re-allocation). ``fixed`` is True when the product would no
    longer be flagged; ``in_allocation`` is False for products the instance lacks.
    Uses the latest screened year per product.
    """
    kind = screen.attrs.get("screen")
    if kind not in {"ec", "geodep", "single"}:
        raise InputError("screen DataFrame lacks its screen kind", field="attrs['screen']",
                         fix="pass the output of ec_screen, geodep_screen or single_country_screen")
    ycol = "latest_year" if kind == "geodep" else "year"
    flagged = screen[screen["flagged"]].sort_values(["k", ycol]).groupby("k", sort=True).tail(1)
    inst = allocation.instance
    members = np.asarray(inst.importer_codes, dtype=np.int64)
    pairs = allocation_supplier_table(allocation)
    if not (kind == "single" and screen.attrs.get("intra_bloc") == "include"):
        pairs = pairs[~pairs["i"].isin(members)]
    total_b = pairs.groupby("k")["v_before"].transform("sum")
    total_a = pairs.groupby("k")["v_after"].transform("sum")
    pairs = pairs.assign(
        sb=np.where(total_b > 0, pairs["v_before"] / total_b.where(total_b > 0, 1), 0.0),
        sa=np.where(total_a > 0, pairs["v_after"] / total_a.where(total_a > 0, 1), 0.0),
    )
    g = pairs.assign(rb=pairs["v_before"].where(pairs["is_risk"], 0.0),
                     ra=pairs["v_after"].where(pairs["is_risk"], 0.0))
    by_k = g.groupby("k", sort=True)
    agg = by_k.agg(
        extra_imports_before_usd=("v_before", "sum"), extra_imports_after_usd=("v_after", "sum"),
        top_share_before=("sb", "max"), top_share_after=("sa", "max"),
        risk_before_usd=("rb", "sum"), risk_after_usd=("ra", "sum"),
    )
    codes = by_k.ngroup().to_numpy()
    for col, v in (("hhi_extra_before", "v_before"), ("hhi_extra_after", "v_after")):  # 0 without extra-bloc imports
        agg.insert(agg.columns.get_loc("top_share_before"), col,
                   np.nan_to_num(hhi(codes, g[v].to_numpy(), len(agg)), nan=0.0))
    tot_all = pd.Series(kusd_to_usd(np.asarray(inst.total_kusd, dtype=float)), index=np.asarray(inst.products),
                        name="total_usd")
    agg = agg.join(tot_all, how="left")
    agg["risk_share_before"] = agg["risk_before_usd"] / agg["total_usd"]
    agg["risk_share_after"] = agg["risk_after_usd"] / agg["total_usd"]
    if kind == "single" and screen.attrs.get("supplier_code") is not None:
        sup = int(screen.attrs["supplier_code"])
        s = pairs[pairs["i"] == sup].set_index("k")[["sb", "sa"]]
        agg["supplier_share_before"] = s["sb"].reindex(agg.index).fillna(0.0)
        agg["supplier_share_after"] = s["sa"].reindex(agg.index).fillna(0.0)
    out = flagged.merge(agg.reset_index().rename(columns={"index": "k"}), on="k", how="left")
    out["in_allocation"] = out["extra_imports_after_usd"].notna()
    th = screen.attrs["thresholds"]
    if kind == "single":
        col = "supplier_share_after" if "supplier_share_after" in out else "top_share_after"
        still = out[col] > min(th["share"])
    elif kind == "ec":
        share_after = _ratio(out["extra_imports_after_usd"], out["total_imports_usd"])
        ratio_after = _ratio(out["extra_imports_after_usd"], out["extra_exports_usd"])
        still = (out["hhi_extra_after"] > th["hhi"]) & (share_after > th["extra_share"]) & (ratio_after > th["ratio"])
    else:
        # the re-allocation changes the latest year only: swap that year's all-criteria outcome
        world = out["hhi_world_exports"].fillna(0.0) > th["hhi_world_exports"]
        before = (out["hhi_importer"].fillna(0.0) > th["hhi_importer"]) & world & (
            out["import_export_ratio"].fillna(0.0) > th["ratio"])
        ratio_after = _ratio(out["extra_imports_after_usd"], out["exports_usd"], GEODEP_ZERO_EXPORT_RATIO)
        after = (out["hhi_extra_after"] > th["hhi_importer"]) & world & (ratio_after > th["ratio"])
        n_after = out["n_years_all_criteria"] - before.astype(int) + after.astype(int)
        still = n_after >= screen.attrs["min_years"]
    out["fixed"] = out["in_allocation"] & ~still.fillna(True).astype(bool)
    return out.sort_values("k", kind="stable").reset_index(drop=True)
