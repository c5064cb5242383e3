"""tradeopt: friend-shoring analysis of CEPII BACI trade by linear programming.

The library package is ``optimize``; the ``tradeopt`` command is ``cli.py``.
Public API (``optimize.api``, imported lazily so ``import optimize`` stays fast)::

    import optimize
    result = optimize.run(importer="NLD", cap_pp=3)   # embedded SYNTHETIC sample
    result.tables.exposure                             # USD, shares 0..1

``run``, ``load_scenario``, ``load_trade``, ``screen``, ``batch_run``, ``sweep_caps``,
``figures``, ``list_scenarios``; error types ``TradeoptError``, ``InputError``,
``DataError``, ``ScenarioError``, ``InfeasibleError``, ``SolverError``, ``OutputError``.
See docs/api.md.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from optimize.errors import (
    DataError,
    InfeasibleError,
    InputError,
    OutputError,
    ScenarioError,
    SolverError,
    TradeoptError,
)
from optimize.resources import package_version

__version__ = package_version()

_API = ("run", "load_scenario", "load_trade", "screen", "batch_run", "sweep_caps", "frontier", "cost", "binding",
        "figures", "list_scenarios", "trend", "backtest")
_TYPES = {"Scenario": "optimize.config.scenario", "TradeData": "optimize.data.trade",
          "RunResult": "optimize.runs.result",
          "BatchResult": "optimize.runs.batch", "Status": "optimize.solve.status",
          "TrendResult": "optimize.runs.trend", "BacktestResult": "optimize.runs.backtest"}

__all__ = [*_API, *_TYPES, "DataError", "InfeasibleError", "InputError", "OutputError", "ScenarioError",
           "SolverError", "TradeoptError", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from optimize.api import batch_run, figures, list_scenarios, load_scenario, load_trade, run, screen, sweep_caps  # noqa: F401
    from optimize.config.scenario import Scenario  # noqa: F401
    from optimize.data.trade import TradeData  # noqa: F401
    from optimize.runs.batch import BatchResult  # noqa: F401
    from optimize.runs.result import RunResult  # noqa: F401
    from optimize.solve.status import Status  # noqa: F401


def __getattr__(name: str):
    """Lazy re-exports of ``optimize.api`` functions and the main result types."""
    import importlib

    if name == "api":  # ``optimize.api.SCENARIO_KEYWORDS`` works after a plain ``import optimize``
        return importlib.import_module("optimize.api")
    if name in _API:
        return getattr(importlib.import_module("optimize.api"), name)
    if name in _TYPES:
        return getattr(importlib.import_module(_TYPES[name]), name)
    raise AttributeError(f"module 'optimize' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
