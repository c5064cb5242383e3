"""Named optimisation steps: build the LP, solve it, break ties deterministically.

CONTRACT (implemented by the engine work): ``reallocate(instances, options)``
returns one ``Allocation`` per instance, in the same order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optimize.instance import Instance
from optimize.solve.status import SolverInfo, Status


@dataclass(frozen=True)
class EngineOptions:
    """How to solve and how to choose among the many exposure-optimal solutions.

    risk_split: "proportional" (default; every risk supplier of a product cut by
    the same fraction), "priority" (``priority`` order, first cut first) or
    "weights" (highest risk weight cut first).
    spread: "proportional" (default; every alternative uses the same fraction of
    its cap), "min-hhi" (water-filling, minimum HHI per product) or "vertex"
    (the plain LP solution).
    """

    backend: str = "highs"  # "highs" | "pyomo"
    algorithm: str = "auto"  # "auto" | "simplex" | "ipm" | "pdlp"
    risk_split: str = "proportional"
    priority: tuple[int, ...] = ()  # BACI codes, first cut first
    spread: str = "proportional"
    joint: bool = False  # share each exporter's cap across importers (coupled LP)
    exporter_total_pp: float | None = None  # per-exporter total extra across products <= pp% of its total exports
    time_limit_s: float | None = None
    keep_going: bool = False  # report infeasible products and continue with the rest
    save_lp: str | None = None  # write the LP (MPS/LP file) without changing the result


@dataclass
class Allocation:
    """Flows after re-allocation for one instance (kUSD), plus how they were found."""

    instance: Instance
    x_after_kusd: np.ndarray  # (N,) flows after, same pair order as the instance
    status: Status
    solver: SolverInfo
    shortfall_kusd: np.ndarray | None = None  # (P,) unmet demand per product (export bans), else None
    cap_marginal: np.ndarray | None = None  # (N,) exposure (kUSD) removed per extra kUSD of cap; 0 where the cap does not bind
    infeasible_products: list[str] = field(default_factory=list)  # hs6 codes dropped/relaxed under keep_going, with reasons in notes
    notes: list[str] = field(default_factory=list)


def reallocate(instances: list[Instance], options: EngineOptions | None = None) -> list[Allocation]:
    """Minimise weighted risk imports for each instance (or jointly); see EngineOptions."""
    raise NotImplementedError("engine: to be implemented")
