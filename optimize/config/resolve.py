"""Resolve a scenario once: every country name to BACI codes, every rule to plain values.

``resolve(scenario) -> ModelSpec`` is the one place where country tokens of a
scenario become codes and where cross-field rules are checked (a risk country is
no friend; weights, priority and a ban name risk countries). Instance building,
engine options and report metadata all read the ``ModelSpec``; nothing resolves a
scenario's countries again. The spec is cached on the scenario object (a
``Scenario`` is never changed in place: ``Scenario.update`` returns a copy).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from optimize.errors import InputError, ScenarioError

_FIX = "use ISO3 codes (CHN), BACI codes (156), English names or groups (EU27, G7+allies)"


@dataclass(frozen=True)
class Features:
    """What a cell's model asks of a backend, computed once from its spec (``features_of``).

    Backends declare what they support against these (``optimize.model.kernel``); planners
    choose a backend by them and never test scenario keys themselves.
    """

    coupled: bool  # exporter totals: an exporter's extra is limited across products (not separable)
    ban: bool  # an isolated export ban (products may end short)
    share_limit: bool  # every supplier's share <= cap.share_limit
    friends: bool  # only listed friends may grow
    risk_weights: bool  # risk countries weighted unequally
    cap_overrides: bool  # per-exporter or per-product caps
    self_supply: bool  # the importer may divert its own exports to itself
    intra_bloc_excluded: bool  # trade between members of the importer set is left out
    spread: str  # "proportional" | "min-hhi" | "vertex"
    risk_split: str  # "proportional" | "priority" | "weights"
    backend: str  # "highs" | "pyomo"


def features_of(spec: "ModelSpec") -> Features:
    """The ``Features`` of a resolved spec."""
    return solver_features(
        backend=spec.backend, spread=spec.spread, risk_split=spec.risk_split,
        exporter_total_pp=spec.exporter_total_pp, ban=bool(spec.ban), share_limit=spec.share_limit is not None,
        friends=bool(spec.friends), risk_weights=bool(spec.risk_weights),
        cap_overrides=bool(spec.exporter_pp) or bool(spec.product_pp), self_supply=bool(spec.self_supply),
        intra_bloc_excluded=spec.intra_bloc == "exclude")


def solver_features(*, backend: str, spread: str, risk_split: str, exporter_total_pp: float | None,
                    **model_flags: bool) -> Features:
    """``Features`` from the solver's settings (engine options) plus the model's flags (default off)."""
    flags = dict.fromkeys(("ban", "share_limit", "friends", "risk_weights", "cap_overrides", "self_supply",
                           "intra_bloc_excluded"), False)
    flags.update(model_flags)
    return Features(coupled=exporter_total_pp is not None, spread=spread, risk_split=risk_split, backend=backend,
                    **flags)


@dataclass(frozen=True)
class ModelSpec:
    """Everything a cell needs from its scenario, resolved. Countries are BACI codes, caps in pp (0..100)."""

    importer_label: str
    importer_codes: tuple[int, ...]
    risk_codes: tuple[int, ...]
    risk_weights: Mapping[int, float]  # BACI code -> weight (explicit codes win over groups); empty = all 1
    priority: tuple[int, ...]  # cut first -> last
    friends: tuple[int, ...]  # empty = any non-risk exporter
    cap_pp: float
    cap_basis: str
    exporter_pp: Mapping[int, float]  # BACI code -> pp
    product_pp: Mapping[str, float]  # HS6 -> pp
    share_limit: float | None  # 0..1, None = off
    exporter_total_pp: float | None  # None = off
    ban: Mapping[int, frozenset[str]]  # BACI code -> banned HS6 codes
    risk_split: str
    spread: str
    backend: str
    algorithm: str
    time_limit_s: float | None
    keep_going: bool
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # dotted key -> the user's tokens
    intra_bloc: str = "include"  # "include" | "exclude": trade between members of the importer set
    self_supply: bool = False  # the importer may divert its own exports to itself
    prior_lambda: float = 0.1  # cost.prior_lambda: new-supplier prior (min-cost spread and CES cost)

    #: what this cell asks of a backend, computed once when the spec is made
    features: Features = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", features_of(self))


def _codes(tokens, key: str, file: str) -> tuple[int, ...]:
    """Sorted unique BACI codes of ``tokens``; an unknown name is a ScenarioError naming ``key``."""
    from optimize.data.countries import resolve_countries

    if not tokens:
        return ()
    try:
        return tuple(sorted({int(c) for c in resolve_countries(list(tokens))}))
    except (InputError, ValueError, KeyError, LookupError) as exc:
        raise ScenarioError(str(getattr(exc, "message", exc)), file=file, field=key,
                            fix=getattr(exc, "fix", None) or _FIX) from None


def _codes_by_key(values: Mapping[str, float], key: str, file: str) -> dict[int, float]:
    """``{"CHN": 2.0, "EU27": 1.0}`` -> ``{156: 2.0, <each EU code>: 1.0}``; explicit codes win over groups."""
    resolved = {token: _codes([token], key, file) for token in values}
    out: dict[int, float] = {}
    for token in sorted(values, key=lambda t: (len(resolved[t]), t), reverse=True):
        for code in resolved[token]:
            out[code] = float(values[token])
    return out


def _iso3(codes) -> str:
    """'USA, JPN' for BACI codes (unknown codes as '?<code>')."""
    from optimize.data.countries import to_iso3

    return ", ".join(to_iso3(sorted(codes)))


def check_risk_roles(lists: Mapping[str, object], file: str | None = None,
                     fields: Mapping[str, str] | None = None) -> None:
    """The one copy of the rules on risk countries' roles (BACI codes by scenario key): a risk country is no
    friend (``alternatives.friends``); weights, a priority order and a ban name risk countries only. An
    error names the scenario key, or ``fields[key]`` (a function's argument) when given."""
    named = dict(fields or {})
    risk = {int(c) for c in lists["risk.countries"]}
    both = risk & {int(c) for c in lists.get("alternatives.friends", ())}
    if both:
        raise ScenarioError(f"risk countries also listed as friends: {_iso3(both)}", file=file,
                            field=named.get("alternatives.friends", "alternatives.friends"),
                            fix="remove them from alternatives.friends or from risk.countries")
    for key in ("risk.weights", "risk.priority", "ban.country"):
        extra = sorted({int(c) for c in lists.get(key, ())} - risk)
        if extra:
            raise ScenarioError(f"names countries that are not risk countries: {_iso3(extra)}", file=file,
                                field=named.get(key, key), fix="add them to risk.countries or remove them here")


def _priority(tokens, file: str) -> tuple[int, ...]:
    """Priority order kept as written (first cut first), groups expanded in place."""
    from optimize.data.countries import resolve_countries

    try:
        return tuple(int(c) for c in resolve_countries(list(tokens))) if tokens else ()
    except (InputError, ValueError, KeyError, LookupError) as exc:
        raise ScenarioError(str(getattr(exc, "message", exc)), file=file, field="risk.priority",
                            fix=getattr(exc, "fix", None) or _FIX) from None


def _importer_label(tokens, codes) -> str:
    """The importer as outputs name it: a group as written (EU27), else the members' ISO3 codes joined by '+'
    (``Korea, Rep.`` -> KOR, ``de,fr`` -> DEU+FRA)."""
    from optimize.data.countries import group_names, to_iso3

    groups = {g.upper() for g in group_names()}
    if any(str(t).strip().upper() in groups for t in tokens):
        return "+".join(tokens)
    return "+".join(str(s) for s in to_iso3(list(codes)))


def _build(scen: Any, file: str, known: Mapping[str, tuple[int, ...]]) -> ModelSpec:
    tokens = {"importer.countries": scen.importer.countries, "risk.countries": scen.risk.countries,
              "alternatives.friends": scen.alternatives.friends,
              "ban.country": [scen.ban.country] if scen.ban.country else []}
    lists = {key: tuple(sorted({int(c) for c in known[key]})) if key in known else _codes(toks, key, file)
             for key, toks in tokens.items()}
    weights = _codes_by_key(scen.risk.weights, "risk.weights", file)
    priority = _priority(scen.risk.priority, file)
    check_risk_roles({**lists, "risk.weights": tuple(weights), "risk.priority": priority}, file)
    ban = {c: frozenset(scen.ban.products) for c in lists["ban.country"]}
    return ModelSpec(
        importer_label=scen.importer.label or _importer_label(scen.importer.countries, lists["importer.countries"]),
        importer_codes=lists["importer.countries"],
        risk_codes=lists["risk.countries"],
        risk_weights=MappingProxyType(weights),
        priority=priority,
        friends=lists["alternatives.friends"],
        cap_pp=float(scen.cap.pp),
        cap_basis=scen.cap.basis,
        exporter_pp=MappingProxyType(_codes_by_key(scen.cap.exporter_pp, "cap.exporter_pp", file)),
        product_pp=MappingProxyType({str(k): float(v) for k, v in scen.cap.product_pp.items()}),
        share_limit=scen.cap.share_limit or None,
        exporter_total_pp=scen.cap.exporter_total_pp or None,
        ban=MappingProxyType(ban),
        risk_split=scen.risk.split,
        spread=scen.alternatives.spread,
        prior_lambda=float(scen.cost.prior_lambda),
        backend=scen.solver.backend,
        algorithm=scen.solver.algorithm,
        time_limit_s=scen.solver.time_limit_s or None,
        keep_going=scen.solver.keep_going,
        intra_bloc=scen.importer.intra_bloc,
        self_supply=scen.alternatives.self_supply,
        labels=MappingProxyType({"importer.countries": tuple(scen.importer.countries),
                                 "risk.countries": tuple(scen.risk.countries),
                                 "alternatives.friends": tuple(scen.alternatives.friends)}),
    )


def resolve(scen: Any, *, file: str | None = None, known: Mapping[str, tuple[int, ...]] | None = None) -> ModelSpec:
    """The scenario's ``ModelSpec``, computed on first use, then cached on the scenario object.

    ``scen`` is an ``optimize.config.scenario.Scenario`` (not imported here: that module calls this one).
    ``known``: BACI codes of some country keys (``importer.countries``, ``risk.countries``, ...) resolved
    already from the same tokens (a batch grid's cell), taken instead of resolving those tokens again.
    """
    if scen._spec is None:
        scen._spec = _build(scen, file or scen.name, known or {})
    return scen._spec
