"""Shared fixtures: paths to the real data in ../shared/data (skipped when absent)."""
from __future__ import annotations

from pathlib import Path

import pytest

from optimize.resources import shared_data_dir

ENERGY_CSV = "baci_flows/BACI_HS22_Y2023_V202501_energy_subset_32products.csv.gz"
ENERGY_PARQUET = "baci_flows/BACI_HS22_Y2023_V202501_energy_subset_32products.parquet"


@pytest.fixture(scope="session")
def cli_main():
    """The click group of ``cli.py`` (the checkout's, via pytest's pythonpath)."""
    from cli import main

    return main


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests using it skip with a reason where it is absent."""
    d = shared_data_dir()
    if d is None:
        pytest.skip("../shared/data is absent: real-data tests need the shared folder beside the checkout")
    return d


@pytest.fixture(scope="session")
def energy_csv(shared_data: Path) -> Path:
    return shared_data / ENERGY_CSV


@pytest.fixture(scope="session")
def energy_parquet(shared_data: Path) -> Path:
    return shared_data / ENERGY_PARQUET
