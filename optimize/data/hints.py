"""What probably went wrong with a trade file that is not BACI's layout, said as the fix to type.

``columns_hint``: other column names -> the ``--columns`` mapping they suggest; ``iso3_hint``:
country columns of letters -> ``--country-codes iso3``; ``value_warnings``: totals no real
BACI file (thousands of USD) can have -> the ``--value-unit`` to use. World goods trade is about
USD 20-25 trillion a year over some 5,600 HS6 products, the largest (crude oil) about USD 1.5
trillion.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from optimize.vocab import plural

#: Column names (lower case, letters and digits only) that usually hold each BACI column.
SYNONYMS = {
    "t": ("t", "year", "yr", "period", "refyear", "time"),
    "i": ("i", "exporter", "exp", "exporterid", "exid", "exporteriso3", "exportercode", "origin", "from"),
    "j": ("j", "importer", "imp", "importerid", "imid", "importeriso3", "importercode", "destination", "dest", "to"),
    "k": ("k", "hs6", "hs", "hscode", "hs6code", "product", "productcode", "code", "commodity", "cmdcode"),
    "v": ("v", "value", "val", "tradevalue", "valuekusd", "valueusd", "usd", "kusd", "primaryvalue"),
    "q": ("q", "quantity", "qty", "weight", "tonnes", "netweight", "quantitytonnes"),
}
WORLD_TRADE_USD = (20e12, 25e12)  # all goods, one year
MAX_PRODUCT_USD = 2e12  # above the largest HS6 product's world trade (crude oil, ~USD 1.5 trillion)
FULL_FILE_PRODUCTS = 1000  # products from which a file holds most of world trade
MIN_PRODUCT_USD = 1e6  # below the smallest average world trade of a product that many countries trade


def _plain(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def other_layout(names: list[str], file: str) -> tuple[str, str]:
    """(message, fix) of a file whose columns are not BACI's: the fix is the ``--columns`` they suggest."""
    return f"columns {names} are not BACI's t,i,j,k,v,q", columns_hint(names, file)


def columns_hint(names: list[str], file: str) -> str:
    """The ``--columns`` mapping ``names`` suggest (``t=year,i=exporter,...``), or the option's syntax when
    they do not say; plus ``--value-unit usd`` when the value column says USD."""
    found: dict[str, str] = {}
    for name in names:
        for col, words in SYNONYMS.items():
            if col not in found and _plain(name) in words:
                found[col] = name
                break
    spec = ",".join(f"{c}={found[c]}" for c in SYNONYMS if c in found)
    if all(c in found for c in "tijkv"):
        hint = f"map the columns: tradeopt data convert {file} --columns {spec}"
    else:
        hint = (f"map the columns: tradeopt data convert {file} --columns t=<year>,i=<exporter>,j=<importer>,"
                f"k=<hs6>,v=<value>[,q=<quantity>]" + (f" (recognised: {spec})" if spec else ""))
    value = _plain(found.get("v", ""))
    if "usd" in value and "kusd" not in value:
        hint += " --value-unit usd"
    return hint


def iso3_hint(values: pd.Series, column: str, file: str) -> str | None:
    """``--country-codes iso3`` when most non-numeric codes of ``column`` are three letters (e.g. FRA)."""
    text = values.dropna().astype(str).str.strip()
    letters = text.str.fullmatch(r"[A-Za-z]{3}")
    if not len(text) or letters.mean() < 0.9:
        return None
    return (f"column {column} holds ISO3 codes (e.g. {text[letters].iloc[0].upper()}), not BACI's numeric codes: "
            f"tradeopt data convert {file} --country-codes iso3")


def value_warnings(t, k, v_kusd) -> list[str]:
    """One warning per year whose total (``v_kusd``, thousands of USD) no BACI file can have: more than the
    largest product's world trade per product or than all world trade (values probably in USD: use
    ``--value-unit usd``), or far less than a product's or the world's (values probably already divided)."""
    df = pd.DataFrame({"t": np.asarray(t), "k": np.asarray(k), "usd": np.asarray(v_kusd, dtype=float) * 1000.0})
    out = []
    world = f"world goods trade is about USD {WORLD_TRADE_USD[0] / 1e12:.0f}-{WORLD_TRADE_USD[1] / 1e12:.0f} trillion"
    for year, g in df.groupby("t", sort=True):
        total, n = float(g["usd"].sum()), int(g["k"].nunique())
        said = f"values sum to USD {total / 1e9:,.1f} bn in {year} over {plural(n, 'product')}"
        if total > 1.2 * WORLD_TRADE_USD[1] or total > n * MAX_PRODUCT_USD:
            out.append(f"{said}, more than is possible ({world} a year, no HS6 product above USD 2 trillion): the "
                       "file is probably in USD, not BACI's thousands of USD; convert it with --value-unit usd")
        elif (n >= FULL_FILE_PRODUCTS and total < WORLD_TRADE_USD[0] / 100) or total < n * MIN_PRODUCT_USD:
            out.append(f"{said}, far less than their share of world trade ({world} a year over some 5,600 "
                       "products): were the values divided twice? Without --value-unit usd they are taken as "
                       "thousands of USD")
    return out
