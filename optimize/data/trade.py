"""The in-memory trade table every step downstream of reading works on.

A ``TradeData`` holds BACI flows as a pandas DataFrame with exactly these columns:

====  ===========  =====================================================
col   dtype        meaning
====  ===========  =====================================================
t     int16        year
i     int32        exporter, BACI numeric country code
j     int32        importer, BACI numeric country code
k     str          HS6 product code, always 6 characters ("010121")
v     float64      value, thousands of current USD (kUSD, FOB)
q     float64      quantity, metric tonnes; NaN where missing
====  ===========  =====================================================
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

BACI_COLUMNS = ("t", "i", "j", "k", "v", "q")

#: Arrow schema of a validated BACI table (what parquet caches store).
ARROW_SCHEMA = pa.schema(
    [
        ("t", pa.int16()),
        ("i", pa.int32()),
        ("j", pa.int32()),
        ("k", pa.string()),
        ("v", pa.float64()),
        ("q", pa.float64()),
    ]
)

SYNTHETIC_LABEL = "SYNTHETIC SAMPLE - not real trade data"


@dataclass
class TradeData:
    """Validated BACI flows plus where they came from.

    ``flows`` follows the module's column contract; ``synthetic`` is True for the
    embedded sample, and every output made from it must say so.
    """

    flows: pd.DataFrame
    source: str
    sha256: str | None = None
    synthetic: bool = False
    hs_revision: str | None = None  # e.g. "HS22"; None when unknown
    release: str | None = None  # e.g. "V202501"
    country_table: pd.DataFrame | None = None  # release's own table if it shipped one
    product_table: pd.DataFrame | None = None  # release's product descriptions if shipped
    notes: list[str] = field(default_factory=list)

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in pd.unique(self.flows["t"]))

    def label(self) -> str:
        """One line naming the data, with the synthetic warning when it applies."""
        known = [str(v) for v in (self.hs_revision, self.release) if v]  # never "(HS22, None)"
        base = f"{self.source}" + (f" ({', '.join(known)})" if known else "")
        return f"{base} [{SYNTHETIC_LABEL}]" if self.synthetic else base
