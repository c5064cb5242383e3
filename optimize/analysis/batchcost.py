"""The CES cost of the batched closed form's cells (docs/batch.md "Cost"): each solved (importer,
product) row of ``kernel.CLOSED_FORM.solve`` (a ``Problem`` with ``pairs``) priced by the run's one formula
(``armington.cost_passes`` on the row's ``PairArrays``): central (and low and high for bands), kUSD.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from optimize.analysis.armington import Shares, cost_passes
from optimize.model.kernel import CellTotals


def priced(parts: Iterable[CellTotals], sigmas: pd.DataFrame, lam: float, band: bool = True) -> Iterator[CellTotals]:
    """``parts`` with ``cost_kusd`` from their ``pairs`` (dropped once priced): (n, 3) central, low, high, or
    (n, 1) central only without ``band``; NaN = no finite estimate. The passes of the run's cost
    (``armington.cost_passes``). ``sigmas``: DataFrame[sigma, sigma_low, sigma_high] per product of the
    parts' product index; ``lam``: the new-supplier prior weight."""
    sig = sigmas[["sigma", "sigma_low", "sigma_high"]].to_numpy(dtype=float)
    for t in parts:
        if t.pairs is None:
            yield t
            continue
        s = sig[np.asarray(t.product)]
        shares = Shares.of(t.pairs)
        passes = cost_passes(t.pairs, s[:, 0], lam, (s[:, 1], s[:, 2]) if band else None, shares=shares)
        yield replace(t, pairs=None, cost_kusd=np.column_stack(passes) * shares.v1[:, None])


def fast_cells(year, importer_codes, risk_codes, cap_basis: str, caps_pp, labels) -> tuple[pd.DataFrame, list]:
    """The closed form's ``exposure.long_table`` of every (importer, cap) of one year, with the CES cost when
    ``year.cost`` is set and, with its band caps, the bands per cell: ``share_after_low``/``_high`` per risk
    row and ``cost_low_usd``/``cost_high_usd`` (over the cell's cap and the band caps, each at its sigma band
    and prior weights, as ``bandruns.add_bands``). Returns it and the caps solved (cell = g * len + c)."""
    from optimize.analysis.exposure import cell_metrics, long_table
    from optimize.model.kernel import CLOSED_FORM, PlainSpec, Problem

    cost = year.cost
    band_caps = cost.band_caps_pp if cost is not None else ()
    caps = sorted({float(c) for c in caps_pp} | {float(c) for c in band_caps})
    specs = tuple(PlainSpec(tuple(c), tuple(risk_codes), cap_basis) for c in importer_codes)
    parts = CLOSED_FORM.solve(Problem(specs, tuple(caps), year, pairs=cost is not None))
    m = cell_metrics(priced(parts, cost.sigmas, cost.prior_lambda, bool(band_caps)) if cost is not None else parts)
    long = long_table(m, labels)
    if band_caps:
        lo, hi = cap_bands(m.share_after[:, :, None], caps, band_caps)
        long["share_after_low"], long["share_after_high"] = lo.ravel(), hi.ravel()
        lo, hi = cap_bands(m.cost_usd[:, None, :], caps, band_caps)
        cell = long["cell"].to_numpy()
        long["cost_low_usd"], long["cost_high_usd"] = lo[cell, 0], hi[cell, 0]
    return long, caps


def band_values(tables) -> dict:
    """(measure, risk) -> its band columns from ``tables.bands`` (``bandruns.add_bands``); {} without bands."""
    if getattr(tables, "bands", None) is None:
        return {}
    out = {}
    for rec in tables.bands.to_dict("records"):
        name = "share_after" if rec["measure"] == "exposure_after" else rec["measure"].removesuffix("_usd")
        unit = "" if rec["measure"] == "exposure_after" else "_usd"
        out[(rec["measure"], str(rec["risk"]))] = {f"{name}_low{unit}": float(rec["low"]),
                                                   f"{name}_high{unit}": float(rec["high"])}
    return out


def cell_extra(tables) -> dict:
    """A pipeline cell's cost columns (cost_usd, cost_pct, cost_coverage, from ``tables.cost``; NaN when absent)
    and its band columns (share_after_low/high of all risk, cost_low_usd/cost_high_usd)."""
    cost = getattr(tables, "cost", None) or {}
    nan = float("nan")
    out = {"cost_usd": cost.get("total_usd", nan), "cost_pct": cost.get("pct_of_basket"),
           "cost_coverage": cost.get("coverage")}
    out = {k: nan if v is None else float(v) for k, v in out.items()}
    band = band_values(tables)
    return {**out, **band.get(("exposure_after", "ALL"), {}), **band.get(("cost_usd", ""), {})}


def cap_bands(values: np.ndarray, caps_pp: Sequence[float], band_caps_pp: Sequence[float]) -> tuple:
    """Low and high per cell over its own cap and the band caps, as ``band_table`` takes them over a run
    and its variants. ``values``: (G * C, K, V) for G importers x the C caps ``caps_pp`` (cell g * C + c),
    K measures (e.g. risk countries) and V values each run gives a measure (1, or the cost's central, low
    and high); NaN left out. Returns two (G * C, K) arrays; high NaN where some value is inf (no finite
    upper bound)."""
    caps = np.asarray(caps_pp, dtype=float)
    n_c = caps.shape[0]
    v = np.asarray(values, dtype=float)
    v = v.reshape(v.shape[0] // n_c, n_c, v.shape[1], v.shape[2])
    in_band = np.isin(caps, np.asarray(band_caps_pp, dtype=float))
    low, high = np.full(v.shape[:3], np.nan), np.full(v.shape[:3], np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices stay NaN
        for c in range(n_c):
            sel = v[:, in_band | (np.arange(n_c) == c)]  # (G, caps, K, V)
            sel = np.moveaxis(sel, 1, 2).reshape(v.shape[0], v.shape[2], -1)
            low[:, c] = np.nanmin(sel, axis=2)
            high[:, c] = np.nanmax(sel, axis=2)
    shape = (v.shape[0] * n_c, v.shape[2])
    return low.reshape(shape), np.where(np.isfinite(high), high, np.nan).reshape(shape)
