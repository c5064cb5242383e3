"""The closed-form backend: the separable model's exact optimum for many importers and caps at once.

For the plain separable model (``kernel.ClosedFormBackend.supports``) the optimum per
(importer J, product k) is the closed form ``lp.separable_split`` on sums: with today's
imports T, risk imports R and the alternatives' summed caps C, the risk imports after
are R - min(C, R); every risk supplier keeps the same fraction of its flow, every
alternative uses the same fraction min(C, R) / C of its cap (``tiebreak.distribute``'s
proportional rules). An alternative is every non-risk exporter of k with world exports
W > 0 (not only J's suppliers), capped by ``instance.cap_rule_kusd``; the importer is
never its own alternative unless ``instance.members_supply``. Sums over exporters that
do not sell to J (x0 = 0) are per-product totals, corrected on J's actual flows, so one
pass over a year's rows serves every importer: O(rows) per cap, no per-cell instance.

``solve_block`` yields ``kernel.CellTotals`` (equal to the LP backend's, tests/test_batch_scale.py).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimize.data.frame import dense_index
from optimize.model.instance import cap_rule_kusd, members_supply
from optimize.model.lp import separable_split
from optimize.model.pairflows import RowPairs, closed_form_pairs, row_chunks
from optimize.model.problem import CellTotals
from optimize.model.yeararrays import YearArrays


def _layers(importer_codes: Sequence[tuple[int, ...]]) -> list[list[int]]:
    """Importer indices split into layers in which no BACI code belongs to two importers."""
    layers: list[tuple[set, list[int]]] = []
    for g, codes in enumerate(importer_codes):
        for used, members in layers:
            if not used & set(codes):
                used |= set(codes)
                members.append(g)
                break
        else:
            layers.append((set(codes), [g]))
    return [m for _, m in layers]


def _sum_min(w_sorted: np.ndarray, w_prod: np.ndarray, seg_start: np.ndarray, prod: np.ndarray, t: np.ndarray,
             cum1: np.ndarray, cum2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per query q: sum over the values w of product ``prod[q]`` of min(t_q, w) and of min(t_q, w)**2.

    ``w_sorted`` holds the values sorted by (``w_prod``, value); product p's values start at
    ``seg_start[p]``; ``cum1``/``cum2`` are cumulative sums of w and w**2 with a leading 0.
    """
    n_pts = w_sorted.shape[0]
    vals = np.concatenate([w_sorted, t])
    prods = np.concatenate([w_prod, prod])
    typ = np.concatenate([np.zeros(n_pts, np.int8), np.ones(t.shape[0], np.int8)])
    order = np.lexsort((typ, vals, prods))
    is_pt = typ[order] == 0
    pts_before = np.cumsum(is_pt) - is_pt  # points before each position (all of lower products first)
    pos = np.empty(t.shape[0], dtype=np.int64)
    pos[order[~is_pt] - n_pts] = pts_before[~is_pt]
    start = seg_start[prod]
    seg_end = np.append(seg_start[1:], n_pts)[prod]
    below1 = cum1[pos] - cum1[start]
    below2 = cum2[pos] - cum2[start]
    n_above = seg_end - pos
    return below1 + t * n_above, below2 + t * t * n_above


def _code_index(m: int, groups) -> np.ndarray:
    """(m+1,) int32 array: the group index of each country code below ``m`` (``groups``: (index, codes)), else -1."""
    out = np.full(m + 1, -1, dtype=np.int32)
    for g, codes in groups:
        for code in codes:
            if int(code) < m:
                out[int(code)] = g
    return out


def _sorted_market(W_nr: np.ndarray, P: int) -> tuple:
    """Sorted non-risk world exports > 0 per product with prefix sums, for sums of min(p*T, W)."""
    pk, pe = np.nonzero(W_nr > 0)
    w_sorted = W_nr[pk, pe]
    o = np.lexsort((w_sorted, pk))
    w_sorted, pk = w_sorted[o], pk[o]
    seg_start = np.searchsorted(pk, np.arange(P), side="left")
    return (w_sorted, pk, seg_start, np.concatenate([[0.0], np.cumsum(w_sorted)]),
            np.concatenate([[0.0], np.cumsum(w_sorted ** 2)]))


def _default_caps(cap_basis: str, p: float, T, k_of_gk, Wnr_sums, market):
    """Per (importer, product): the sum and sum of squares (kUSD) of the caps (``cap_rule_kusd``) of every
    non-risk exporter of the product, had none of them a flow to the importer (outside = world exports)."""
    if cap_basis == "importer-market":  # min(p * T, W) summed over the product's sorted W
        w_sorted, pk, seg_start, cum1, cum2 = market
        return _sum_min(w_sorted, pk, seg_start, k_of_gk, p * T, cum1, cum2)
    return p * Wnr_sums[0][k_of_gk], p * p * Wnr_sums[1][k_of_gk]  # min(p * W, W) = p * W (p <= 1)


#: Rows per slice in the per-cap sums (bounds the temporaries of a cap to a few such arrays).
CHUNK_ROWS = 1 << 20


def _supplier_sums(L: "_Layer", cap_basis: str, p: float):
    """Per (importer, product) of layer ``L``, over its non-risk suppliers: sum of (cap - default cap), of
    (cap**2 - default cap**2) and of x0 * cap, in slices of ``CHUNK_ROWS`` rows (default: the same exporter
    without a flow to J)."""
    n_gk = L.T.shape[0]
    out = np.zeros((3, n_gk))
    for s in range(0, L.x0.shape[0], CHUNK_ROWS):
        sl = slice(s, s + CHUNK_ROWS)
        inv, keep, fw = L.gk_inv[sl], L.nrk[sl], L.fw[sl]
        market = L.T[inv]  # J's imports of the row's product
        cap_f = np.where(keep, cap_rule_kusd(p, cap_basis, fw, market, L.row_f[sl]), 0.0)
        cap_d = np.where(keep, cap_rule_kusd(p, cap_basis, fw, market, fw), 0.0)
        out[0] += np.bincount(inv, weights=cap_f - cap_d, minlength=n_gk)
        out[1] += np.bincount(inv, weights=cap_f * cap_f - cap_d * cap_d, minlength=n_gk)
        out[2] += np.bincount(inv, weights=L.x0[sl] * cap_f, minlength=n_gk)
    return out


def _own_default_cap(cap_basis: str, p: float, W: np.ndarray, T: np.ndarray, own: np.ndarray, k_of_gk: np.ndarray,
                     is_risk_code: np.ndarray) -> np.ndarray:
    """Per (importer, product): the default cap (kUSD) an importer would have as its own alternative (0 for
    risk countries and where ``own`` < 0: its members may supply it), to take out of the alternatives."""
    m = W.shape[1]
    valid = (own >= 0) & (own < m)
    code = np.where(valid, own, 0)
    valid &= ~is_risk_code[code]
    w = np.where(valid, W[k_of_gk, code], 0.0)
    return np.where(valid, cap_rule_kusd(p, cap_basis, w, T, w), 0.0)


def _layer_flows(gj: np.ndarray, kidx: np.ndarray, i: np.ndarray, v: np.ndarray, W: np.ndarray, M: int, P: int,
                 single: bool):
    """(x0, exporter, importer*P + product, product, world exports) of the rows into a layer's importers
    (``gj`` >= 0), summed per (importer, product, exporter) unless ``single`` (one row each already);
    None when no row goes to the layer."""
    sel = np.flatnonzero(gj >= 0)
    if sel.shape[0] == 0:
        return None
    if sel.shape[0] == gj.shape[0]:  # every row (every importer of the data): no copies
        g, k, e, x = gj, kidx, i, v
    else:
        g, k, e, x = gj[sel], kidx[sel], i[sel], v[sel]
    fgk = g.astype(np.int64) * P + k
    if single:
        fe, fk, x0 = e, k, x
    else:
        inv, ukey = pd.factorize(fgk * M + e)  # group by hashing (order does not matter below)
        x0 = np.bincount(inv, weights=x)
        fe, fgk = ukey % M, ukey // M
        fk = fgk % P
    fw = W[fk, fe]
    keep = fw > 0
    if not keep.all():
        x0, fe, fgk, fk, fw = x0[keep], fe[keep], fgk[keep], fk[keep], fw[keep]
    return x0, fe, fgk, fk, fw


@dataclass(frozen=True)
class _Year:
    """Per-year arrays shared by every layer and cap: world exports W (product x exporter, kUSD), the
    non-risk sums and sorted market, risk lookups."""

    M: int
    P: int
    W: np.ndarray
    Wnr_sums: tuple
    market: tuple | None
    is_risk_code: np.ndarray
    risk_pos: np.ndarray


def _year(year: YearArrays, risk_codes: Sequence[int], cap_basis: str) -> _Year:
    P = year.hs6.shape[0]
    M = int(max(year.i.max(initial=0), year.j.max(initial=0))) + 1
    risk_arr = np.asarray(sorted(set(int(r) for r in risk_codes)), dtype=np.int64)
    is_risk_code = np.zeros(M + 1, dtype=bool)
    is_risk_code[risk_arr[risk_arr < M]] = True
    W = np.bincount(year.kidx.astype(np.int64) * M + year.i, weights=year.v, minlength=P * M).reshape(P, M)
    W_nr = W.copy()
    W_nr[:, is_risk_code[:M]] = 0.0
    return _Year(M=M, P=P, W=W, Wnr_sums=(W_nr.sum(axis=1), (W_nr ** 2).sum(axis=1)),
                 market=_sorted_market(W_nr, P) if cap_basis == "importer-market" else None,
                 is_risk_code=is_risk_code, risk_pos=_code_index(M, [(n, (r,)) for n, r in enumerate(risk_codes)]))


@dataclass
class _Layer:
    """One layer's (importer, product) sums that do not depend on the cap (kUSD)."""

    x0: np.ndarray
    fe: np.ndarray
    fw: np.ndarray
    row_f: np.ndarray
    nrk: np.ndarray
    gk_inv: np.ndarray
    g_of_gk: np.ndarray
    k_of_gk: np.ndarray
    T: np.ndarray
    R: np.ndarray
    R_each: np.ndarray
    sq_risk: np.ndarray
    sq_nr: np.ndarray


def _layer(found, y: _Year, G: int, nr: int) -> _Layer:
    x0, fe, fgk, _fk, fw = found
    gk_inv, gk = dense_index(fgk, G * y.P)  # (importer, product) with flows
    n_gk = gk.shape[0]
    rk = y.is_risk_code[fe]

    def by_gk(values):
        return np.bincount(gk_inv, weights=values, minlength=n_gk)

    R_each = np.zeros((n_gk, nr))
    rpos = y.risk_pos[fe]
    hit = rpos >= 0
    np.add.at(R_each, (gk_inv[hit], rpos[hit]), x0[hit])
    sq = x0 ** 2
    return _Layer(x0=x0, fe=fe, fw=fw, row_f=np.maximum(fw - x0, 0.0), nrk=~rk, gk_inv=gk_inv, g_of_gk=gk // y.P,
                  k_of_gk=gk % y.P, T=by_gk(x0), R=by_gk(np.where(rk, x0, 0.0)), R_each=R_each,
                  sq_risk=by_gk(np.where(rk, sq, 0.0)), sq_nr=by_gk(np.where(rk, 0.0, sq)))


def _cap_totals(L: _Layer, y: _Year, cap_basis: str, p: float, own: np.ndarray) -> tuple:
    """One cap on one layer, per (importer, product): (risk after each, shifted, sum of squares after, the
    alternatives' fill ratio, the risk suppliers' kept fraction)."""
    n_gk = L.T.shape[0]
    dsum, dsq = _default_caps(cap_basis, p, L.T, L.k_of_gk, y.Wnr_sums, y.market)
    d_sum, d_sq, Sx0cap = _supplier_sums(L, cap_basis, p)
    own_cap = _own_default_cap(cap_basis, p, y.W, L.T, own[L.g_of_gk], L.k_of_gk, y.is_risk_code)
    Csum = np.maximum(dsum - own_cap + d_sum, 0.0)  # the alternatives' summed caps
    Csq = np.maximum(dsq - own_cap ** 2 + d_sq, 0.0)
    # the closed form on what is to be re-covered: the risk imports R, the alternatives' room C above
    # today's flows (their lower bounds), the risk suppliers' room R; extra = shifted to the alternatives
    extra, _, _ = separable_split(L.R, Csum, L.R)
    fcap = np.divide(extra, Csum, out=np.zeros(n_gk), where=Csum > 0)
    keep_r = np.divide(L.R - extra, L.R, out=np.zeros(n_gk), where=L.R > 0)
    sq1 = keep_r ** 2 * L.sq_risk + L.sq_nr + 2.0 * fcap * Sx0cap + fcap ** 2 * Csq
    return L.R_each * keep_r[:, None], extra, sq1, fcap, keep_r


def _row_pairs(L: _Layer, y: _Year, own: np.ndarray) -> RowPairs:
    return RowPairs(gk=L.gk_inv, x0=L.x0, exporter=L.fe, world=L.fw, outside=L.row_f, risk=~L.nrk,
                    product=L.k_of_gk, total=L.T, own=own[L.g_of_gk], W=y.W, is_risk_code=y.is_risk_code)


def solve_block(year: YearArrays, importer_codes: Sequence[tuple[int, ...]], risk_codes: Sequence[int],
                cap_basis: str, caps_pp: Sequence[float], pairs: bool = False) -> Iterator[CellTotals]:
    """Every (importer, cap) of one year, cap basis and risk set, as ``CellTotals`` (kUSD).

    Cell index = g * len(caps_pp) + c (importer g of ``importer_codes``, cap c); products index
    ``year.hs6``; only (importer, product) with imports > 0 appear. Conventions as
    ``model.instance`` (no self-supply, intra-bloc trade included). One ``CellTotals`` per
    (layer of importers without shared codes, cap): memory per cap, not per grid. ``pairs``: each also
    carries every supplier's flow before and after (``pairflows.closed_form_pairs``; for the CES cost).
    """
    risk_codes = tuple(sorted({int(r) for r in risk_codes}))
    G, C, nr = len(importer_codes), len(caps_pp), len(risk_codes)
    y = _year(year, risk_codes, cap_basis)
    # a single-country importer is never its own alternative (blocs: members supply; no codes: no flows)
    own = np.asarray([int(c[0]) if len(c) == 1 and not members_supply(1, "include", False) else -1
                      for c in importer_codes], dtype=np.int64)
    empty = True
    for layer in _layers(importer_codes):
        gj = _code_index(y.M, [(g, importer_codes[g]) for g in layer])[year.j]
        single = year.distinct and all(len(importer_codes[g]) == 1 for g in layer)
        found = _layer_flows(gj, year.kidx, year.i, year.v, y.W, y.M, y.P, single)
        del gj
        if found is None:
            continue
        L = _layer(found, y, G, nr)
        del found
        live = L.T > 0
        sq0 = L.sq_risk + L.sq_nr
        for c, cap_pp in enumerate(caps_pp):
            p = float(cap_pp) / 100.0
            risk_after, extra, sq1, fill, keep = _cap_totals(L, y, cap_basis, p, own)
            empty = False
            rp = _row_pairs(L, y, own) if pairs else None
            for on in row_chunks(rp, cap_basis, live) if pairs else [live]:  # pairs in parts: bounded memory
                yield CellTotals(n_cells=G * C, risk_codes=risk_codes, cell=L.g_of_gk[on] * C + c,
                                 product=L.k_of_gk[on], total_before_kusd=L.T[on], total_after_kusd=L.T[on],
                                 risk_before_kusd=L.R_each[on], risk_after_kusd=risk_after[on], sumsq_before=sq0[on],
                                 sumsq_after=sq1[on], shifted_kusd=extra[on],
                                 pairs=closed_form_pairs(rp, cap_basis, p, fill, keep, on) if pairs else None)
    if empty:  # no importer has flows: one empty part, so every cell still has its (zero) sums
        yield CellTotals.empty(G * C, risk_codes)
