"""One status taxonomy for every backend (after linopy's Status/TerminationCondition)."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np


class Status(str, Enum):
    """Outcome of a solve, the same for every backend."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"
    ERROR = "error"

    @property
    def is_ok(self) -> bool:
        return self is Status.OPTIMAL


@dataclass
class SolverInfo:
    """What the solver did: backend, the algorithm HiGHS actually ran, effort and times (seconds)."""

    backend: str  # "highs" | "pyomo"
    algorithm: str  # e.g. "dual simplex", "ipm", "pdlp", "closed-form"
    iterations: int = 0
    build_s: float = 0.0
    solve_s: float = 0.0
    objective: float = float("nan")  # weighted risk imports after, kUSD
    solver_version: str = ""
    message: str = ""


@dataclass
class LPSolution:
    """Raw solution of an LP: primal values and duals in the LP's own column/row order."""

    status: Status
    info: SolverInfo
    x: np.ndarray | None = None  # (n,) column values
    col_duals: np.ndarray | None = None  # (n,) reduced costs
    row_duals: np.ndarray | None = None  # (m,) row duals
    extra: dict = field(default_factory=dict)
