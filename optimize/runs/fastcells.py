"""Batched cells: the separable model's exact optimum for many importers and caps at once, in arrays.

For the separable model (no friends list, share limit, bans, per-exporter or
per-product caps, risk weights, exporter totals; proportional risk split and
spread) the optimum per (importer J, product k) is a closed form
(``lp.separable_totals`` + ``tiebreak.distribute``): with today's imports T,
risk imports R and the alternatives' summed caps C, the risk imports after are
R - min(C, R); every risk supplier keeps the same fraction of its flow, every
alternative uses the same fraction min(C, R) / C of its cap. An alternative is
every non-risk exporter of k with world exports W > 0 (not only J's suppliers),
with cap min(p * basis, W - x0_J). Sums over exporters that do not sell to J
(x0 = 0) are per-product totals, corrected on J's actual flows, so one pass over
a year's rows serves every importer: O(rows) per cap, no per-cell instance.

Results equal ``pipeline.solve_cell`` (tests/test_batch_scale.py) and the cells'
table rows of ``batch`` (values USD, shares 0..1).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimize.data.frame import dense_index, hs6_index
from optimize.units import kusd_to_usd


@dataclass(frozen=True)
class YearArrays:
    """One year's rows as the arrays the batched closed form reads (what a fast task is sent).

    ``i``/``j``: exporter/importer BACI codes (int32); ``kidx``: each row's index into
    ``hs6`` (int32; the distinct HS6 codes, sorted); ``v``: value (kUSD, float64);
    ``distinct``: the rows are in strictly increasing (exporter, importer, product)
    order (BACI's; checked, not assumed), so no two rows share a key.
    """

    i: np.ndarray
    j: np.ndarray
    kidx: np.ndarray
    v: np.ndarray
    hs6: np.ndarray
    distinct: bool


def year_arrays(flows: pd.DataFrame) -> YearArrays:
    """``YearArrays`` of one year's BACI rows [i, j, k, v] (kUSD): the HS6 index is built once here."""
    kidx, hs6 = hs6_index(flows["k"])
    i = flows["i"].to_numpy(dtype=np.int32)
    j = flows["j"].to_numpy(dtype=np.int32)
    m = int(max(i.max(initial=0), j.max(initial=0))) + 1
    return YearArrays(i=i, j=j, kidx=kidx.astype(np.int32), v=flows["v"].to_numpy(dtype=np.float64),
                      hs6=hs6, distinct=_distinct_rows(kidx, i, j, m, hs6.shape[0]))


def eligible(scenario) -> bool:
    """True when every cell of ``scenario`` is the plain separable model this module solves exactly."""
    s = scenario
    return (not s.alternatives.friends and s.alternatives.spread == "proportional"
            and not s.risk.weights and (s.risk.split == "proportional" or (s.risk.split == "weights"))
            and not s.cap.share_limit and not s.cap.exporter_pp and not s.cap.product_pp
            and not s.cap.exporter_total_pp and not s.ban.country and s.importer.intra_bloc == "include"
            and not s.alternatives.self_supply)


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


def _default_caps(cap_basis: str, p: float, T, k_of_gk, Wnr_sum, Wnr_sq, market):
    """Per (importer, product): the sum and sum of squares (kUSD) of the default caps of every non-risk
    exporter of the product, had none of them a flow to the importer."""
    if cap_basis == "importer-market":  # p% of J's imports of k, at most the exporter's exports
        w_sorted, pk, seg_start, cum1, cum2 = market
        return _sum_min(w_sorted, pk, seg_start, k_of_gk, p * T, cum1, cum2)
    return p * Wnr_sum[k_of_gk], p * p * Wnr_sq[k_of_gk]


def _row_caps(cap_basis: str, p: float, fw, row_f, T, gk_inv):
    """Caps (kUSD) of J's suppliers (rows) and of the same exporters had they no flow to J (the default)."""
    if cap_basis == "importer-market":  # p% of J's imports of k, at most the exports outside J
        t_f = p * T[gk_inv]
        return np.minimum(t_f, row_f), np.minimum(t_f, fw)
    cap_f = np.minimum(p * fw, row_f) if cap_basis == "world-exports" else p * row_f
    return cap_f, p * fw


#: Rows per slice in the per-cap sums (bounds the temporaries of a cap to a few such arrays).
CHUNK_ROWS = 1 << 20


def _supplier_sums(cap_basis: str, p: float, x0, fw, row_f, T, gk_inv, nrk, n_gk: int):
    """Per (importer, product), over its non-risk suppliers: sum of (cap - default cap), of (cap**2 -
    default cap**2) and of x0 * cap, in slices of ``CHUNK_ROWS`` rows."""
    out = np.zeros((3, n_gk))
    for s in range(0, x0.shape[0], CHUNK_ROWS):
        sl = slice(s, s + CHUNK_ROWS)
        inv, keep = gk_inv[sl], nrk[sl]
        cap_f, cap_d = _row_caps(cap_basis, p, fw[sl], row_f[sl], T, inv)
        cap_f[~keep] = 0.0
        cap_d[~keep] = 0.0
        out[0] += np.bincount(inv, weights=cap_f - cap_d, minlength=n_gk)
        out[1] += np.bincount(inv, weights=cap_f * cap_f - cap_d * cap_d, minlength=n_gk)
        out[2] += np.bincount(inv, weights=x0[sl] * cap_f, minlength=n_gk)
    return out


def _own_default_cap(cap_basis: str, p: float, W: np.ndarray, T: np.ndarray, own: np.ndarray, k_of_gk: np.ndarray,
                     is_risk_code: np.ndarray) -> np.ndarray:
    """Per (importer, product): the default cap (kUSD) a single-country importer would have as its own
    alternative (0 for blocs and risk countries), to take out of the product's alternatives."""
    m = W.shape[1]
    valid = (own >= 0) & (own < m)
    code = np.where(valid, own, 0)
    valid &= ~is_risk_code[code]
    w = np.where(valid, W[k_of_gk, code], 0.0)
    cap = np.minimum(p * T, w) if cap_basis == "importer-market" else p * w
    return np.where(valid, cap, 0.0)


def _distinct_rows(kidx: np.ndarray, i: np.ndarray, j: np.ndarray, m: int, p: int) -> bool:
    """True when the rows are in strictly increasing (exporter, importer, product) order, so no two share
    a key (the reader's order, BACI's; checked, not assumed)."""
    key = (i.astype(np.int64) * m + j) * p + kidx
    return bool(np.all(key[1:] > key[:-1]))


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


def solve_block(year: YearArrays, importers: Sequence[str], importer_codes: Sequence[tuple[int, ...]],
                risk_codes: Sequence[int], risk_labels: Sequence[str], cap_basis: str,
                caps_pp: Sequence[float]) -> dict[str, np.ndarray]:
    """Every (importer, cap) of one year, cap basis and risk set.

    Conventions as ``model.instance`` (no self-supply, intra-bloc trade included): a
    single-country importer is never its own alternative (its default cap is taken out
    of the product's alternatives); the members of a bloc stay alternatives.

    ``year``: one year's rows of the analysed products (``year_arrays`` of BACI rows [i, j, k, v], kUSD).
    Returns flat arrays over (importer g, cap c) in g-major order: ``importer``
    (index), ``cap_pp``, ``basket_kusd``, ``before_kusd``/``after_kusd`` (G*C, R+1)
    per risk country in ``risk_codes`` order then all risk, ``shifted_kusd``,
    ``hhi_before``, ``hhi_after``, ``n_products`` (products the importer imports).
    """
    G, C, nr = len(importers), len(caps_pp), len(risk_codes)
    P = year.hs6.shape[0]
    i, j, kidx, v = year.i, year.j, year.kidx, year.v
    M = int(max(i.max(initial=0), j.max(initial=0))) + 1
    risk_arr = np.asarray(sorted(set(int(r) for r in risk_codes)), dtype=np.int64)
    is_risk_code = np.zeros(M + 1, dtype=bool)
    is_risk_code[risk_arr[risk_arr < M]] = True
    risk_pos = _code_index(M, [(n, (r,)) for n, r in enumerate(risk_codes)])
    own = np.asarray([int(c[0]) if len(c) == 1 else -1 for c in importer_codes], dtype=np.int64)
    distinct_rows = year.distinct

    # world exports per (product, exporter) and the non-risk totals per product
    W = np.bincount(kidx.astype(np.int64) * M + i, weights=v, minlength=P * M).reshape(P, M)
    W_nr = W.copy()
    W_nr[:, is_risk_code[:M]] = 0.0
    Wnr_sum, Wnr_sq = W_nr.sum(axis=1), (W_nr ** 2).sum(axis=1)
    market = _sorted_market(W_nr, P) if cap_basis == "importer-market" else None

    out = {"importer": np.repeat(np.arange(G), C), "cap_pp": np.tile(np.asarray(caps_pp, float), G),
           "basket_kusd": np.zeros(G * C), "before_kusd": np.zeros((G * C, nr + 1)),
           "after_kusd": np.zeros((G * C, nr + 1)), "shifted_kusd": np.zeros(G * C),
           "hhi_before": np.full(G * C, np.nan), "hhi_after": np.full(G * C, np.nan),
           "n_products": np.zeros(G * C, dtype=np.int64)}
    for layer in _layers(importer_codes):
        gj = _code_index(M, [(g, importer_codes[g]) for g in layer])[j]
        single = distinct_rows and all(len(importer_codes[g]) == 1 for g in layer)
        found = _layer_flows(gj, kidx, i, v, W, M, P, single)
        if found is None:
            continue
        del gj
        x0, fe, fgk, fk, fw = found
        gk_inv, gk = dense_index(fgk, G * P)  # (importer, product) with flows
        del fgk, fk, found
        n_gk = gk.shape[0]
        T = np.bincount(gk_inv, weights=x0, minlength=n_gk)
        live = T > 0
        rk = is_risk_code[fe]
        nrk = ~rk

        def by_gk(values, mask=None, gk_inv=gk_inv, n_gk=n_gk):
            return np.bincount(gk_inv, weights=values if mask is None else np.where(mask, values, 0.0),
                               minlength=n_gk)

        R = by_gk(x0, rk)
        R_each = np.zeros((n_gk, nr))
        rpos = risk_pos[fe]
        hit = rpos >= 0
        np.add.at(R_each, (gk_inv[hit], rpos[hit]), x0[hit])
        sq_risk, sq_nr = by_gk(x0 ** 2, rk), by_gk(x0 ** 2, nrk)
        g_of_gk = gk // P
        k_of_gk = gk % P
        Tsafe = np.where(live, T, 1.0)
        hhi0 = np.where(live, (sq_risk + sq_nr) / Tsafe ** 2, 0.0)
        basket = np.bincount(g_of_gk, weights=np.where(live, T, 0.0), minlength=G)
        nprod = np.bincount(g_of_gk, weights=live.astype(float), minlength=G).astype(np.int64)
        row_f = np.maximum(fw - x0, 0.0)
        for c, cap_pp in enumerate(caps_pp):
            p = float(cap_pp) / 100.0
            dsum, dsq = _default_caps(cap_basis, p, T, k_of_gk, Wnr_sum, Wnr_sq, market)
            d_sum, d_sq, Sx0cap = _supplier_sums(cap_basis, p, x0, fw, row_f, T, gk_inv, nrk, n_gk)
            own_cap = _own_default_cap(cap_basis, p, W, T, own[g_of_gk], k_of_gk, is_risk_code)
            dsum, dsq = dsum - own_cap, dsq - own_cap ** 2  # the importer is never its own alternative
            Csum = dsum + d_sum
            Csq = dsq + d_sq
            Csum = np.maximum(Csum, 0.0)
            extra = np.minimum(Csum, R)
            fcap = np.divide(extra, Csum, out=np.zeros(n_gk), where=Csum > 0)
            keep_r = np.divide(R - extra, R, out=np.zeros(n_gk), where=R > 0)
            sq1 = keep_r ** 2 * sq_risk + sq_nr + 2.0 * fcap * Sx0cap + fcap ** 2 * np.maximum(Csq, 0.0)
            hhi1 = np.where(live, sq1 / Tsafe ** 2, 0.0)
            rows = np.asarray(layer, dtype=np.int64) * C + c
            tgt = np.arange(G) * C + c

            def per_g(values, g_of_gk=g_of_gk, live=live):
                return np.bincount(g_of_gk, weights=np.where(live, values, 0.0), minlength=G)

            gsel = np.asarray(layer, dtype=np.int64)
            out["basket_kusd"][tgt[gsel]] = basket[gsel]
            out["n_products"][tgt[gsel]] = nprod[gsel]
            before = np.column_stack([per_g(R_each[:, n]) for n in range(nr)] + [per_g(R)])
            after = np.column_stack([per_g(R_each[:, n] * keep_r) for n in range(nr)] + [per_g(R - extra)])
            out["before_kusd"][rows] = before[gsel]
            out["after_kusd"][rows] = after[gsel]
            out["shifted_kusd"][rows] = per_g(extra)[gsel]
            bsafe = np.where(basket > 0, basket, np.nan)
            out["hhi_before"][rows] = (per_g(hhi0 * T) / bsafe)[gsel]
            out["hhi_after"][rows] = (per_g(hhi1 * T) / bsafe)[gsel]
    out["before_usd"] = kusd_to_usd(out.pop("before_kusd"))
    out["after_usd"] = kusd_to_usd(out.pop("after_kusd"))
    out["shifted_usd"] = kusd_to_usd(out.pop("shifted_kusd"))
    out["basket_usd"] = kusd_to_usd(out.pop("basket_kusd"))
    return out
