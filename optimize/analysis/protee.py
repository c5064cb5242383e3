"""Elasticities of substitution per HS6 code from CEPII ProTEE (HS2007), for any revision reached
by the UNSD concordances (used by ``scripts/build_sigma.py``; rule in docs/cost.md).

ProTEE v0.1 (Fontagne, Guimbard & Orefice 2022) gives per HS2007 code a trade elasticity
(negative), a flag ``zero`` (1 = not significant at 1 %) and ``positive`` (1 = wrong sign).
sigma = -elasticity where the estimate is *usable* (significant, right sign, present). Else, in
this order: the median of usable values of the code's HS4 heading, of its HS2 chapter, of all
codes (``sigma_source`` says which). Band (sigma_low, sigma_high): the interquartile range of
the usable values of the code's chapter (all usable values when the chapter has fewer than
``MIN_BAND``), widened to contain sigma. A code of another revision takes the mean over its
linked HS2007 codes of the best source present, weighted by each HS2007 code's world trade when
weights are given (``to_revision(weights=...)``; a code whose linked codes have no trade, or no
weights at all, takes the simple mean: the bundled tables, as no HS2007 trade is offline).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: sigma_source values, best first (``file``: the user's ``--elasticities``).
SOURCES = ("ProTEE", "HS4 median", "HS2 median", "all-products median")
MIN_BAND = 3
COLUMNS = ["k", "sigma", "sigma_low", "sigma_high", "sigma_source", "n_hs07"]


def usable_protee(protee: pd.DataFrame) -> pd.Series:
    """ProTEE rows (HS6, zero, positive, sigma) -> Series sigma > 0 indexed by HS2007 code, usable rows only."""
    k = protee["HS6"].astype(str).str.strip().str.zfill(6)
    e = pd.to_numeric(protee["sigma"], errors="coerce")
    ok = (protee["zero"].astype(int) == 0) & (protee["positive"].astype(int) == 0) & (e < 0)
    return pd.Series(-e[ok].to_numpy(), index=k[ok].to_numpy(), name="sigma").sort_index()


def _prefix_median(codes: pd.Series, usable: pd.Series, n: int) -> np.ndarray:
    med = usable.groupby(usable.index.str[:n]).median()
    return codes.str[:n].map(med).to_numpy(dtype=float)


def fill(codes, usable: pd.Series) -> pd.DataFrame:
    """DataFrame[k, sigma, sigma_low, sigma_high, sigma_source] for ``codes`` (HS2007 or any code
    whose HS4/HS2 prefixes are read against HS2007), by the rule of the module docstring."""
    k = pd.Series(sorted(set(str(c).zfill(6) for c in codes)), dtype=str)
    own = k.map(usable).to_numpy(dtype=float)
    candidates = [own, _prefix_median(k, usable, 4), _prefix_median(k, usable, 2),
                  np.full(len(k), float(usable.median()))]
    sigma = np.full(len(k), np.nan)
    source = np.full(len(k), "", dtype=object)
    for name, vals in zip(SOURCES, candidates, strict=True):
        take = np.isnan(sigma) & np.isfinite(vals)
        sigma[take], source[take] = vals[take], name
    chapter = usable.groupby(usable.index.str[:2])
    big = chapter.size() >= MIN_BAND
    q25 = chapter.quantile(0.25)[big]
    q75 = chapter.quantile(0.75)[big]
    lo = k.str[:2].map(q25).fillna(usable.quantile(0.25)).to_numpy(dtype=float)
    hi = k.str[:2].map(q75).fillna(usable.quantile(0.75)).to_numpy(dtype=float)
    return pd.DataFrame({"k": k, "sigma": sigma, "sigma_low": np.minimum(lo, sigma),
                         "sigma_high": np.maximum(hi, sigma), "sigma_source": source})


def to_revision(filled07: pd.DataFrame, links: pd.DataFrame, codes, usable: pd.Series,
                weights: pd.Series | None = None) -> pd.DataFrame:
    """Per code of another revision (``links``: DataFrame[k, k07] from the UNSD correlation tables):
    the mean sigma / band over its linked HS2007 codes of the best source present, weighted by
    ``weights`` (world trade per HS2007 code, any unit; missing = 0) where the linked codes have trade,
    else the simple mean; codes without a link are filled from their own HS4/HS2 prefixes. Returns the
    ``COLUMNS`` frame sorted by k."""
    rank = {s: i for i, s in enumerate(SOURCES)}
    f = filled07.set_index("k")
    lk = links[links["k07"].isin(f.index)].drop_duplicates()
    lk = lk.join(f, on="k07")
    lk["rank"] = lk["sigma_source"].map(rank)
    lk = lk[lk["rank"] == lk.groupby("k")["rank"].transform("min")]
    g = lk.groupby("k")
    mapped = _linked_mean(lk, weights)
    mapped["sigma_source"] = g["sigma_source"].first()
    mapped["n_hs07"] = g.size()
    all_codes = sorted(set(str(c).zfill(6) for c in codes))
    rest = [c for c in all_codes if c not in mapped.index]
    own = fill(rest, usable).set_index("k").assign(n_hs07=0) if rest else mapped.iloc[:0]
    out = pd.concat([mapped, own]).reindex(all_codes)
    out.index.name = "k"
    return out.reset_index()[COLUMNS]


def _linked_mean(lk: pd.DataFrame, weights: pd.Series | None) -> pd.DataFrame:
    """Per k of ``lk`` (rows k, k07, sigma, sigma_low, sigma_high): the weighted mean of the three over its
    rows (weight = ``weights`` of k07), the simple mean where the weights sum to 0 or none are given."""
    cols = ["sigma", "sigma_low", "sigma_high"]
    plain = lk.groupby("k")[cols].mean()
    if weights is None:
        return plain
    w = lk["k07"].map(weights).fillna(0.0).clip(lower=0.0).to_numpy(dtype=float)
    tot = pd.Series(w, index=lk.index).groupby(lk["k"]).sum()
    num = lk[cols].mul(w, axis=0).groupby(lk["k"]).sum()
    weighted = num.div(tot.where(tot > 0), axis=0)
    return weighted.where(tot > 0, plain, axis=0)
