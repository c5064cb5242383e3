"""Locations of the project's bundled data (``data/baci``) and scenarios (``models``).

Works from a source checkout (the repository's top-level folders) and from an
installed wheel (copies under ``optimize/_bundled``).
"""
from __future__ import annotations

import re
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[0]


def bundled_data_dir() -> Path:
    """The project's ``data/`` folder (``baci/``, ``basket/``, ``stages/``)."""
    return _first_existing(_PKG.parent / "data", _PKG / "_bundled" / "data")


def data_dir() -> Path:
    """``data/baci``: the embedded synthetic BACI sample and the project's code tables."""
    return bundled_data_dir() / "baci"


def basket_dir() -> Path:
    """``data/basket``: the shipped critical-goods basket tables."""
    return bundled_data_dir() / "basket"


def concordance_dir() -> Path:
    """``data/concordance``: the full UNSD HS2022 <-> HS17/HS12/HS92 correlation tables (gzipped CSV)."""
    return bundled_data_dir() / "concordance"


def stages_dir() -> Path:
    """``data/stages``: the derived HS6 -> value-chain stage tables."""
    return bundled_data_dir() / "stages"


def elasticities_dir() -> Path:
    """``data/elasticities``: the derived per-revision sigma tables (``scripts/build_sigma.py``)."""
    return bundled_data_dir() / "elasticities"


def models_dir() -> Path:
    """The folder with the shipped scenario TOML files."""
    return _first_existing(_PKG.parent / "models", _PKG / "_bundled" / "models")


def bundled_docs_dir() -> Path:
    """The ``docs/`` folder (``outputs.md`` is the one source of the output column descriptions)."""
    return _first_existing(_PKG.parent / "docs", _PKG / "_bundled" / "docs")


def package_version() -> str:
    """The version, from one source: ``pyproject.toml`` in a source checkout, else the installed metadata."""

    pyproject = _PKG.parent / "pyproject.toml"
    if pyproject.is_file():  # a source checkout (the installed metadata may belong to another checkout)
        m = re.search(r'(?m)^version\s*=\s*"([^"]+)"', pyproject.read_text(encoding="utf-8"))
        if m:
            return m.group(1)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tradeopt")
    except PackageNotFoundError:  # a source tree without pyproject.toml or metadata
        return "0+unknown"


def shared_data_dir(near: str | Path | None = None) -> Path | None:
    """``../shared/data`` beside the checkout, if present (tests and examples only): beside the package's
    checkout, the current folder, or any folder holding ``near`` (an example's own ``__file__``, so a
    non-editable install run from elsewhere still finds the data beside the checkout)."""
    around = [p / "shared" / "data" for p in Path(near).resolve().parents] if near is not None else []
    for c in (_PKG.parent.parent / "shared" / "data", Path.cwd().parent / "shared" / "data", *around):
        if c.is_dir():
            return c
    return None
