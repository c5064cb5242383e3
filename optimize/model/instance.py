"""One importer's re-allocation problem as flat arrays (no pandas downstream).

An ``Instance`` lists every (product, exporter) *pair* that may carry imports of
the importer (set) J: pairs trading with J today, and pairs whose exporter sells
the product elsewhere (existing capacity) and may become a supplier. Pairs are
sorted by (product code, exporter code), so results never depend on input row
order. All values are thousands of USD (kUSD), as in BACI.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from optimize.config.caps import PP_FIX, pp_problem
from optimize.config.resolve import check_risk_roles
from optimize.errors import ScenarioError
from optimize.model.pairs import Market, Pairs, candidate_pairs, importer_market, in_codes, year_rows
from optimize.model.yeararrays import YearArrays
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


def _validate(importer_codes, risk_codes, risk_weights, friends, cap: CapRule, share_limit, ban, intra_bloc) -> None:
    if len(importer_codes) == 0:
        raise ScenarioError("the importer set is empty", field="importer_codes",
                            fix="name at least one importer country")
    if len(risk_codes) == 0:
        raise ScenarioError("the risk-country set is empty", field="risk_codes", fix="name at least one risk country")
    if intra_bloc not in INTRA_BLOC:
        raise ScenarioError(f"unknown intra-bloc choice {intra_bloc!r}", field="importer.intra_bloc",
                            fix="use \"include\" or \"exclude\"")
    _validate_cap(cap, share_limit)
    _validate_countries(risk_codes, risk_weights, friends, ban)


def _by_code(values: np.ndarray, mapping: dict[int, float]) -> np.ndarray:
    """(N,) ``mapping[value]`` for integer codes (a non-empty dict), NaN where a value is not a key."""
    keys = np.asarray(sorted(int(c) for c in mapping), dtype=np.int64)
    found = np.asarray([float(mapping[int(c)]) for c in keys])
    pos = np.minimum(np.searchsorted(keys, values), keys.shape[0] - 1)
    return np.where(keys[pos] == values, found[pos], np.nan)


@dataclass(frozen=True)
class _Roles:
    """The instance's country sets (sorted BACI codes) and who may supply the importer set J."""

    j_codes: np.ndarray
    r_codes: np.ndarray
    friends: np.ndarray | None  # None: every non-risk exporter may be an alternative
    member_alt: bool  # members of J may supply J (``members_supply``)
    exclude_intra: bool  # flows between members of J are not counted (intra_bloc="exclude")

    @classmethod
    def of(cls, importer_codes, risk_codes, friends, intra_bloc: str, self_supply: bool) -> "_Roles":
        j_codes = np.unique(np.asarray(list(importer_codes), dtype=np.int64))
        return cls(j_codes=j_codes, r_codes=np.unique(np.asarray(list(risk_codes), dtype=np.int64)),
                   friends=None if friends is None else np.asarray(list(friends), dtype=np.int64),
                   member_alt=members_supply(j_codes.shape[0], intra_bloc, self_supply),
                   exclude_intra=intra_bloc == "exclude")

    def alternatives(self, exporter: np.ndarray, is_risk: np.ndarray) -> np.ndarray:
        """(N,) bool: non-risk pairs that may grow (friends only, when given; J itself only if ``member_alt``)."""
        is_alt = ~is_risk if self.friends is None else in_codes(exporter, self.friends) & ~is_risk
        if not self.member_alt:
            is_alt &= ~in_codes(exporter, self.j_codes)  # the importer is never its own alternative
        return is_alt


def _pair_pp(cap: CapRule, exporter: np.ndarray, market: Market) -> np.ndarray:
    """Percentage points per pair: product override > exporter override > default."""
    pp = np.full(exporter.shape[0], float(cap.pp))
    if cap.exporter_pp:
        found = _by_code(exporter, cap.exporter_pp)
        pp = np.where(np.isnan(found), pp, found)
    if cap.product_pp:
        pr = pd.Series({str(k): float(v) for k, v in cap.product_pp.items()})
        found = pd.Series(market.products).map(pr).to_numpy(dtype=float)[market.pair_product]
        pp = np.where(np.isnan(found), pp, found)
    return pp


@dataclass(frozen=True)
class _Bounds:
    """Per pair (kUSD): the extra supply allowed, lower and upper bounds of x after (``upper_base``
    without the share limit), risk and alternative flags; per product: may end short (bans; None
    without) and cannot meet the share limit."""

    cap_kusd: np.ndarray
    lower: np.ndarray
    upper_base: np.ndarray
    upper: np.ndarray
    is_risk: np.ndarray
    is_alt: np.ndarray
    shortfall_allowed: np.ndarray | None = None
    share_infeasible: np.ndarray | None = None


def _bounds(pairs: Pairs, market: Market, roles: _Roles, cap: CapRule) -> _Bounds:
    """Caps (``cap_rule_kusd``) of the alternatives, bounds [0, x0] of risk pairs and [x0, x0 + cap] else."""
    is_risk = in_codes(pairs.exporter, roles.r_codes)
    is_alt = roles.alternatives(pairs.exporter, is_risk)
    pp = _pair_pp(cap, pairs.exporter, market)
    cap_kusd = np.where(is_alt, cap_rule_kusd(pp / 100.0, cap.basis, pairs.world_kusd,
                                              market.total_kusd[market.pair_product], pairs.row_kusd), 0.0)
    upper = pairs.x0_kusd + cap_kusd
    return _Bounds(cap_kusd=cap_kusd, lower=np.where(is_risk, 0.0, pairs.x0_kusd), upper_base=upper, upper=upper,
                   is_risk=is_risk, is_alt=is_alt)


def _apply_ban(ban: dict, pairs: Pairs, market: Market, b: _Bounds, meta: dict) -> _Bounds:
    """An isolated export ban: banned pairs -> 0; alternatives of banned products may grow; every other
    pair is fixed at today's flow."""
    x0, p = pairs.x0_kusd, market.pair_product
    banned = np.zeros(x0.shape[0], dtype=bool)
    for code in sorted(ban):
        banned_k = np.isin(market.products, sorted(str(k) for k in ban[code]))
        banned |= (pairs.exporter == int(code)) & banned_k[p]
    shortfall_allowed = np.bincount(p, weights=banned.astype(float), minlength=market.products.shape[0]) > 0
    grows = b.is_alt & shortfall_allowed[p]
    meta["banned_pairs"] = int(banned.sum())
    meta["banned_kusd"] = float(x0[banned].sum())
    upper = np.where(banned, 0.0, np.where(grows, b.upper_base, x0))
    return replace(b, lower=np.where(banned, 0.0, x0), upper_base=upper, upper=upper,
                   cap_kusd=np.where(grows, b.cap_kusd, 0.0), is_alt=grows, shortfall_allowed=shortfall_allowed)


def _apply_share_limit(share_limit: float | None, market: Market, b: _Bounds, meta: dict) -> _Bounds:
    """Upper bounds lowered to ``share_limit * T`` and the products that cannot meet the limit."""
    n_prod, p = market.products.shape[0], market.pair_product
    if share_limit is None:
        return replace(b, share_infeasible=np.zeros(n_prod, dtype=bool))
    limit = float(share_limit) * market.total_kusd[p]
    upper = np.minimum(b.upper_base, limit)
    too_high = (b.lower > upper + 1e-9 * np.maximum(limit, 1.0)).astype(float)
    too_high_lower = np.bincount(p, weights=too_high, minlength=n_prod) > 0
    short = np.bincount(p, weights=upper, minlength=n_prod) < market.total_kusd * (1 - 1e-12)
    if b.shortfall_allowed is not None:
        short &= ~b.shortfall_allowed
    share_infeasible = too_high_lower | short
    meta["share_infeasible_products"] = sorted(str(k) for k in market.products[share_infeasible])
    return replace(b, upper=upper, share_infeasible=share_infeasible)


def _risk_weight(exporter: np.ndarray, is_risk: np.ndarray, r_codes: np.ndarray, risk_weights) -> np.ndarray:
    """(N,) objective weight per pair: the risk country's weight (default 1), 0 for alternatives."""
    weights = {int(r): 1.0 for r in r_codes}
    weights.update({int(c): float(w) for c, w in (risk_weights or {}).items()})
    return np.where(is_risk, np.nan_to_num(_by_code(exporter, weights), nan=0.0), 0.0)


def _instance(label: str, year: int, roles: _Roles, pairs: Pairs, market: Market, b: _Bounds,
              risk_weights, meta: dict) -> Instance:
    """The ``Instance`` of the built pieces."""
    return Instance(
        importer=str(label), importer_codes=tuple(int(c) for c in roles.j_codes), year=int(year),
        risk_codes=tuple(int(c) for c in roles.r_codes), products=market.products, total_kusd=market.total_kusd,
        pair_product=market.pair_product, pair_exporter=pairs.exporter.astype(np.int32), x0_kusd=pairs.x0_kusd,
        cap_kusd=b.cap_kusd, upper_kusd=b.upper, is_risk=b.is_risk,
        risk_weight=_risk_weight(pairs.exporter, b.is_risk, roles.r_codes, risk_weights),
        world_exports_kusd=pairs.world_kusd, row_exports_kusd=pairs.row_kusd, x0_tonnes=pairs.x0_tonnes,
        world_tonnes=pairs.world_tonnes, shortfall_allowed=b.shortfall_allowed, meta=meta, lower_kusd=b.lower,
        upper_base_kusd=b.upper_base, is_alternative=b.is_alt, share_infeasible=b.share_infeasible)


def build_instance(
    flows: pd.DataFrame | YearArrays,
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

    ``flows``: BACI rows [t, i, j, k, v, q], or ``year``'s rows as ``yeararrays.YearArrays`` (the HS6
    index built once per year: ``Prepared.arrays``). Pairs are every (product, exporter) with
    exports of the product anywhere, for products J imports (T > 0). Caps follow ``cap`` (see
    ``CapRule``); the share limit ``s`` lowers every upper bound to ``s * T``.

    Conventions (docs/model.md): ``intra_bloc="exclude"`` drops flows between
    members of J (totals, shares, caps on imports from outside J); members of J
    are alternatives only when J is a bloc (>1 code) with ``intra_bloc="include"``,
    or when ``self_supply`` allows domestic diversion. ``ban`` is an isolated
    shock: banned pairs go to 0, their products may end short
    (``shortfall_allowed``), only alternatives of banned products may grow and
    every other pair is fixed at today's flow.
    """
    _validate(importer_codes, risk_codes, risk_weights, friends, cap, share_limit, ban, intra_bloc)
    roles = _Roles.of(importer_codes, risk_codes, friends, intra_bloc, self_supply)
    requested = None if products is None else sorted({str(p) for p in products})
    meta: dict = {"cap_basis": cap.basis, "cap_pp": float(cap.pp), "share_limit": share_limit,
                  "intra_bloc": intra_bloc, "self_supply": bool(self_supply)}
    rows = year_rows(flows, year)
    found = candidate_pairs(rows, requested, roles.j_codes, roles.r_codes, roles.exclude_intra, roles.member_alt)
    pairs, market = importer_market(found, rows.hs6, requested, meta)
    if pairs.kpos.shape[0] == 0:
        raise ScenarioError(f"{importer} imports none of the requested products in {year}", field="products",
                            fix="check the year, the importer codes and the basket against the data")
    bounds = _bounds(pairs, market, roles, cap)
    if ban:
        bounds = _apply_ban(ban, pairs, market, bounds, meta)
    bounds = _apply_share_limit(share_limit, market, bounds, meta)
    return _instance(importer, year, roles, pairs, market, bounds, risk_weights, meta)


def spec_instance(rows: YearArrays, spec, year: int, products: Sequence[str] | None) -> Instance:
    """``build_instance`` of ``year``'s rows with the settings of a resolved ``config.resolve.ModelSpec``."""
    cap = CapRule(pp=spec.cap_pp, basis=spec.cap_basis, exporter_pp=dict(spec.exporter_pp),
                  product_pp=dict(spec.product_pp))
    return build_instance(
        rows, importer=spec.importer_label, importer_codes=spec.importer_codes, year=year,
        products=None if products is None else list(products), risk_codes=spec.risk_codes,
        risk_weights=dict(spec.risk_weights) or None, friends=list(spec.friends) or None, cap=cap,
        share_limit=spec.share_limit, ban={c: set(p) for c, p in spec.ban.items()} or None,
        self_supply=spec.self_supply, intra_bloc=spec.intra_bloc)
