"""Unit conversions. BACI values are thousands of current USD (kUSD, FOB);
reports are in USD, and in EUR only with an explicit rate (EUR per USD)."""
from __future__ import annotations

import numpy as np

USD_PER_KUSD = 1000.0


def kusd_to_usd(v_kusd):
    """kUSD -> USD (array or scalar)."""
    return np.asarray(v_kusd, dtype=float) * USD_PER_KUSD if not np.isscalar(v_kusd) else float(v_kusd) * USD_PER_KUSD


def usd_to_eur(v_usd, eur_per_usd: float):
    """USD -> EUR with an explicit rate (EUR per 1 USD)."""
    if not eur_per_usd or eur_per_usd <= 0:
        raise ValueError("eur_per_usd must be a positive rate (EUR per USD)")
    return np.asarray(v_usd, dtype=float) * eur_per_usd if not np.isscalar(v_usd) else float(v_usd) * eur_per_usd


def usd_columns(df):
    """A copy of the DataFrame ``df`` with every ``*_kusd`` column as ``*_usd`` (x 1000), in its place;
    ``df`` itself when it has none (tables handed to users are in USD, their unit in the column name)."""
    cols = [c for c in df.columns if str(c).endswith("_kusd")]
    if not cols:
        return df
    out = df.copy()
    for c in cols:
        out[c] = out[c] * USD_PER_KUSD
    return out.rename(columns={c: c[: -len("_kusd")] + "_usd" for c in cols})
