"""Result tables of one re-allocation: exposure, HHI, beneficiaries, breakdowns (all values in USD).

Definitions (every table uses them):

- Product total before = sum of today's flows x0 over the product's pairs; after =
  sum of the flows after (lower than before only by a ban shortfall).
- Supplier share of a pair = its flow / product total (before or after), so the
  shares of a product sum to 1. HHI = sum of squared supplier shares (0..1).
- Basket shares (exposure, beneficiaries) are of the basket's total imports, before
  or after respectively.
- Group and overall HHI = mean of product HHIs weighted by product totals (before
  totals for ``hhi_before``, after totals for ``hhi_after``).
- A product is ``unfixable`` when it has risk imports and its alternatives have no
  headroom at all (sum over alternatives of min(cap, upper bound - x0) is 0); under an
  export ban the products not banned are ``frozen`` (kept at today's flows), never unfixable.
- ``shifted_usd`` = sum over alternative (non-risk) pairs of max(after - before, 0):
  the extra imports that alternative suppliers take over. Since totals are kept,
  shifted = risk reduction - shortfall + (decreases of alternatives, normally 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimize.analysis.binding import binding_table
from optimize.analysis.exposure import CellMetrics, cell_metrics, hhi_of_sums
from optimize.data.countries import lookup
from optimize.data.frame import dense_index, take_text
from optimize.model.engine import Allocation
from optimize.model.instance import Instance
from optimize.model.kernel import totals_of
from optimize.units import kusd_to_usd
from optimize.vocab import SINGLE_COUNTRY_THRESHOLDS

UNCLASSIFIED = "unclassified"
ALL_RISK = "ALL"
#: Value-chain order of stages (``optimize.data.stages``); other groups follow alphabetically, unclassified last.
STAGE_ORDER = ("raw", "intermediate", "capital", "final")
_TOL = 1e-9


@dataclass
class ResultTables:
    """Tables of one run; DataFrames in USD and shares 0..1 (``*_pp`` in percentage points)."""

    exposure: pd.DataFrame
    flows: pd.DataFrame
    products: pd.DataFrame
    beneficiaries: pd.DataFrame
    by_sector: pd.DataFrame
    by_stage: pd.DataFrame
    summary: dict
    concentration: pd.DataFrame
    single_country: pd.DataFrame
    binding: pd.DataFrame | None = None
    risk_iso3: list[str] = field(default_factory=list)
    cost: dict | None = None  # summary.json "cost" block (optimize.analysis.armington.attach)
    bands: pd.DataFrame | None = None  # low/central/high of the headlines (optimize.analysis.bands)
    bands_block: dict | None = None  # summary.json "bands" block

    def frames(self) -> dict[str, pd.DataFrame]:
        """Named DataFrames present (binding only when computed)."""
        out = {
            "exposure": self.exposure, "flows": self.flows, "products": self.products,
            "beneficiaries": self.beneficiaries, "by_sector": self.by_sector, "by_stage": self.by_stage,
            "concentration": self.concentration, "single_country": self.single_country,
        }
        if self.binding is not None:
            out["binding"] = self.binding
        if self.bands is not None:
            out["bands"] = self.bands
        return out


def country_labels(codes, countries: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """(iso3, name) arrays for BACI ``codes`` from ``countries`` (``countries.lookup``); codes
    missing from it get "C<code>", missing names the ISO3."""
    codes = np.asarray(codes, dtype=np.int64)
    table = countries if countries is not None else pd.DataFrame({"baci_code": [], "iso3": []})
    iso3 = lookup(codes, "iso3", "C", table).astype(object)
    name = lookup(codes, "name", None, table)
    return iso3, np.where(pd.isna(name), iso3, name).astype(object)


def _product_frame(instance: Instance, product_info: pd.DataFrame | None) -> pd.DataFrame:
    """k, description, sector, stage for the instance's products (missing -> unclassified)."""
    base = pd.DataFrame({"k": instance.products.astype(str)})
    if product_info is None or len(product_info) == 0:
        info = pd.DataFrame(columns=["k", "description", "sector", "stage"])
    else:
        info = product_info.copy()
        info["k"] = info["k"].astype(str).str.zfill(6)
        info = info.drop_duplicates("k")
    for col in ("description", "sector", "stage"):
        if col not in info:
            info[col] = np.nan
    out = base.merge(info[["k", "description", "sector", "stage"]], on="k", how="left", validate="one_to_one")
    out["description"] = out["description"].fillna("").astype(str)
    for col in ("sector", "stage"):
        out[col] = out[col].where(out[col].notna() & (out[col].astype(str) != ""), UNCLASSIFIED).astype(str)
    return out


def bloc_members(instance: Instance) -> set[int]:
    """BACI codes of the importer's members when it is a bloc (more than one code), else empty."""
    codes = {int(c) for c in instance.importer_codes}
    return codes if len(codes) > 1 else set()


def _safe_div(num, den):
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _top_supplier(prod_idx: np.ndarray, exporter: np.ndarray, value: np.ndarray, n_products: int):
    """Per product: (exporter code of the largest flow, its value); ties -> lowest code; -1 when none > 0."""
    top_val = np.zeros(n_products)
    np.maximum.at(top_val, prod_idx, value)
    is_top = (value == top_val[prod_idx]) & (value > 0)
    sentinel = np.iinfo(np.int64).max
    top_code = np.full(n_products, sentinel, dtype=np.int64)
    np.minimum.at(top_code, prod_idx[is_top], exporter[is_top])
    top_code[top_code == sentinel] = -1
    return top_code, top_val


def _product_notes(instance, allocation, shortfall_usd: np.ndarray, frozen: np.ndarray) -> np.ndarray:
    """Per product: why it could not meet every limit ("" when it did). Reasons from the engine's keep_going report."""
    codes = np.asarray(instance.products).astype(str)
    relaxed = np.isin(codes, [str(k) for k in (getattr(allocation, "infeasible_products", None) or [])])
    short = np.asarray(shortfall_usd, dtype=float) > 1e-3  # USD: above LP round-off
    share_note = np.where(relaxed, "share limit cannot hold (suppliers outside the risk set already exceed it or "
                                   "cannot reach the total): solved without it", "")
    ban_note = np.where(short, "export ban: alternatives cannot cover the banned imports (see shortfall_usd)", "")
    notes = np.char.add(np.char.add(share_note, np.where(relaxed & short, "; ", "")), ban_note)
    return np.where(frozen, "frozen: not banned, kept at today's flows (export ban)", notes).astype(object)


def compute_tables(
    instance: Instance,
    allocation: Allocation,
    product_info: pd.DataFrame | None,
    countries: pd.DataFrame | None,
    *,
    exclude_members: bool = False,
    top_n: int = 25,
    bloc_codes: tuple[int, ...] | list[int] | None = None,
) -> ResultTables:
    """All result tables of one instance's allocation (see module docstring for definitions).

    Exposure, HHI and the sector and stage breakdowns come from the one metrics step
    (``exposure.cell_metrics`` of the kernel's ``CellTotals``); this function adds the
    pair-level tables. ``product_info``: DataFrame[k, description, sector, stage];
    ``countries``: DataFrame[baci_code, iso3, name]. ``bloc_codes`` (e.g. EU27 BACI codes)
    adds an ``extra_bloc_share`` column to ``concentration``. Beneficiaries mark a bloc
    importer's own members (``bloc_member``; left out with ``exclude_members``);
    ``shifted_to_(non_)members_usd`` split ``shifted_usd``.
    """
    x0 = kusd_to_usd(np.asarray(instance.x0_kusd, dtype=float))
    x1 = kusd_to_usd(np.asarray(allocation.x_after_kusd, dtype=float))
    if x1.shape != x0.shape:
        raise ValueError(f"allocation has {x1.shape[0]} flows, instance {x0.shape[0]} pairs")
    totals = totals_of(instance, allocation.x_after_kusd)
    basket = cell_metrics(totals)
    risk_iso3, risk_name = country_labels(totals.risk_codes, countries)
    prod = _product_frame(instance, product_info)
    products, top_name = _products_table(instance, allocation, prod, totals, countries)
    flows, exp_names, exp_pos = flows_table(instance, x0, x1, countries)
    sectors, sector_of_product = np.unique(prod["sector"].to_numpy().astype(str), return_inverse=True)
    p = np.asarray(instance.pair_product, dtype=np.int64)
    binding = None
    if allocation.cap_marginal is not None:
        binding = binding_table(flows, sectors, sector_of_product[p], np.asarray(allocation.cap_marginal, dtype=float),
                                exp_names, exp_pos)
    beneficiaries, to_members = _beneficiaries(instance, x0, x1, sectors, sector_of_product[p], countries,
                                               exclude_members, top_n)
    return ResultTables(
        exposure=_exposure_table(basket, risk_iso3, risk_name), flows=flows, products=products,
        beneficiaries=beneficiaries, by_sector=_breakdown(products, "sector", totals, risk_iso3),
        by_stage=_breakdown(products, "stage", totals, risk_iso3),
        summary=_summary(instance, allocation, basket, products, risk_iso3, to_members),
        concentration=_concentration(products, top_name, instance, x0, bloc_codes),
        single_country=_single_country(p, np.asarray(instance.pair_exporter, dtype=np.int64),
                                       _safe_div(x0, kusd_to_usd(totals.total_before_kusd)[p]),
                                       _safe_div(x1, kusd_to_usd(totals.total_after_kusd)[p]),
                                       instance.n_products, totals.risk_codes, risk_iso3),
        binding=binding, risk_iso3=[str(s) for s in risk_iso3])


def _products_table(instance: Instance, allocation: Allocation, prod: pd.DataFrame, totals, countries):
    """One row per product (totals, risk shares, HHIs by ``exposure.hhi_of_sums``, top suppliers, caps) and
    the name of each product's top supplier before."""
    n_prod = instance.n_products
    p = np.asarray(instance.pair_product, dtype=np.int64)
    exp_code = np.asarray(instance.pair_exporter, dtype=np.int64)
    alt = ~np.asarray(instance.is_risk, dtype=bool)
    x0 = kusd_to_usd(np.asarray(instance.x0_kusd, dtype=float))
    x1 = kusd_to_usd(np.asarray(allocation.x_after_kusd, dtype=float))
    cap = kusd_to_usd(np.asarray(instance.cap_kusd, dtype=float))
    upper = kusd_to_usd(np.asarray(instance.upper_kusd, dtype=float))
    shortfall = (kusd_to_usd(np.asarray(allocation.shortfall_kusd, dtype=float))
                 if allocation.shortfall_kusd is not None else np.zeros(n_prod))
    tot0, tot1 = kusd_to_usd(totals.total_before_kusd), kusd_to_usd(totals.total_after_kusd)
    risk0 = kusd_to_usd(totals.risk_before_kusd.sum(axis=1))
    risk1 = kusd_to_usd(totals.risk_after_kusd.sum(axis=1))

    def psum(v):
        return np.bincount(p, weights=v, minlength=n_prod)

    # headroom of alternatives: cap, lowered by the upper bound (share limits); 0 for pairs that may not grow
    headroom = np.where(alt & (cap > 0), np.clip(np.minimum(upper, x0 + cap) - x0, 0.0, None), 0.0)
    at_cap = alt & (cap > 0) & (x1 >= np.minimum(upper, x0 + cap) - 1e-7 * np.maximum(1.0, upper))
    # under an export ban only the banned products may move; the others are frozen at today's flows by design
    frozen = np.zeros(n_prod, dtype=bool) if instance.shortfall_allowed is None else ~instance.shortfall_allowed
    top0, topv0 = _top_supplier(p, exp_code, x0, n_prod)
    top1, topv1 = _top_supplier(p, exp_code, x1, n_prod)
    top0_iso, top0_name = country_labels(np.maximum(top0, 0), countries)
    top1_iso, _ = country_labels(np.maximum(top1, 0), countries)
    products = prod.assign(
        total_usd=tot0, total_after_usd=tot1,
        risk_share_before=_safe_div(risk0, tot0), risk_share_after=_safe_div(risk1, tot1),
        hhi_before=hhi_of_sums(totals.sumsq_before, totals.total_before_kusd),
        hhi_after=hhi_of_sums(totals.sumsq_after, totals.total_after_kusd),
        top_supplier_before=np.where(top0 >= 0, top0_iso, ""), top_share_before=_safe_div(topv0, tot0),
        top_supplier_after=np.where(top1 >= 0, top1_iso, ""), top_share_after=_safe_div(topv1, tot1),
        cap_binds=psum(at_cap.astype(float)) > 0, unfixable=(risk0 > 0) & (psum(headroom) <= _TOL) & ~frozen,
        frozen=frozen, risk_before_usd=risk0, residual_risk_usd=risk1, shortfall_usd=shortfall,
        shifted_usd=kusd_to_usd(totals.shifted_kusd), note=_product_notes(instance, allocation, shortfall, frozen))
    return products, np.where(top0 >= 0, top0_name, "")


def _dense_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(codes, return_inverse=True)`` of integer codes, by counting when they are non-negative."""
    if codes.shape[0] == 0 or codes.min() < 0:
        return np.unique(codes, return_inverse=True)
    inverse, distinct = dense_index(codes, int(codes.max()) + 1)
    return distinct, inverse


def flows_table(instance: Instance, x0, x1, countries):
    """One row per pair (USD), with the exporters' names and each pair's position among them."""
    exp_code = np.asarray(instance.pair_exporter, dtype=np.int64)
    exporters, exp_pos = _dense_codes(exp_code)  # labels per exporter, not per pair
    exp_iso3, exp_names = country_labels(exporters, countries)
    flows = pd.DataFrame({
        "k": take_text(instance.products.astype(str), np.asarray(instance.pair_product, dtype=np.int64)),
        "exporter": take_text(exp_iso3.astype(str), exp_pos), "exporter_code": exp_code,
        "before_usd": x0, "after_usd": x1, "cap_usd": kusd_to_usd(np.asarray(instance.cap_kusd, dtype=float)),
        "is_risk": np.asarray(instance.is_risk, dtype=bool), "change_usd": x1 - x0,
    })
    return flows, exp_names, exp_pos


def _exposure_table(m: CellMetrics, risk_iso3, risk_name) -> pd.DataFrame:
    """Per risk country and all risk (``ALL``): before/after USD and shares of the basket."""
    exposure = pd.DataFrame({
        "iso3": np.append(risk_iso3.astype(str), ALL_RISK),
        "name": np.append(risk_name.astype(str), "All risk countries"),
        "baci_code": np.append(np.asarray(m.risk_codes, dtype=np.int64), -1),
        "before_usd": m.risk_before_usd[0], "after_usd": m.risk_after_usd[0],
        "share_before": m.share_before[0], "share_after": m.share_after[0],
    })
    exposure["change_pp"] = (exposure["share_after"] - exposure["share_before"]) * 100.0
    return exposure


def _beneficiaries(instance: Instance, x0, x1, sectors, sector_of_pair, countries, exclude_members: bool,
                   top_n: int) -> tuple[pd.DataFrame, float]:
    """The exporters gaining most (not risk countries; bloc members marked, left out when ``exclude_members``),
    and the imports shifted to the bloc's members (USD). ``sector_of_pair``: positions in ``sectors`` (sorted)."""
    exp_code = np.asarray(instance.pair_exporter, dtype=np.int64)
    basket0, basket1 = float(x0.sum()), float(x1.sum())
    bloc = np.asarray(sorted(bloc_members(instance)), dtype=np.int64)
    ex = pd.DataFrame({"code": exp_code, "before": x0, "after": x1, "change": x1 - x0})
    per_exp = ex.groupby("code", sort=True)[["before", "after", "change"]].sum()
    key = exp_code * sectors.shape[0] + sector_of_pair  # one integer per (code, sector position), in their order
    sec = ex["change"].groupby(key, sort=True).sum()
    sec = pd.DataFrame({"code": sec.index // sectors.shape[0], "sector": sec.index % sectors.shape[0],
                        "change": sec.to_numpy()})
    sec = sec.sort_values(["code", "change", "sector"], ascending=[True, False, True]).drop_duplicates("code")
    main = pd.Series(sectors[sec["sector"].to_numpy()].astype(object), index=sec["code"].to_numpy())
    per_exp["main_sector"] = main.reindex(per_exp.index)
    left_out = [int(c) for c in instance.risk_codes] + (bloc.tolist() if exclude_members else [])
    keep = (per_exp["change"] > _TOL * max(1.0, basket0)) & ~per_exp.index.isin(left_out)
    ben = per_exp[keep].reset_index().sort_values(["change", "code"], ascending=[False, True]).head(top_n)
    b_iso, b_name = country_labels(ben["code"].to_numpy(), countries)
    gain = np.where(np.asarray(instance.is_risk, dtype=bool), 0.0, np.maximum(x1 - x0, 0.0))
    return pd.DataFrame({
        "rank": np.arange(1, len(ben) + 1), "exporter": b_iso.astype(str), "name": b_name.astype(str),
        "exporter_code": ben["code"].to_numpy(dtype=np.int64), "increase_usd": ben["change"].to_numpy(),
        "bloc_member": np.isin(ben["code"].to_numpy(dtype=np.int64), bloc),
        "main_sector": ben["main_sector"].astype(str).to_numpy(),
        "share_before": _safe_div(ben["before"].to_numpy(), basket0),
        "share_after": _safe_div(ben["after"].to_numpy(), basket1),
    }), float(gain[np.isin(exp_code, bloc)].sum())


def _concentration(products: pd.DataFrame, top_name, instance: Instance, x0, bloc_codes) -> pd.DataFrame:
    """Table 2: products ranked by HHI before, with the top supplier and the share from outside the bloc."""
    concentration = pd.DataFrame({
        "k": products["k"], "description": products["description"], "sector": products["sector"],
        "top_supplier": products["top_supplier_before"], "top_supplier_name": top_name,
        "top_share": products["top_share_before"], "hhi": products["hhi_before"], "hhi_after": products["hhi_after"],
        "total_usd": products["total_usd"],
    })
    if bloc_codes:
        outside = ~np.isin(np.asarray(instance.pair_exporter, dtype=np.int64),
                           np.asarray(list(bloc_codes), dtype=np.int64))
        out0 = np.bincount(instance.pair_product, weights=np.where(outside, x0, 0.0), minlength=instance.n_products)
        concentration["extra_bloc_share"] = _safe_div(out0, products["total_usd"].to_numpy())
    concentration = concentration.sort_values(["hhi", "k"], ascending=[False, True], na_position="last")
    concentration = concentration.reset_index(drop=True)
    concentration.insert(0, "rank", np.arange(1, len(concentration) + 1))
    return concentration


def _summary(instance: Instance, allocation: Allocation, m: CellMetrics, products: pd.DataFrame, risk_iso3,
             to_members: float) -> dict:
    """The run's totals (USD), shares and HHIs from the basket metrics, and product counts."""
    shifted, frozen = float(m.shifted_usd[0]), products["frozen"].to_numpy(dtype=bool)
    summary = {
        "importer": instance.importer, "year": int(instance.year), "risk_iso3": [str(s) for s in risk_iso3],
        "total_usd": float(m.basket_before_usd[0]), "total_after_usd": float(m.basket_after_usd[0]),
        "risk_before_usd": float(m.risk_before_usd[0, -1]), "risk_after_usd": float(m.risk_after_usd[0, -1]),
        "risk_share_before": float(m.share_before[0, -1]), "risk_share_after": float(m.share_after[0, -1]),
        "shifted_usd": shifted, "shortfall_usd": float(products["shortfall_usd"].sum()),
        "shifted_to_members_usd": to_members, "shifted_to_non_members_usd": shifted - to_members,
        "n_bloc_members": len(bloc_members(instance)),
        "hhi_before": float(m.hhi_before[0]), "hhi_after": float(m.hhi_after[0]),
        "n_products": int(instance.n_products), "n_pairs": int(instance.n_pairs),
        "n_unfixable": int(products["unfixable"].sum()), "n_cap_binds": int(products["cap_binds"].sum()),
        "n_hhi_rises": int((products["hhi_after"].to_numpy() > products["hhi_before"].to_numpy() + 1e-12).sum()),
        "status": getattr(allocation.status, "value", str(allocation.status)),
    }
    if "banned_kusd" in (instance.meta or {}):  # isolated export ban: banned imports = replaced + shortfall
        summary["banned_usd"] = float(kusd_to_usd(instance.meta["banned_kusd"]))
        summary["replaced_usd"] = shifted
        summary["banned_products"] = [str(k) for k in np.asarray(instance.products)[~frozen]]
        summary["n_frozen"] = int(frozen.sum())
    return summary


def _breakdown(products: pd.DataFrame, key: str, totals, risk_iso3) -> pd.DataFrame:
    """Per group of ``key``: totals, risk shares (all and per risk country), weighted HHI, counts
    (``exposure.cell_metrics`` with the products grouped)."""
    names, group = np.unique(products[key].to_numpy().astype(str), return_inverse=True)
    m = cell_metrics(totals, product_group=group, n_groups=names.shape[0])
    out = pd.DataFrame({key: names, "total_usd": m.basket_before_usd,
                        "risk_share_before": m.share_before[:, -1], "risk_share_after": m.share_after[:, -1]})
    for r, iso in enumerate(risk_iso3):
        out[f"share_before_{iso}"] = m.share_before[:, r]
        out[f"share_after_{iso}"] = m.share_after[:, r]
    out["hhi_before"], out["hhi_after"] = m.hhi_before, m.hhi_after
    out["shifted_usd"] = m.shifted_usd
    out["n_products"] = m.n_products
    for col, flag in (("n_unfixable", "unfixable"), ("n_cap_binds", "cap_binds")):
        out[col] = np.bincount(group, weights=products[flag].to_numpy(float), minlength=len(names)).astype(np.int64)
    rank = {s: i for i, s in enumerate(STAGE_ORDER)}
    groups = out[key]
    order = pd.DataFrame({
        "chain": groups.map(rank).fillna(len(rank)) if key == "stage" else 0,
        "unclassified": groups == UNCLASSIFIED, "name": groups,
    })
    idx = order.sort_values(["chain", "unclassified", "name"], kind="stable").index
    return out.loc[idx].reset_index(drop=True)


def _single_country(p, exp_code, s0, s1, n_prod, risk_codes, risk_iso3) -> pd.DataFrame:
    """Counts of products where one supplier (any, or each risk country) has > threshold of imports."""
    max0 = np.zeros(n_prod)
    max1 = np.zeros(n_prod)
    np.maximum.at(max0, p, np.nan_to_num(s0))
    np.maximum.at(max1, p, np.nan_to_num(s1))
    suppliers = [("any", max0, max1)]
    for c, iso in zip(risk_codes, risk_iso3, strict=True):
        m = exp_code == c
        suppliers.append((str(iso), np.bincount(p[m], weights=np.nan_to_num(s0[m]), minlength=n_prod),
                          np.bincount(p[m], weights=np.nan_to_num(s1[m]), minlength=n_prod)))
    rows = [
        {"threshold": t, "supplier": name, "n_before": int((a > t).sum()), "n_after": int((b > t).sum())}
        for t in SINGLE_COUNTRY_THRESHOLDS for name, a, b in suppliers
    ]
    return pd.DataFrame(rows, columns=["threshold", "supplier", "n_before", "n_after"])
