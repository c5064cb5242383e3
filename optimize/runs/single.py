"""One run: ``pipeline.prepare`` + ``pipeline.solve_cell``, and with ``bands.enabled`` the low/central/high
bands (``bandruns.add_bands``): the planner of ``optimize.run`` and ``tradeopt run``."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimize.config.scenario import Scenario
from optimize.data.trade import TradeData
from optimize.runs.bandruns import add_bands
from optimize.runs.pipeline import prepare, solve_cell
from optimize.runs.result import RunResult


def run(scenario: Scenario | str | Path | None = None,
        data: TradeData | pd.DataFrame | str | Path | None = None, **cell) -> RunResult:
    """prepare + solve_cell: the whole analysis of one scenario (None = the default scenario); with
    ``bands.enabled`` also the low/central/high bands (``bandruns.add_bands``)."""
    prepared = prepare(scenario, data)
    result = solve_cell(prepared, **cell)
    if result.scenario.bands.enabled:
        add_bands(prepared, result)
    return result
