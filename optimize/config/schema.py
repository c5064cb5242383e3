"""The JSON Schema of scenario files, from the pydantic model (``Scenario.model_json_schema()``).

Editors that validate TOML against a JSON Schema (e.g. taplo / Even Better TOML) can use it;
``tradeopt scenarios --schema`` prints it and ``docs/scenario.schema.json`` ships it.
"""
from __future__ import annotations

import json
from typing import Any

from optimize.config.scenario import Scenario

#: JSON Schema dialect pydantic v2 generates.
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def scenario_schema() -> dict[str, Any]:
    """The scenario JSON Schema as a dict (validation mode: what a scenario file may hold)."""
    schema = Scenario.model_json_schema()
    return {"$schema": DIALECT, "title": "tradeopt scenario", **{k: v for k, v in schema.items() if k != "title"}}


def scenario_json_schema() -> str:
    """The scenario JSON Schema as indented JSON text (stable key order, ending with a newline)."""
    return json.dumps(scenario_schema(), indent=2, ensure_ascii=False) + "\n"
