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


#: Pairs listed per chunk of (importer, product) rows under importer-market (bounds the listing's memory).
PAIR_CHUNK = 1 << 22


def row_chunks(r: RowPairs, cap_basis: str, live: np.ndarray) -> list[np.ndarray]:
    """Masks over the (importer, product) rows, subsets of ``live`` that cover it, each with about
    ``PAIR_CHUNK`` pairs at most (one mask unless importer-market lists the idle alternatives)."""
    if cap_basis != "importer-market":
        return [live]
    m = r.W.shape[1]
    n_alt = (r.W[:, ~r.is_risk_code[:m]] > 0).sum(axis=1)[r.product]  # the row's product's alternatives
    part = np.cumsum(np.where(live, n_alt + 2, 0)) // PAIR_CHUNK
    return [live & (part == c) for c in np.unique(part[live])]


def closed_form_pairs(r: RowPairs, cap_basis: str, p: float, fill: np.ndarray, keep: np.ndarray,
                      live: np.ndarray) -> PairArrays:
    """Every pair of the (importer, product) rows with ``live`` True, before and after the closed form at
    cap fraction ``p`` (``fill``, ``keep`` per row); ``group`` = the row's position among the live ones."""
    n = r.total.shape[0]
    rows = np.flatnonzero(live[r.gk])
    gk, x0, world, risk = r.gk[rows], r.x0[rows], r.world[rows], r.risk[rows]
    cap = np.where(risk, 0.0, cap_rule_kusd(p, cap_basis, world, r.total[gk], r.outside[rows]))
    x1 = np.where(risk, x0 * keep[gk], x0 + fill[gk] * cap)
    on_gk = np.flatnonzero(live)
    risk_world = _world_sum(r, True) - np.bincount(gk, weights=np.where(risk, world, 0.0), minlength=n)
    zeros = np.zeros(on_gk.shape[0])
    parts = [(gk, x0, x1, risk, world),
             (on_gk, zeros, zeros, np.ones(on_gk.shape[0], bool), np.maximum(risk_world, 0.0)[on_gk])]
    if cap_basis == "importer-market":
        parts.append(_idle_alternatives(r, p, fill, on_gk, gk.astype(np.int64) * r.W.shape[1] + r.exporter[rows]))
    else:  # cap = p W for an exporter without flows: its shares before and after stand in one ratio
        alt_world = _world_sum(r, False) - np.bincount(gk, weights=np.where(risk, 0.0, world), minlength=n)
        alt_world = np.maximum(alt_world - _own_world(r), 0.0)[on_gk]
        parts.append((on_gk, zeros, fill[on_gk] * p * alt_world, np.zeros(on_gk.shape[0], bool), alt_world))
    g, x0, x1, risk, world = (np.concatenate(c) for c in zip(*parts, strict=True))
    pos = np.cumsum(live) - 1
    on = world > 0
    return PairArrays(pos[g[on]], x0[on], x1[on], risk[on], world[on], int(on_gk.shape[0]))


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


def _idle_alternatives(r: RowPairs, p: float, fill: np.ndarray, on_gk: np.ndarray, flow_keys: np.ndarray) -> tuple:
    """One pair per (row of ``on_gk``, non-risk exporter of its product without a flow to the importer
    (``flow_keys``: row x M + exporter of the flows), not the importer itself): cap min(p T, W), flow
    after ``fill`` x cap (importer-market basis)."""
    m = r.W.shape[1]
    w_nr = np.where(r.is_risk_code[:m][None, :], 0.0, r.W)
    pk, pe = np.nonzero(w_nr > 0)  # sorted by product, then exporter
    start = np.searchsorted(pk, np.arange(w_nr.shape[0]), side="left")
    count = np.bincount(pk, minlength=w_nr.shape[0])[r.product[on_gk]]
    gk = np.repeat(on_gk, count)
    first = np.repeat(start[r.product[on_gk]] - np.concatenate([[0], np.cumsum(count)[:-1]]), count)
    e = pe[first + np.arange(gk.shape[0])]
    key, flows = gk.astype(np.int64) * m + e, np.sort(flow_keys)
    at = np.minimum(np.searchsorted(flows, key), max(flows.shape[0] - 1, 0))
    idle = ~((flows[at] == key) if flows.shape[0] else np.zeros(key.shape[0], bool)) & (e != r.own[gk])
    gk, e = gk[idle], e[idle]
    w = r.W[r.product[gk], e]
    x1 = fill[gk] * cap_rule_kusd(p, "importer-market", w, r.total[gk], w)
    return gk, np.zeros(gk.shape[0]), x1, np.zeros(gk.shape[0], bool), w
