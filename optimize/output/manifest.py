"""Run manifest: tool versions, input file hashes and the resolved scenario, written next to outputs.

``manifest.json`` lets anyone tell which code, data and parameters made a result;
``scenario.resolved.toml`` is the scenario with every default filled, and can be
run again as it is (``tradeopt run --scenario out/scenario.resolved.toml``).
"""
from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

MANIFEST_FILE = "manifest.json"
RESOLVED_FILE = "scenario.resolved.toml"

#: Distributions whose versions change results or their format.
VERSIONED = ("tradeopt", "highspy", "pyomo", "pandas", "numpy", "pyarrow", "scipy", "pydantic")


def versions() -> dict[str, str]:
    """Installed version of Python and of each package in ``VERSIONED`` ("absent" if not installed)."""
    out = {"python": platform.python_version()}
    for dist in VERSIONED:
        if dist == "tradeopt":  # this code's version (the installed metadata may belong to another checkout)
            from optimize.resources import package_version

            out[dist] = package_version()
            continue
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "absent"
    return out


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in chunks (works for multi-GB BACI zips)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_bytes), b""):
            h.update(block)
    return h.hexdigest()


def build_manifest(resolved_scenario: dict, *, inputs: dict[str, str | None], meta: dict | None = None) -> dict:
    """The manifest as a JSON-ready dict.

    ``inputs``: label -> sha256 (or None when unknown, e.g. a DataFrame);
    ``meta``: run facts (data label, synthetic flag, year, importer, solver info).
    """
    return {
        "tool": "tradeopt",
        "versions": versions(),
        "inputs": {k: inputs[k] for k in sorted(inputs)},
        "data": {k: _jsonable((meta or {}).get(k)) for k in ("data_source", "hs_revision", "release")},
        "run": _jsonable(meta or {}),
        "scenario": _jsonable(resolved_scenario),
    }


def manifest_text(manifest: dict) -> str:
    """The manifest as the text of ``manifest.json``."""
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_manifest(out_dir: str | Path, manifest: dict, scenario_toml: str) -> list[Path]:
    """Write ``manifest.json`` and ``scenario.resolved.toml`` into ``out_dir`` atomically."""
    from optimize.atomic import atomic_write_text

    out = Path(out_dir)
    text = manifest_text(manifest)
    return [atomic_write_text(out / MANIFEST_FILE, text), atomic_write_text(out / RESOLVED_FILE, scenario_toml)]


def _jsonable(v):
    """Plain JSON values: tuples -> lists, numpy scalars -> Python, enums -> value, paths -> str."""
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        items = [_jsonable(x) for x in v]
        return sorted(items, key=str) if isinstance(v, (set, frozenset)) else items
    if hasattr(v, "value") and v.__class__.__module__ != "builtins" and hasattr(v.__class__, "__members__"):
        return v.value
    if hasattr(v, "item") and callable(v.item):  # numpy scalar
        return v.item()
    if isinstance(v, Path):
        return str(v)
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)
