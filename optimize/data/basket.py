"""The critical-goods basket: a table of HS6 codes tagged with a sector.

The default basket (``data/basket/critical_goods_HS22.csv``, built by
``scripts/build_basket.py``) is defined in HS2022; ``concord_basket`` maps it to
older revisions (see ``optimize.data.concordance``). User baskets are CSV files with
at least the columns ``k`` (HS6 code, zero-padded) and ``sector``.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from optimize.data.concordance import ConcordanceReport, concord_basket, target_basket
from optimize.data.hs_links import normalize_revision
from optimize.data.usercsv import read_user_csv
from optimize.errors import ScenarioError
from optimize.resources import basket_dir
from optimize.tokens import named_file, split_tokens
from optimize.vocab import SECTOR_NAMES, SECTORS, sector_name  # noqa: F401  (re-exported)

__all__ = ["SECTORS", "SECTOR_NAMES", "sector_name", "BASKET_COLUMNS", "default_basket_path", "load_basket",
           "shipped_basket", "select_codes", "product_tokens",
           "concord_basket", "target_basket", "ConcordanceReport", "basket_to_revision"]

BASKET_COLUMNS = ["k", "sector", "subsector", "description", "source"]


def default_basket_path(hs_revision: str = "HS22") -> Path:
    return basket_dir() / f"critical_goods_{normalize_revision(hs_revision)}.csv"


def _rows(mask: np.ndarray) -> list[int]:
    """1-based data row numbers where mask is True."""
    return (np.flatnonzero(mask) + 1).tolist()


def _parse_sectors(sectors: str | Iterable[str] | None) -> list[str] | None:
    if sectors is None:
        return None
    items = [s.lower() for s in split_tokens(sectors)]
    bad = sorted(set(items) - set(SECTORS))
    if bad:
        raise ScenarioError(f"unknown sector(s) {', '.join(bad)}", field="sectors",
                            fix=f"choose from {', '.join(SECTORS)}")
    return items


def _read(path: Path) -> pd.DataFrame:
    """A basket CSV, validated (``BASKET_COLUMNS``, sorted by k)."""
    return _validate(read_user_csv(path, label=str(path), what="basket CSV", required=("k", "sector"),
                                   fix="save the basket as a UTF-8 CSV with a header row and at least the columns "
                                       "k,sector"), str(path))


def _validate(df: pd.DataFrame, file: str) -> pd.DataFrame:
    df = df.copy()
    k = df["k"].astype(str).str.strip()
    k = k.where(~k.str.fullmatch(r"\d{1,5}"), k.str.zfill(6))
    bad = ~k.str.fullmatch(r"\d{6}").to_numpy()
    if bad.any():
        raise ScenarioError(f"{int(bad.sum())} invalid HS6 code(s), e.g. {k[bad].iloc[0]!r}", file=file,
                            rows=_rows(bad), field="k", count=int(bad.sum()),
                            fix="k must be a 6-digit HS code (leading zeros may be dropped)")
    df["k"] = k
    sector = df["sector"].astype(str).str.strip().str.lower()
    bad = ~sector.isin(SECTORS).to_numpy()
    if bad.any():
        raise ScenarioError(f"unknown sector {df['sector'][bad].iloc[0]!r}", file=file, rows=_rows(bad),
                            field="sector", count=int(bad.sum()), fix=f"use one of {', '.join(SECTORS)}")
    df["sector"] = sector
    n_sec = df.groupby("k")["sector"].transform("nunique").to_numpy()
    bad = n_sec > 1
    if bad.any():
        raise ScenarioError(f"code {k[bad].iloc[0]} is listed with conflicting sectors", file=file,
                            rows=_rows(bad), field="sector", count=int(bad.sum()),
                            fix="give each HS6 code one sector")
    for c in BASKET_COLUMNS:
        if c not in df.columns:
            df[c] = ""
        df[c] = df[c].fillna("").astype(str)
    return (df[BASKET_COLUMNS].drop_duplicates("k").sort_values("k", kind="mergesort")
            .reset_index(drop=True))


def load_basket(path: str | Path | None = None, *, sectors: str | Iterable[str] | None = None,
                hs_revision: str = "HS22") -> pd.DataFrame:
    """The basket as DataFrame[k, sector, subsector, description, source], sorted by k.

    ``path`` None = the shipped default basket. For ``hs_revision`` other than HS22
    the default basket is mapped with ``target_basket`` (a user file is taken as
    already in that revision). ``sectors`` filters (list or comma string).
    """
    wanted = _parse_sectors(sectors)
    rev = normalize_revision(hs_revision)
    if path is None:
        basket = shipped_basket(rev)[0]
    else:
        p = Path(path)
        if not p.is_file():
            raise ScenarioError(f"basket file not found: {p}", file=str(p), fix="check the path")
        basket = _read(p)
    if wanted is not None:
        basket = basket[basket["sector"].isin(wanted)].reset_index(drop=True)
    return basket


def shipped_basket(hs_revision: str = "HS22") -> tuple[pd.DataFrame, ConcordanceReport | None]:
    """The shipped basket in ``hs_revision`` (a copy; read, and mapped from HS22 with ``target_basket``, once
    per revision in a process) and the mapping's report (None for HS22)."""
    basket, report = _shipped(normalize_revision(hs_revision))
    return basket.copy(), report


@functools.lru_cache(maxsize=8)
def _shipped(rev: str) -> tuple[pd.DataFrame, ConcordanceReport | None]:
    p = default_basket_path("HS22")
    basket = _read(p)
    if rev == "HS22":
        return basket, None
    mapped, report = target_basket(basket, rev)
    desc = basket.groupby("sector")["source"].first()
    return pd.DataFrame({"k": mapped["k"], "sector": mapped["sector"], "subsector": mapped["subsector"],
                         "description": "", "source": mapped["sector"].map(desc) + f" (HS22 -> {rev} via UNSD)"}
                        ), report


def product_tokens(spec: str | Iterable[str]) -> tuple[list[str], str | None]:
    """A product selection's tokens and the file they came from (None for a typed list): ``spec`` is a
    comma list or iterable of tokens, or the path of a file with codes (one per line or a CSV with ``k``)."""
    p = named_file(spec)
    if p is not None:
        text = read_user_csv(p, label=str(p), what="the product codes", field="products", header=None,
                             fix="list HS codes one per line, or as a CSV with a column k")
        if str(text.iloc[0, 0]).strip().lower() == "k":
            text = text.iloc[1:]  # the header of a CSV with a column k first
        return [t for t in text.iloc[:, 0].astype(str).str.strip() if t], str(p)
    return split_tokens(spec), None


def select_codes(spec: str | Iterable[str], available_codes: Iterable[str]) -> list[str]:
    """User product selection -> sorted HS6 codes among ``available_codes``.

    ``spec``: ``"all"``; a comma list (or iterable) of HS6 codes, chapters (``85``),
    headings (``8504``) and heading/chapter/code ranges (``8501-8504``); or the path of a
    file with codes (one per line or a CSV with a ``k`` column). Tokens matching nothing
    raise ScenarioError.
    """
    avail = pd.Index(sorted(set(str(c).zfill(6) for c in available_codes)))
    tokens, source = product_tokens(spec)
    if any(t.lower() == "all" for t in tokens):
        return avail.tolist()
    arr = avail.to_numpy(dtype=str)
    chosen = np.zeros(len(arr), dtype=bool)
    for tok in tokens:  # loop per user token, vectorised over codes
        if "-" in tok:
            lo, hi = (s.strip() for s in tok.split("-", 1))
            if len(lo) != len(hi) or not (lo + hi).isdigit() or len(lo) not in (2, 4, 6) or lo > hi:
                raise ScenarioError(f"bad range {tok!r}", file=source, field="products",
                                    fix="use ranges of equal-length chapters/headings/codes, e.g. 8501-8504")
            prefix = pd.Series(arr).str[: len(lo)]
            hit = ((prefix >= lo) & (prefix <= hi)).to_numpy()
        else:
            t = tok.zfill(6) if len(tok) == 5 else tok
            if not t.isdigit() or len(t) not in (2, 4, 6):
                raise ScenarioError(f"bad product token {tok!r}", file=source, field="products",
                                    fix="use HS6 codes, chapters (85), headings (8504) or ranges (8501-8504)")
            hit = np.char.startswith(arr, t)
        if not hit.any():
            raise ScenarioError(f"product selection {tok!r} matches no available code", file=source,
                                field="products", fix="check the code against the data's HS revision")
        chosen |= hit
    return arr[chosen].tolist()


def basket_to_revision(basket, from_revision: str, to_revision: str, *, weights=None):
    """A user basket or ``--products`` list written in ``from_revision``, expressed in ``to_revision``.

    ``basket``: DataFrame with ``k`` (other columns such as ``sector`` are carried to every
    target code; ``k_source``, ``weight``, ``split``, ``merged`` are added) or a list of
    HS6 codes (returns the sorted target codes). ``weights``: target code -> trade value
    for splitting (``concordance.concord_codes``). Returns ``(basket, notes)``; the notes
    say what was split, merged or lost.
    """
    from optimize.data.concordance import concord_codes

    if isinstance(basket, pd.DataFrame):
        b = basket.assign(k=basket["k"].astype(str).str.strip().str.zfill(6))
        m = concord_codes(b["k"], from_revision, to_revision, weights=weights)
        out = (b.drop_duplicates("k").rename(columns={"k": "k_source"})
               .merge(m.pairs.rename(columns={"k_from": "k_source", "k_to": "k"}), on="k_source"))
        cols = ["k"] + [c for c in out.columns if c != "k"]
        return out[cols].sort_values(["k", "k_source"], kind="mergesort").reset_index(drop=True), list(m.notes)
    m = concord_codes([str(c) for c in basket], from_revision, to_revision, weights=weights)
    return m.codes, list(m.notes)
