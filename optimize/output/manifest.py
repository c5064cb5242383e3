"""Run manifest: tool versions, input file hashes and the resolved scenario, written next to outputs.

``manifest.json`` lets anyone tell which code, data and parameters made a result;
``scenario.resolved.toml`` is the scenario with every default filled, and can be
run again as it is (``tradeopt run --scenario out/scenario.resolved.toml``).
"""
from __future__ import annotations

import math
import platform
import sys
from importlib import metadata

import numpy as np

from optimize.ownership import file_sha256  # noqa: F401  (re-exported; the one copy)

RESOLVED_FILE = "scenario.resolved.toml"

#: Distributions whose versions change results or their format.
VERSIONED = ("tradeopt", "highspy", "pyomo", "pandas", "numpy", "pyarrow", "scipy", "pydantic")


#: Scenario sections that change how results are shown, not what they are (not part of ``results_key``).
PRESENTATION = ("name", "description", "report")


def results_key(scenario) -> str:
    """``ownership.run_key`` of a run: its resolved scenario without ``PRESENTATION``, country lists as the ISO3
    codes they resolve to (``France`` and ``FRA`` are one run); the same settings again replace a folder's
    results, other settings need ``overwrite``."""
    from optimize.ownership import run_key

    return run_key("run", jsonable({k: v for k, v in _canonical(scenario).items() if k not in PRESENTATION}))


def _canonical(scenario) -> dict:
    """``scenario.resolved()`` with importer, risk, friend, priority and ban countries replaced by their ISO3
    codes (from the scenario's cached ``ModelSpec``)."""
    from optimize.config.resolve import resolve
    from optimize.data.countries import to_iso3

    spec = resolve(scenario)
    d = scenario.resolved()
    d["importer"]["countries"] = list(to_iso3(spec.importer_codes))
    d["risk"]["countries"] = list(to_iso3(spec.risk_codes))
    d["risk"]["priority"] = list(to_iso3(spec.priority))
    d["alternatives"]["friends"] = list(to_iso3(spec.friends))
    d["ban"]["country"] = ",".join(to_iso3(sorted(spec.ban)))
    return d


def default_out_name(scenario) -> str:
    """The default output folder name of a run, ``<scenario>-<importer>-<year>-<8 hex>``: the importer as it
    resolves (``Côte d'Ivoire`` -> CIV, a group by its name), year ``latest`` when the data decide it, the hex
    from ``results_key``; so a run with other settings never lands in it, and ``France``/``FRA`` share one."""
    import re

    from optimize.config.resolve import resolve

    label = re.sub(r"[^A-Za-z0-9_]+", "_", resolve(scenario).importer_label)
    year = scenario.data.year or "latest"
    return f"{scenario.name}-{label[:40].strip('_') or 'importer'}-{year}-{results_key(scenario)[-8:]}"


def versions() -> dict[str, str]:
    """Installed version of Python and of each package in ``VERSIONED`` ("absent" if not installed): an imported
    package's ``__version__``, else its distribution's metadata."""
    out = {"python": platform.python_version()}
    for dist in VERSIONED:
        if dist == "tradeopt":  # this code's version (the installed metadata may belong to another checkout)
            from optimize.resources import package_version

            out[dist] = package_version()
            continue
        loaded = getattr(sys.modules.get(dist), "__version__", None)  # the imported module's own: no search
        try:
            out[dist] = loaded if isinstance(loaded, str) else metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "absent"
    return out


def build_manifest(resolved_scenario: dict, *, inputs: dict[str, str | None], meta: dict | None = None) -> dict:
    """The manifest as a JSON-ready dict.

    ``inputs``: label -> sha256 (or None when unknown, e.g. a DataFrame);
    ``meta``: run facts (data label, synthetic flag, year, importer, solver info).
    """
    return {
        "tool": "tradeopt",
        "versions": versions(),
        "inputs": {k: inputs[k] for k in sorted(inputs)},
        "data": {k: jsonable((meta or {}).get(k)) for k in ("data_source", "hs_revision", "hs_revision_source",
                                                             "release")},
        "run": jsonable(meta or {}),
        "scenario": jsonable(resolved_scenario),
    }


def jsonable(v):
    """Plain JSON values, recursively (the one sanitiser for manifest, summary and report files):
    tuples/arrays -> lists, sets -> sorted lists, numpy scalars -> Python, NaN/inf -> None,
    enums and statuses -> their string value, paths and anything else -> str."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (set, frozenset)):
        return sorted((jsonable(x) for x in v), key=str)
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return [jsonable(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    if isinstance(getattr(v, "value", None), str):  # enums such as SolverStatus, and Status
        return v.value
    return str(v)
