"""Locations of the project's bundled data (``data/baci``) and scenarios (``models``).

Works from a source checkout (the repository's top-level folders) and from an
installed wheel (copies under ``optimize/_bundled``).
"""
from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[0]


def data_dir() -> Path:
    """The folder with the embedded BACI sample and the project's code tables."""
    return _first_existing(_PKG.parent / "data" / "baci", _PKG / "_bundled" / "data" / "baci")


def models_dir() -> Path:
    """The folder with the shipped scenario TOML files."""
    return _first_existing(_PKG.parent / "models", _PKG / "_bundled" / "models")


def shared_data_dir() -> Path | None:
    """``../shared/data`` beside the checkout, if present (tests and examples only)."""
    for c in (_PKG.parent.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"):
        if c.is_dir():
            return c
    return None
