"""Supplier flows before and after as pair arrays (kUSD): one instance's, or the batched closed form's.

``PairArrays`` is what the CES cost (``optimize.analysis.armington``) prices. The closed form
(``model.batched``) knows every pair's flow after without an instance: per (importer, product)
row, risk suppliers keep the fraction ``keep`` of their flows and every alternative adds
``fill`` times its cap (``instance.cap_rule_kusd``). The exporters of the product that do not
sell to the importer today are pairs too (the instance's); ``closed_form_pairs`` lists them
without a row per exporter where it can: pairs whose shares before and after stand in one
ratio count as one pair of their summed world exports (exact for the CES power mean). That
holds for the risk ones (0 before and after) and, under the world-exports and rest-of-world
bases (cap = p x world exports), for the alternatives; under importer-market the alternatives
are listed one by one (their caps min(p T, W) are not proportional to W).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimize.model.instance import cap_rule_kusd


@dataclass(frozen=True)
class PairArrays:
    """Pairs as plain arrays (kUSD): group (product or row) index, today, after, risk flag, the exporter's
    world exports of the product; ``n_groups`` groups."""

    group: np.ndarray
    x0: np.ndarray
    x1: np.ndarray
    is_risk: np.ndarray
    world: np.ndarray
    n_groups: int

    @classmethod
    def of(cls, instance, x_after_kusd) -> "PairArrays":
        return cls(np.asarray(instance.pair_product, dtype=np.int64), np.asarray(instance.x0_kusd, dtype=float),
                   np.asarray(x_after_kusd, dtype=float), np.asarray(instance.is_risk, dtype=bool),
                   np.asarray(instance.world_exports_kusd, dtype=float), int(instance.n_products))


@dataclass(frozen=True)
class RowPairs:
    """A layer's supplier rows of the closed form (``model.batched``): per row the (importer, product) index
    ``gk`` (of ``n_gk``), today's flow, exporter code, world exports, outside-importer exports and risk flag;
    per (importer, product) its product, imports T and own code (-1: none left out); the year's world
    exports W (product x exporter) and risk flags per code."""

    gk: np.ndarray
    x0: np.ndarray
    exporter: np.ndarray
    world: np.ndarray
    outside: np.ndarray
    risk: np.ndarray
    product: np.ndarray
    total: np.ndarray
    own: np.ndarray
    W: np.ndarray
    is_risk_code: np.ndarray


def closed_form_pairs(r: RowPairs, cap_basis: str, p: float, fill: np.ndarray, keep: np.ndarray,
                      live: np.ndarray) -> PairArrays:
    """Every pair of the (importer, product) rows with ``live`` True, before and after the closed form at
    cap fraction ``p`` (``fill``, ``keep`` per row); ``group`` = the row's position among the live ones."""
    n = r.total.shape[0]
    cap = np.where(r.risk, 0.0, cap_rule_kusd(p, cap_basis, r.world, r.total[r.gk], r.outside))
    x1 = np.where(r.risk, r.x0 * keep[r.gk], r.x0 + fill[r.gk] * cap)
    risk_world = _world_sum(r, True) - np.bincount(r.gk, weights=np.where(r.risk, r.world, 0.0), minlength=n)
    parts = [(r.gk, r.x0, x1, r.risk, r.world),
             (np.arange(n), np.zeros(n), np.zeros(n), np.ones(n, bool), np.maximum(risk_world, 0.0))]
    if cap_basis == "importer-market":
        parts.append(_idle_alternatives(r, p, fill))
    else:  # cap = p W for an exporter without flows: its shares before and after stand in one ratio
        alt_world = _world_sum(r, False) - np.bincount(r.gk, weights=np.where(r.risk, 0.0, r.world), minlength=n)
        alt_world = np.maximum(alt_world - _own_world(r), 0.0)
        parts.append((np.arange(n), np.zeros(n), fill * p * alt_world, np.zeros(n, bool), alt_world))
    g, x0, x1, risk, world = (np.concatenate(c) for c in zip(*parts, strict=True))
    pos = np.cumsum(live) - 1
    on = live[g] & (world > 0)
    return PairArrays(pos[g[on]], x0[on], x1[on], risk[on], world[on], int(live.sum()))


def _world_sum(r: RowPairs, risk: bool) -> np.ndarray:
    """(n_gk,) the world exports of the row's product summed over the risk (or non-risk) exporters."""
    m = r.W.shape[1]
    mask = r.is_risk_code[:m] if risk else ~r.is_risk_code[:m]
    return r.W[:, mask].sum(axis=1)[r.product]


def _own_world(r: RowPairs) -> np.ndarray:
    """(n_gk,) the importer's own world exports of the product where it is left out of the pairs (a
    non-risk single country: never its own alternative), else 0."""
    m = r.W.shape[1]
    ok = (r.own >= 0) & (r.own < m)
    code = np.where(ok, r.own, 0)
    ok &= ~r.is_risk_code[code]
    return np.where(ok, r.W[r.product, code], 0.0)


def _idle_alternatives(r: RowPairs, p: float, fill: np.ndarray) -> tuple:
    """One pair per (row, non-risk exporter of its product without a flow to the importer, not the
    importer itself): cap min(p T, W), flow after ``fill`` x cap (importer-market basis)."""
    m = r.W.shape[1]
    w_nr = np.where(r.is_risk_code[:m][None, :], 0.0, r.W)
    pk, pe = np.nonzero(w_nr > 0)  # sorted by product, then exporter
    start = np.searchsorted(pk, np.arange(w_nr.shape[0]), side="left")
    count = np.bincount(pk, minlength=w_nr.shape[0])[r.product]
    gk = np.repeat(np.arange(r.total.shape[0]), count)
    first = np.repeat(start[r.product] - np.concatenate([[0], np.cumsum(count)[:-1]]), count)
    at = first + np.arange(gk.shape[0])
    e = pe[at]
    key = gk.astype(np.int64) * m + e
    idle = ~np.isin(key, r.gk.astype(np.int64) * m + r.exporter) & (e != r.own[gk])
    gk, e = gk[idle], e[idle]
    w = r.W[r.product[gk], e]
    x1 = fill[gk] * cap_rule_kusd(p, "importer-market", w, r.total[gk], w)
    return gk, np.zeros(gk.shape[0]), x1, np.zeros(gk.shape[0], bool), w
