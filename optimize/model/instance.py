"""One importer's re-allocation problem as flat arrays (no pandas downstream).

An ``Instance`` lists every (product, exporter) *pair* that may carry imports of
the importer (set) J: pairs trading with J today, and pairs whose exporter sells
the product elsewhere (existing capacity) and may become a supplier. Pairs are
sorted by (product code, exporter code), so results never depend on input row
order. All values are thousands of USD (kUSD), as in BACI.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimize.config.caps import PP_FIX, pp_problem
from optimize.config.resolve import check_risk_roles
from optimize.data.frame import dense_index, hs6_index, take_text
from optimize.errors import ScenarioError
from optimize.vocab import CAP_BASES, DEFAULT_CAP_BASIS

INTRA_BLOC = ("include", "exclude")


@dataclass(frozen=True)
class CapRule:
    """Extra supply an alternative exporter may add, in percentage points.

    ``basis``: "world-exports" (default; p% of e's exports of k to all
    destinations), "importer-market" (p% of J's total imports of k) or
    "rest-of-world" (p% of e's exports of k outside J). In every basis the extra
    is also limited to e's exports of k outside J (no production increase).
    Overrides: per exporter (BACI code -> pp) and per product (hs6 -> pp); a
    product override wins over an exporter override.
    """

    pp: float = 5.0
    basis: str = DEFAULT_CAP_BASIS
    exporter_pp: dict[int, float] = field(default_factory=dict)
    product_pp: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Instance:
    """Arrays of one importer (set) for one year. N pairs, P products.

    Pairs are sorted by (product, exporter). ``pair_product`` indexes
    ``products``; ``pair_exporter`` holds BACI exporter codes.
    """

    importer: str  # label, e.g. "EU27" or "NLD"
    importer_codes: tuple[int, ...]  # BACI codes summed into the importer
    year: int
    risk_codes: tuple[int, ...]  # BACI codes of the risk countries
    products: np.ndarray  # (P,) str, HS6 codes, sorted
    total_kusd: np.ndarray  # (P,) J's imports of each product today (kept fixed)
    pair_product: np.ndarray  # (N,) int32 index into products
    pair_exporter: np.ndarray  # (N,) int32 BACI exporter code
    x0_kusd: np.ndarray  # (N,) imports today
    cap_kusd: np.ndarray  # (N,) extra supply allowed (0 for risk pairs)
    # (N,) upper bound of x after (x0 for risk, x0+cap for alternatives; lower under bans/share limits)
    upper_kusd: np.ndarray
    is_risk: np.ndarray  # (N,) bool
    risk_weight: np.ndarray  # (N,) objective weight w[r] (0 for alternatives)
    world_exports_kusd: np.ndarray  # (N,) e's exports of k to every destination
    row_exports_kusd: np.ndarray  # (N,) e's exports of k to destinations outside J
    x0_tonnes: np.ndarray  # (N,) quantity of today's flow, NaN when missing
    world_tonnes: np.ndarray  # (N,) e's world export quantity of k, NaN when unknown
    shortfall_allowed: np.ndarray | None = None  # (P,) bool: product may end short of its total (export bans)
    meta: dict = field(default_factory=dict)
    # Added by build_instance (None when an Instance is made by hand; see the accessors below).
    lower_kusd: np.ndarray | None = None  # (N,) lower bound of x after: 0 for risk pairs, x0 otherwise
    upper_base_kusd: np.ndarray | None = None  # (N,) upper bound without the share limit (bans included)
    # (N,) bool: non-risk pair allowed to grow (a friend when a friend list is given)
    is_alternative: np.ndarray | None = None
    share_infeasible: np.ndarray | None = None  # (P,) bool: the share limit cannot hold for this product

    def lower(self) -> np.ndarray:
        """(N,) lower bounds, kUSD (0 for risk pairs, today's flow for the others)."""
        if self.lower_kusd is not None:
            return self.lower_kusd
        return np.where(self.is_risk, 0.0, self.x0_kusd)

    def alternatives(self) -> np.ndarray:
        """(N,) bool mask of pairs that may grow."""
        if self.is_alternative is not None:
            return self.is_alternative
        return ~self.is_risk

    @property
    def n_pairs(self) -> int:
        return int(self.x0_kusd.shape[0])

    @property
    def n_products(self) -> int:
        return int(self.products.shape[0])


def cap_rule_kusd(p: float | np.ndarray, basis: str, world_kusd, market_kusd, outside_kusd) -> np.ndarray:
    """The cap rule (the one copy): extra supply (kUSD) an alternative exporter e may add for product k.

    ``p``: the cap as a fraction (pp / 100); ``basis`` picks the base: e's exports of k to every
    destination (``world_kusd``), the importer's imports of k (``market_kusd``) or e's exports of k
    outside the importer (``outside_kusd``). The extra never exceeds ``outside_kusd`` (no production
    increase). An exporter that does not sell to the importer has ``outside_kusd = world_kusd``.
    """
    base = {"world-exports": world_kusd, "importer-market": market_kusd, "rest-of-world": outside_kusd}[basis]
    return np.minimum(p * np.asarray(base, dtype=float), outside_kusd)


def members_supply(n_codes: int, intra_bloc: str, self_supply: bool) -> bool:
    """True when members of the importer set may supply it (be alternatives): a bloc (> 1 code) with
    intra-bloc trade included, or self-supply allowed. Else the importer is never its own alternative."""
    return bool(self_supply) or (int(n_codes) > 1 and intra_bloc == "include")


def _check_pp(value: float, field_name: str) -> None:
    problem = pp_problem(value)
    if problem:
        raise ScenarioError(problem, field=field_name, fix=PP_FIX)


def _validate_cap(cap: CapRule, share_limit) -> None:
    """Cap basis, every pp in [0, 100], share limit in (0, 1]."""
    if cap.basis not in CAP_BASES:
        raise ScenarioError(f"unknown cap basis {cap.basis!r}", field="cap.basis",
                            fix=f"use one of {', '.join(CAP_BASES)}")
    _check_pp(cap.pp, "cap.pp")
    for code, pp in cap.exporter_pp.items():
        _check_pp(pp, f"cap.exporter_pp[{code}]")
    for hs6, pp in cap.product_pp.items():
        _check_pp(pp, f"cap.product_pp[{hs6}]")
    if share_limit is not None and not (0.0 < float(share_limit) <= 1.0):
        raise ScenarioError(f"share limit {share_limit} is outside (0, 1]", field="share_limit",
                            fix="give a share such as 0.5")


def _validate_countries(risk_codes, risk_weights, friends, ban) -> None:
    """Risk countries' roles (``resolve.check_risk_roles``: no friend; weights and bans name risk countries);
    weights are positive."""
    check_risk_roles({"risk.countries": risk_codes, "alternatives.friends": friends or (),
                      "risk.weights": tuple(risk_weights or {}), "ban.country": tuple(ban or {})},
                     fields={"alternatives.friends": "friends", "risk.weights": "risk_weights", "ban.country": "ban"})
    for code, w in (risk_weights or {}).items():
        if not (float(w) > 0 and np.isfinite(w)):
            raise ScenarioError(f"risk weight {w} of {code} must be positive", field="risk_weights",
                                fix="use weights > 0")


def _validate(importer_codes, risk_codes, risk_weights, friends, cap: CapRule, share_limit, ban) -> None:
    if len(importer_codes) == 0:
        raise ScenarioError("the importer set is empty", field="importer_codes",
                            fix="name at least one importer country")
    if len(risk_codes) == 0:
        raise ScenarioError("the risk-country set is empty", field="risk_codes", fix="name at least one risk country")
    _validate_cap(cap, share_limit)
    _validate_countries(risk_codes, risk_weights, friends, ban)


def _pair_pp(cap: CapRule, exporter: np.ndarray, hs6: np.ndarray) -> np.ndarray:
    """Percentage points per pair: product override > exporter override > default."""
    pp = np.full(exporter.shape[0], float(cap.pp))
    if cap.exporter_pp:
        ex = pd.Series({int(c): float(v) for c, v in cap.exporter_pp.items()})
        found = pd.Series(exporter).map(ex).to_numpy(dtype=float)
        pp = np.where(np.isnan(found), pp, found)
    if cap.product_pp:
        pr = pd.Series({str(k): float(v) for k, v in cap.product_pp.items()})
        found = pd.Series(hs6).map(pr).to_numpy(dtype=float)
        pp = np.where(np.isnan(found), pp, found)
    return pp


def _apply_ban(ban: dict, exporter, hs6, pair_product, n_prod: int, x0, is_alt, upper_base, cap_kusd, meta: dict):
    """An isolated export ban: banned pairs -> 0; alternatives of banned products may grow; every other pair
    is fixed at today's flow. Returns (shortfall_allowed per product, lower, upper, cap, is_alt)."""
    banned = np.zeros(exporter.shape[0], dtype=bool)
    for code in sorted(ban):
        banned |= (exporter == int(code)) & np.isin(hs6, sorted(str(k) for k in ban[code]))
    shortfall_allowed = np.bincount(pair_product, weights=banned.astype(float), minlength=n_prod) > 0
    grows = is_alt & shortfall_allowed[pair_product]
    lower = np.where(banned, 0.0, x0)
    upper = np.where(banned, 0.0, np.where(grows, upper_base, x0))
    meta["banned_pairs"] = int(banned.sum())
    meta["banned_kusd"] = float(x0[banned].sum())
    return shortfall_allowed, lower, upper, np.where(grows, cap_kusd, 0.0), grows


def _apply_share_limit(share_limit, lower, upper_base, total_kusd, pair_product, shortfall_allowed, prod, meta):
    """Upper bounds lowered to ``share_limit * T`` and the products that cannot meet the limit."""
    n_prod = prod.shape[0]
    if share_limit is None:
        return upper_base, np.zeros(n_prod, dtype=bool)
    limit = float(share_limit) * total_kusd[pair_product]
    upper = np.minimum(upper_base, limit)
    too_high = (lower > upper + 1e-9 * np.maximum(limit, 1.0)).astype(float)
    too_high_lower = np.bincount(pair_product, weights=too_high, minlength=n_prod) > 0
    reach = np.bincount(pair_product, weights=upper, minlength=n_prod)
    short = reach < total_kusd * (1 - 1e-12)
    if shortfall_allowed is not None:
        short &= ~shortfall_allowed
    share_infeasible = too_high_lower | short
    meta["share_infeasible_products"] = sorted(str(k) for k in prod[share_infeasible])
    return upper, share_infeasible


def _in_codes(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``np.isin(values, codes)`` for country codes, by a lookup table when every value is a non-negative int."""
    if values.shape[0] == 0 or values.min() < 0 or (codes.shape[0] and codes.min() < 0):
        return np.isin(values, codes)
    lut = np.zeros(int(max(values.max(), codes.max(initial=0))) + 1, dtype=bool)
    lut[codes] = True
    return lut[values]


def _pair_sums(df: pd.DataFrame, kidx: np.ndarray, hs6: np.ndarray, to_j: np.ndarray,
               counted: np.ndarray) -> pd.DataFrame:
    """One row per (k, i) with flows, sorted by (k, i): the product's position among the sorted codes
    ``hs6`` (``kpos``; ``kidx``: each row's), world exports (kUSD, tonnes), exports into J
    (``into_j_kusd``) and the counted imports of J (``x0_kusd``, ``x0_tonnes``). Tonnes are NaN where no
    flow of the sum has a quantity. Sums by counting over a dense (product, exporter) index."""
    exporter = df["i"].to_numpy(dtype=np.int64)
    m = int(exporter.max(initial=0)) + 1
    inverse, distinct = dense_index(kidx * m + exporter, hs6.shape[0] * m)
    n = distinct.shape[0]
    v = df["v"].to_numpy(dtype=float)
    q = df["q"].to_numpy(dtype=float)
    known_q = ~np.isnan(q)
    has_q = known_q.astype(float)
    q0 = np.where(known_q, q, 0.0)

    def sums(rows):
        """(kUSD, tonnes) per pair over ``rows`` (None: every row)."""
        idx = inverse if rows is None else inverse[rows]

        def total(values):
            return np.bincount(idx, weights=values if rows is None else values[rows], minlength=n)
        return total(v), np.where(total(has_q) > 0, total(q0), np.nan)

    world_kusd, world_tonnes = sums(None)
    x0_kusd, x0_tonnes = sums(counted)
    kpos = distinct // m
    return pd.DataFrame({"k": take_text(hs6, kpos), "kpos": kpos, "i": distinct % m, "world_kusd": world_kusd,
                         "world_tonnes": world_tonnes, "x0_kusd": x0_kusd, "x0_tonnes": x0_tonnes,
                         "into_j_kusd": np.bincount(inverse[to_j], weights=v[to_j], minlength=n)})


def _candidate_pairs(flows: pd.DataFrame, year: int, requested, j_codes: np.ndarray, r_codes: np.ndarray,
                     exclude_intra: bool, member_alt: bool) -> pd.DataFrame:
    """``_pair_sums`` of ``year``'s rows of the ``requested`` products (None: all): every (k, i) with world
    exports, without members of J that may not supply J and do not today."""
    in_year = flows["t"].to_numpy() == year
    df = flows[["i", "j", "k", "v", "q"]] if in_year.all() else flows.loc[in_year, ["i", "j", "k", "v", "q"]]
    kidx, hs6 = hs6_index(df["k"])
    if requested is not None:
        asked = np.isin(hs6, requested)[kidx]  # per distinct code, then per row
        if not asked.all():
            df, kidx = df.loc[asked], kidx[asked]
    to_j = _in_codes(df["j"].to_numpy(), j_codes)
    counted = to_j & ~_in_codes(df["i"].to_numpy(), j_codes) if exclude_intra else to_j
    pairs = _pair_sums(df, kidx, hs6, to_j, counted)
    pairs = pairs.loc[pairs["world_kusd"] > 0]
    if not member_alt:  # members of J that may not supply J and do not today: not pairs at all
        idle_member = pairs["i"].isin(j_codes) & ~pairs["i"].isin(r_codes) & (pairs["x0_kusd"] <= 0)
        pairs = pairs.loc[~idle_member]
    return pairs


def _risk_weight(exporter: np.ndarray, is_risk: np.ndarray, r_codes: np.ndarray, risk_weights) -> np.ndarray:
    """(N,) objective weight per pair: the risk country's weight (default 1), 0 for alternatives."""
    weights = {int(r): 1.0 for r in r_codes}
    weights.update({int(c): float(w) for c, w in (risk_weights or {}).items()})
    return np.where(is_risk, pd.Series(exporter).map(weights).fillna(0.0).to_numpy(dtype=float), 0.0)


def build_instance(
    flows: pd.DataFrame,
    *,
    importer: str,
    importer_codes: Sequence[int],
    year: int,
    products: Sequence[str] | None,
    risk_codes: Sequence[int],
    risk_weights: dict[int, float] | None = None,
    friends: Sequence[int] | None = None,
    cap: CapRule = CapRule(),
    share_limit: float | None = None,
    ban: dict[int, set[str]] | None = None,
    self_supply: bool = False,
    intra_bloc: str = "include",
) -> Instance:
    """Select the flows of importer set J in ``year`` into pair arrays (kUSD).

    Pairs are every (product, exporter) with exports of the product anywhere,
    for products J imports (T > 0). Caps follow ``cap`` (see ``CapRule``); the
    share limit ``s`` lowers every upper bound to ``s * T``.

    Conventions (docs/model.md): ``intra_bloc="exclude"`` drops flows between
    members of J (totals, shares, caps on imports from outside J); members of J
    are alternatives only when J is a bloc (>1 code) with ``intra_bloc="include"``,
    or when ``self_supply`` allows domestic diversion. ``ban`` is an isolated
    shock: banned pairs go to 0, their products may end short
    (``shortfall_allowed``), only alternatives of banned products may grow and
    every other pair is fixed at today's flow.
    """
    _validate(importer_codes, risk_codes, risk_weights, friends, cap, share_limit, ban)
    if intra_bloc not in INTRA_BLOC:
        raise ScenarioError(f"unknown intra-bloc choice {intra_bloc!r}", field="importer.intra_bloc",
                            fix="use \"include\" or \"exclude\"")
    j_codes = np.unique(np.asarray(list(importer_codes), dtype=np.int64))
    r_codes = np.unique(np.asarray(list(risk_codes), dtype=np.int64))
    requested = None if products is None else sorted({str(p) for p in products})
    member_alt = members_supply(j_codes.shape[0], intra_bloc, self_supply)
    pairs = _candidate_pairs(flows, year, requested, j_codes, r_codes, intra_bloc == "exclude", member_alt)
    total = pairs.groupby("k", sort=True)["x0_kusd"].sum()
    present = set(total.index)
    kept = total.index[total.to_numpy() > 0]
    meta: dict = {
        "cap_basis": cap.basis,
        "cap_pp": float(cap.pp),
        "share_limit": share_limit,
        "intra_bloc": intra_bloc,
        "self_supply": bool(self_supply),
        "dropped_products": sorted(str(k) for k in total.index[total.to_numpy() <= 0]),
        "absent_products": [] if requested is None else sorted(set(requested) - present),
    }
    pairs = pairs.loc[pairs["k"].isin(kept)].reset_index(drop=True)  # sorted by (k, i) (``_pair_sums``)
    if pairs.empty:
        raise ScenarioError(f"{importer} imports none of the requested products in {year}", field="products",
                            fix="check the year, the importer codes and the basket against the data")
    prod = np.asarray(kept, dtype=object).astype(str)
    kpos = pairs["kpos"].to_numpy()
    pair_product = np.searchsorted(np.unique(kpos), kpos).astype(np.int32)  # the same order as ``prod``
    exporter = pairs["i"].to_numpy().astype(np.int32)
    hs6 = prod[pair_product]
    x0 = pairs["x0_kusd"].to_numpy(dtype=float)
    world_kusd = pairs["world_kusd"].to_numpy(dtype=float)
    row_kusd = np.maximum(world_kusd - pairs["into_j_kusd"].to_numpy(dtype=float), 0.0)  # exports outside J
    total_kusd = np.bincount(pair_product, weights=x0, minlength=prod.shape[0])

    is_risk = np.isin(exporter, r_codes)
    if friends is None:
        is_alt = ~is_risk
    else:
        is_alt = np.isin(exporter, np.asarray(list(friends), dtype=np.int64)) & ~is_risk
    if not member_alt:
        is_alt &= ~np.isin(exporter, j_codes)  # the importer is never its own alternative
    pp = _pair_pp(cap, exporter, hs6)
    cap_kusd = np.where(is_alt, cap_rule_kusd(pp / 100.0, cap.basis, world_kusd, total_kusd[pair_product],
                                              row_kusd), 0.0)
    lower = np.where(is_risk, 0.0, x0)
    upper_base = x0 + cap_kusd

    risk_weight = _risk_weight(exporter, is_risk, r_codes, risk_weights)

    shortfall_allowed = None
    if ban:
        shortfall_allowed, lower, upper_base, cap_kusd, is_alt = _apply_ban(
            ban, exporter, hs6, pair_product, prod.shape[0], x0, is_alt, upper_base, cap_kusd, meta)

    upper, share_infeasible = _apply_share_limit(share_limit, lower, upper_base, total_kusd, pair_product,
                                                 shortfall_allowed, prod, meta)

    return Instance(
        importer=str(importer),
        importer_codes=tuple(int(c) for c in j_codes),
        year=int(year),
        risk_codes=tuple(int(c) for c in r_codes),
        products=prod,
        total_kusd=total_kusd,
        pair_product=pair_product,
        pair_exporter=exporter,
        x0_kusd=x0,
        cap_kusd=cap_kusd,
        upper_kusd=upper,
        is_risk=is_risk,
        risk_weight=risk_weight,
        world_exports_kusd=world_kusd,
        row_exports_kusd=row_kusd,
        x0_tonnes=pairs["x0_tonnes"].to_numpy(dtype=float),
        world_tonnes=pairs["world_tonnes"].to_numpy(dtype=float),
        shortfall_allowed=shortfall_allowed,
        meta=meta,
        lower_kusd=lower,
        upper_base_kusd=upper_base,
        is_alternative=is_alt,
        share_infeasible=share_infeasible,
    )
