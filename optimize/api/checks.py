"""The argument rules of the public API: ``optimize.args.RULES`` plus the rules naming tradeopt's own types
(scenario, data, run result), which only this layer may import (lazily, at call time)."""
from __future__ import annotations

from typing import Any

from optimize.args import RULES, Rule, checked, is_path


def _is_scenario(v: Any) -> bool:
    from optimize.config.scenario import Scenario

    return is_path(v) or isinstance(v, Scenario)


def _is_data(v: Any) -> bool:
    import pandas as pd

    from optimize.data.trade import TradeData

    return is_path(v) or isinstance(v, (pd.DataFrame, TradeData))


def _is_result(v: Any) -> bool:
    from optimize.runs.result import RunResult

    return isinstance(v, RunResult)


def _is_frame(v: Any) -> bool:
    import pandas as pd

    return isinstance(v, pd.DataFrame)


SCENARIO = Rule(_is_scenario, None, "a shipped scenario name, a TOML path or a Scenario")
DATA = Rule(_is_data, is_path, "a BACI file path (screens, load_trade: or a list of them), a BACI-layout DataFrame "
                               "or TradeData (from load_trade)")
API_RULES = {**RULES, "scenario": SCENARIO, "name_or_path": SCENARIO, "data": DATA, "source": DATA,
             "result": Rule(_is_result, None, "a RunResult (from run)"),
             "table": Rule(_is_frame, None, "a DataFrame")}

#: Decorator of every public API function (``optimize.args.checked`` with ``API_RULES``).
api_checked = checked(API_RULES)
