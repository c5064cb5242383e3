"""One status taxonomy for every backend (after linopy's SolverStatus x TerminationCondition).

A solve ends with a ``Status``: the solver status (``ok``/``warning``/``error``) and
the termination condition (why it stopped). Backends map their own codes to it
(HiGHS: ``optimize.solve.highs.HIGHS_MODEL_STATUS``, the one table); the library
returns statuses, and ``raise_for_status`` is the one place that turns a non-ok
status into an exception (called by the engine and the API-level entry points).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar

import numpy as np

from optimize.errors import InfeasibleError, SolverError


class SolverStatus(str, Enum):
    """Did the solver do its job: ``ok`` (a proven optimum), ``warning`` (it stopped
    normally without one: infeasible, limits, ...), ``error`` (it failed)."""

    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


class TerminationCondition(str, Enum):
    """Why the solver stopped."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    TIME_LIMIT = "time_limit"
    ITERATION_LIMIT = "iteration_limit"
    SOLUTION_LIMIT = "solution_limit"
    MEMORY_LIMIT = "memory_limit"
    OBJECTIVE_BOUND = "objective_bound"
    OBJECTIVE_TARGET = "objective_target"
    INTERRUPTED = "interrupted"
    EMPTY_MODEL = "empty_model"
    NOT_SOLVED = "not_solved"
    UNKNOWN = "unknown"
    ERROR = "error"


#: Terminations that prove no allocation meets every limit (our LPs have bounded columns,
#: so "infeasible or unbounded" means infeasible).
INFEASIBLE_TERMINATIONS = frozenset({TerminationCondition.INFEASIBLE, TerminationCondition.INFEASIBLE_OR_UNBOUNDED})


@dataclass(frozen=True)
class Status:
    """Outcome of a solve, the same for every backend: solver status x termination condition.

    ``value`` is the termination condition's name (``"optimal"``, ``"time_limit"``, ...),
    the string written to tables and manifests. ``Status.OPTIMAL`` etc. are the common
    outcomes as constants.
    """

    status: SolverStatus
    termination: TerminationCondition

    OPTIMAL: ClassVar[Status]
    INFEASIBLE: ClassVar[Status]
    INFEASIBLE_OR_UNBOUNDED: ClassVar[Status]
    UNBOUNDED: ClassVar[Status]
    TIME_LIMIT: ClassVar[Status]
    ITERATION_LIMIT: ClassVar[Status]
    ERROR: ClassVar[Status]

    @property
    def is_ok(self) -> bool:
        return self.status is SolverStatus.OK

    @property
    def is_infeasible(self) -> bool:
        return self.termination in INFEASIBLE_TERMINATIONS

    @property
    def value(self) -> str:
        return self.termination.value

    def __str__(self) -> str:
        return self.value


Status.OPTIMAL = Status(SolverStatus.OK, TerminationCondition.OPTIMAL)
Status.INFEASIBLE = Status(SolverStatus.WARNING, TerminationCondition.INFEASIBLE)
Status.INFEASIBLE_OR_UNBOUNDED = Status(SolverStatus.WARNING, TerminationCondition.INFEASIBLE_OR_UNBOUNDED)
Status.UNBOUNDED = Status(SolverStatus.WARNING, TerminationCondition.UNBOUNDED)
Status.TIME_LIMIT = Status(SolverStatus.WARNING, TerminationCondition.TIME_LIMIT)
Status.ITERATION_LIMIT = Status(SolverStatus.WARNING, TerminationCondition.ITERATION_LIMIT)
Status.ERROR = Status(SolverStatus.ERROR, TerminationCondition.ERROR)


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
    """Raw solution of an LP: primal values and duals in the LP's own column/row order.

    ``x`` is set whenever the solver holds a primal feasible point (``has_solution``),
    which can be the case without a proven optimum (e.g. a time limit)."""

    status: Status
    info: SolverInfo
    x: np.ndarray | None = None  # (n,) column values
    col_duals: np.ndarray | None = None  # (n,) reduced costs
    row_duals: np.ndarray | None = None  # (m,) row duals
    extra: dict = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        return self.x is not None


def raise_for_status(status: Status, *, what: str, detail: str = "", fix_infeasible: str, fix: str) -> None:
    """The one place a non-ok status becomes an exception: ``InfeasibleError`` (exit 3) when the
    termination proves infeasibility, else ``SolverError`` (exit 4). ``what`` names the LP,
    ``detail`` is the solver's own message."""
    if status.is_ok:
        return
    note = f" ({detail})" if detail else ""
    if status.is_infeasible:
        raise InfeasibleError(f"{what} is infeasible{note}", fix=fix_infeasible)
    raise SolverError(f"{what}: the solver stopped with status {status.value}{note}", fix=fix)
