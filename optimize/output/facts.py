"""``RunFacts``: what one run assumed and produced besides its tables (every output states it).

A frozen dataclass with one typed field per fact; it also reads as a mapping
(``facts["year"]``, ``facts.get("synthetic")``, ``dict(facts)``) for the writers that
put the facts into summary.json, the manifest and figure captions. Built once per run
by ``runs.facts.run_facts``; unknown names are an error at construction, not a silent
``.get`` fallback.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True, eq=False)
class RunFacts(Mapping):
    """The facts of one solved cell. Codes are BACI codes; caps in pp (0..100), shares 0..1."""

    scenario: str
    description: str
    scenario_resolved: dict  # every scenario key, defaults filled
    scenario_toml: str
    data_label: str
    data_source: str
    synthetic: bool
    synthetic_label: str
    hs_revision: str | None
    hs_revision_source: str
    release: str | None
    year: int
    year_source: str
    importer: str
    importer_codes: list[int]
    importer_iso3: list[str]
    risk_codes: list[int]
    risk_iso3: list[str]
    friends_iso3: list[str]
    cap_pp: float
    cap_basis: str
    share_limit: float
    backend: str
    solver: dict  # ``solve.status.SolverInfo`` as a dict
    status: str
    n_products: int
    intra_bloc: str
    self_supply: bool
    code_conversions: list[dict] = field(default_factory=list)
    infeasible_products: list[str] = field(default_factory=list)
    versions: dict = field(default_factory=dict)
    input_hashes: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        if key not in _NAMES:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(_NAMES)

    def __len__(self) -> int:
        return len(_NAMES)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self) == dict(other)

    __hash__ = None  # a mapping of lists: not hashable


_NAMES = tuple(f.name for f in fields(RunFacts))
