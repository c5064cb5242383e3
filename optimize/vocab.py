"""Shared vocabulary: the names every layer uses for cap bases, sectors, result tables and
thresholds (one definition each; the scenario schema, the CLI and the model read them here)."""
from __future__ import annotations

#: What the cap's percentage points apply to (``cap.basis``), default first.
CAP_BASES: tuple[str, ...] = ("world-exports", "importer-market", "rest-of-world")
DEFAULT_CAP_BASIS = CAP_BASES[0]

#: Sectors of the shipped basket (``data/basket``) and their display names (figures, summary.md).
SECTORS: tuple[str, ...] = ("health", "ict", "energy", "crm")
SECTOR_NAMES: dict[str, str] = {"health": "Health", "ict": "ICT", "energy": "Energy",
                                "crm": "Critical raw materials"}

#: Result tables a scenario may name in ``report.tables`` (``metrics.ResultTables.frames()``).
TABLES: tuple[str, ...] = ("exposure", "flows", "products", "beneficiaries", "by_sector", "by_stage",
                           "concentration", "single_country", "binding")

#: Where the cost method is described: docs/cost.md is in the source repository, not in a pip install.
COST_DOC = "method: docs/cost.md in the tradeopt source repository"

#: Single-country dependence: one supplier holds more than these shares (0..1) of a product's imports.
SINGLE_COUNTRY_THRESHOLDS: tuple[float, ...] = (0.5, 0.7)


def sector_name(code: str) -> str:
    """'crm' -> 'Critical raw materials'; unknown codes are returned as given."""
    return SECTOR_NAMES.get(str(code), str(code))


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """'1 product', '2 products', '0 products' (``nouns``: an irregular plural, e.g. 'countries')."""
    return f"{n:,} {noun if n == 1 else (nouns or noun + 's')}"
