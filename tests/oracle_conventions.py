"""Independent closed-form reference for the conventions (no engine, no LP, no optimize.model).

For importer set J, risk set R, cap p pp of world exports (docs/model.md):

- flows into J count, except flows between members of J when ``intra_bloc="exclude"``;
- alternatives: exporters outside R with world exports > 0; members of J only when J is
  a bloc (> 1 member) with intra-bloc trade included, or when ``self_supply``;
- cap_ka = min(p/100 * W_ka, O_ka), O_ka = a's exports of k to destinations outside J;
- per product the cut is D_k = min(R_k, C_k); under the proportional split every risk
  supplier keeps the fraction 1 - D_k / R_k of its flow.

``python -m tests.oracle_conventions <BACI parquet>`` prints the before/after headline
for DEU and the EU27 (include vs exclude). Values in USD (BACI kUSD x 1000).
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd


def exposure(flows: pd.DataFrame, importer_codes, risk_codes, *, pp: float = 5.0, intra_bloc: str = "include",
             self_supply: bool = False) -> tuple[pd.DataFrame, dict]:
    """(per risk country [baci_code, before_usd, after_usd, share_before, share_after], totals dict)."""
    J = {int(c) for c in importer_codes}
    R = {int(c) for c in risk_codes}
    f = flows[["i", "j", "k", "v"]].copy()
    f["k"] = f["k"].astype(str)
    into_all = f[f["j"].isin(J)]
    into = into_all[~into_all["i"].isin(J)] if intra_bloc == "exclude" else into_all
    x0 = into.groupby(["k", "i"])["v"].sum()
    T = x0.groupby(level="k").sum()
    T = T[T > 0]
    world = f.groupby(["k", "i"])["v"].sum()
    outside = world.sub(into_all.groupby(["k", "i"])["v"].sum(), fill_value=0.0).clip(lower=0.0)
    members_alt = self_supply or (len(J) > 1 and intra_bloc == "include")
    cand = world[world > 0].index.to_frame(index=False)
    cand = cand[cand["k"].isin(T.index) & ~cand["i"].isin(R)]
    if not members_alt:
        cand = cand[~cand["i"].isin(J)]
    idx = pd.MultiIndex.from_frame(cand)
    cap = np.minimum(pp / 100.0 * world.reindex(idx).to_numpy(), outside.reindex(idx).fillna(0.0).to_numpy())
    C = pd.Series(cap, index=idx).groupby(level="k").sum().reindex(T.index, fill_value=0.0)
    risk = x0[x0.index.get_level_values("i").isin(R)]
    risk = risk[risk.index.get_level_values("k").isin(T.index)]
    Rk = risk.groupby(level="k").sum().reindex(T.index, fill_value=0.0)
    D = np.minimum(Rk, C)
    keep = (1.0 - D / Rk.where(Rk > 0, 1.0)).where(Rk > 0, 1.0)
    risk_after = risk * keep.reindex(risk.index.get_level_values("k")).to_numpy()
    basket = float(T.sum())
    per = pd.DataFrame({
        "baci_code": sorted(R),
        "before_usd": [float(risk[risk.index.get_level_values("i") == r].sum()) * 1000.0 for r in sorted(R)],
        "after_usd": [float(risk_after[risk_after.index.get_level_values("i") == r].sum()) * 1000.0 for r in sorted(R)],
    })
    per["share_before"] = per["before_usd"] / (basket * 1000.0)
    per["share_after"] = per["after_usd"] / (basket * 1000.0)
    totals = {"total_usd": basket * 1000.0, "shifted_usd": float(D.sum()) * 1000.0,
              "risk_before_usd": float(Rk.sum()) * 1000.0, "risk_after_usd": float((Rk - D).sum()) * 1000.0}
    return per, totals


def _headline(path: str) -> None:
    from optimize.data.countries import EU27, resolve_countries

    flows = pd.read_parquet(path)
    risk = resolve_countries(["CHN", "USA", "RUS"])
    cases = [("DEU, self-supply excluded", [276], "include", False),
             ("DEU, self-supply allowed (old)", [276], "include", True),
             ("EU27, intra-bloc included", EU27, "include", False),
             ("EU27, intra-bloc excluded", EU27, "exclude", False)]
    for label, codes, mode, self_supply in cases:
        per, tot = exposure(flows, codes, risk, intra_bloc=mode, self_supply=self_supply)
        print(f"{label}: basket {tot['total_usd'] / 1e9:.3f} bn USD; risk {tot['risk_before_usd'] / tot['total_usd']:.2%}"
              f" -> {tot['risk_after_usd'] / tot['total_usd']:.2%}; shifted {tot['shifted_usd'] / 1e9:.3f} bn USD")
        for r in per.itertuples():
            print(f"   {r.baci_code}: {r.share_before:.4%} -> {r.share_after:.4%}"
                  f" ({r.before_usd / 1e6:,.1f} -> {r.after_usd / 1e6:,.1f} m USD)")


if __name__ == "__main__":  # pragma: no cover
    _headline(sys.argv[1])
