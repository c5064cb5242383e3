"""The exact shift-share decomposition of a change in the risk share between two years.

The basket's risk share is ``S = sum_k w_k s_k`` (``w_k``: product k's weight in the basket's imports,
``s_k``: the risk suppliers' share of the imports of k). Between two years
``S1 - S0 = sum_k wbar_k (s1_k - s0_k) + sum_k sbar_k (w1_k - w0_k)`` exactly (bars: two-year means):
the first sum is the *within* part (suppliers' shares moved inside products), the second the
*composition* part (the basket's product mix moved). A product missing in a year has w = s = 0 there.
Values are USD; shares and weights 0..1.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Columns of ``decomposition.csv``.
DECOMPOSITION_COLUMNS = ("risk", "from_year", "to_year", "change", "within", "composition")
#: Columns of ``decomposition_products.csv`` (the top contributing products).
PRODUCT_COLUMNS = ("risk", "from_year", "to_year", "k", "within", "composition", "contribution")


def shift_share(w0: np.ndarray, s0: np.ndarray, w1: np.ndarray, s1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per product: (within = wbar * ds, composition = sbar * dw); their sums add up to
    ``sum(w1 * s1) - sum(w0 * s0)`` exactly (up to floating-point rounding)."""
    w0, s0, w1, s1 = (np.asarray(a, dtype=float) for a in (w0, s0, w1, s1))
    return (w0 + w1) / 2.0 * (s1 - s0), (s0 + s1) / 2.0 * (w1 - w0)


def weights_and_shares(year: pd.DataFrame) -> pd.DataFrame:
    """``year`` [risk, k, value_usd, risk_usd] (one row per risk label and product) -> the same rows with
    ``w`` (value / the basket's value, per risk label) and ``s`` (risk_usd / value; 0 where value is 0)."""
    out = year.copy()
    value = out["value_usd"].to_numpy(dtype=float)
    basket = out.groupby("risk")["value_usd"].transform("sum").to_numpy(dtype=float)
    out["w"] = np.divide(value, basket, out=np.zeros_like(value), where=basket > 0)
    out["s"] = np.divide(out["risk_usd"].to_numpy(dtype=float), value, out=np.zeros_like(value), where=value > 0)
    return out


def decompose_pair(y0: pd.DataFrame, y1: pd.DataFrame, from_year: int, to_year: int,
                   top: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decomposition rows (``DECOMPOSITION_COLUMNS``, one per risk label) and the ``top`` products per risk
    label by absolute contribution (``PRODUCT_COLUMNS``) of the change from ``y0`` to ``y1`` (frames as
    ``weights_and_shares`` takes them)."""
    a, b = weights_and_shares(y0), weights_and_shares(y1)
    both = a[["risk", "k", "w", "s"]].merge(b[["risk", "k", "w", "s"]], on=["risk", "k"], how="outer",
                                            suffixes=("0", "1")).fillna({"w0": 0.0, "s0": 0.0, "w1": 0.0, "s1": 0.0})
    both = both.sort_values(["risk", "k"], kind="stable").reset_index(drop=True)
    within, comp = shift_share(both["w0"], both["s0"], both["w1"], both["s1"])
    both["within"], both["composition"] = within, comp
    both["contribution"] = within + comp
    both["from_year"], both["to_year"] = int(from_year), int(to_year)
    level = both.assign(l0=both["w0"] * both["s0"], l1=both["w1"] * both["s1"]).groupby("risk", sort=True)
    sums = level[["l0", "l1", "within", "composition"]].sum()
    rows = pd.DataFrame({"risk": sums.index.astype(str), "from_year": int(from_year), "to_year": int(to_year),
                         "change": (sums["l1"] - sums["l0"]).to_numpy(), "within": sums["within"].to_numpy(),
                         "composition": sums["composition"].to_numpy()})
    ranked = both.assign(size=both["contribution"].abs()).sort_values(["risk", "size", "k"],
                                                                     ascending=[True, False, True], kind="stable")
    tops = ranked.groupby("risk", sort=True).head(int(top))
    return rows[list(DECOMPOSITION_COLUMNS)], tops[list(PRODUCT_COLUMNS)].reset_index(drop=True)


def decompose_years(frames: dict[int, pd.DataFrame], top: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``decompose_pair`` over consecutive years of ``frames`` ({year: [risk, k, value_usd, risk_usd]})."""
    years = sorted(frames)
    parts = [decompose_pair(frames[y0], frames[y1], y0, y1, top) for y0, y1 in zip(years, years[1:], strict=False)]
    if not parts:
        return pd.DataFrame(columns=list(DECOMPOSITION_COLUMNS)), pd.DataFrame(columns=list(PRODUCT_COLUMNS))
    return (pd.concat([p[0] for p in parts], ignore_index=True),
            pd.concat([p[1] for p in parts], ignore_index=True))
