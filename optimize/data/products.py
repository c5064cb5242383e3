"""HS6 product descriptions: CEPII ``product_codes_HS??_V*.csv`` or the sample's own table."""
from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from optimize.data.usercsv import read_user_csv
from optimize.errors import DataError
from optimize.resources import data_dir

SAMPLE_PRODUCTS = "product_codes_sample.csv"


def read_product_csv(source, label: str | None = None) -> pd.DataFrame:
    """Read a ``code,description`` (CEPII) or ``k,description`` CSV -> ``[k:str(6), description:str]``."""
    label = str(label or source)
    raw = read_user_csv(source, label=label, what="product table", error=DataError, encoding="utf-8",
                        fix="pass a CEPII product_codes_*.csv")
    code_col = "code" if "code" in raw.columns else "k" if "k" in raw.columns else None
    if code_col is None or "description" not in raw.columns:
        raise DataError(f"product table has columns {list(raw.columns)}", file=label, field="code",
                        fix="expected columns code,description")
    k = raw[code_col].str.strip().str.replace(r"\.0$", "", regex=True).str.zfill(6)
    legacy = k.str.fullmatch(r"\d{4}[A-Z]{2}").to_numpy()  # CEPII's legacy non-WCO codes (9999AA): no HS6 flows
    raw, k = raw.loc[~legacy], k.loc[~legacy]
    bad = (~k.str.fullmatch(r"\d{6}")).to_numpy().nonzero()[0]
    if bad.size:
        raise DataError("product code is not a 6-digit HS code", file=label, rows=(bad + 1).tolist(),
                        count=int(bad.size), field=code_col, fix="use 6-digit HS codes like 010121")
    df = pd.DataFrame({"k": k, "description": raw["description"].str.strip()})
    return df.sort_values("k", kind="stable").reset_index(drop=True)


@functools.lru_cache(maxsize=16)
def _cached(path: str) -> pd.DataFrame:
    return read_product_csv(Path(path), path)


#: HS revisions with a bundled CEPII product-code table (``data/baci/product_codes_HS??_V*.csv``).
BUNDLED_REVISIONS = ("HS92", "HS96", "HS02", "HS07", "HS12", "HS17", "HS22")


def pick_product_file(files, hs_revision: str | None) -> Path | None:
    """Among CEPII ``product_codes_*.csv`` paths, the newest one of ``hs_revision``
    (any revision when it is unknown and there is only one); None when none fits."""
    files = sorted(Path(f) for f in files)
    if hs_revision:
        files = [f for f in files if f.name.upper().startswith(f"PRODUCT_CODES_{hs_revision.upper()}_")]
        return files[-1] if files else None
    return files[0] if len(files) == 1 else None


def product_table(hs_revision: str | None = None, path: str | Path | None = None) -> pd.DataFrame:
    """Product descriptions ``[k, description]`` sorted by ``k``.

    ``path``: a CEPII ``product_codes_HS??_V*.csv``. Without it: the bundled CEPII
    table of ``hs_revision`` (HS92 ... HS22, see ``data/baci/README.md``), or the
    embedded sample's short table when ``hs_revision`` is None.
    """
    if path is None:
        if hs_revision is None:
            path = data_dir() / SAMPLE_PRODUCTS
        else:
            path = pick_product_file(data_dir().glob("product_codes_HS*_V*.csv"), hs_revision.upper())
            if path is None:
                raise DataError(f"no bundled product table for {hs_revision}", field="hs_revision",
                                fix=f"use one of {', '.join(BUNDLED_REVISIONS)}, or pass path= a CEPII "
                                    f"product_codes_{hs_revision}_V*.csv")
    return _cached(str(Path(path).resolve())).copy()
