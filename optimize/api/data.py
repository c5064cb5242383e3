"""The data part of the public API: validated trade data in any layout, data facts, downloads, conversion.

Values: BACI ``v`` is thousands of USD (kUSD); quantities ``q`` are tonnes.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimize.api.checks import api_checked
from optimize.tokens import split_tokens as _tokens

if TYPE_CHECKING:  # imported lazily at call time to keep ``import optimize`` fast
    import pandas as pd

    from optimize.data.trade import TradeData


@api_checked
def load_trade(source: str | Path | Sequence[str | Path] | pd.DataFrame | TradeData | None = None, *,
               years: int | Iterable[int] | None = None, products: str | Iterable[str] | None = None,
               importers: Any = None, exporters: Any = None, cache: bool = True, columns: Any = None,
               year: int | None = None, country_codes: str = "baci", value_unit: str = "kusd") -> TradeData:
    """Validated BACI flows as ``TradeData`` (``.flows``: t, i, j, k, v kUSD, q tonnes).

    ``source``: None = the embedded SYNTHETIC sample; a BACI release zip, CSV,
    CSV.gz, parquet or folder (``baci.read_baci``: filters applied while scanning,
    parquet cache); several such files (a list or tuple; each year in one file only);
    or a pandas DataFrame in BACI layout (same validation, a bad row
    raises ``DataError`` naming it). Filters: ``years``, ``products`` (HS6 codes),
    ``importers``/``exporters`` (ISO3, BACI codes or groups). Another layout
    (``optimize.data.layouts``): ``columns`` ("t=year,i=ex_id,..." or a dict), ``year``
    for a file without a year column, ``country_codes`` "baci"|"iso3", ``value_unit``
    "kusd"|"usd"; the file is then converted to BACI layout and validated (no cache).
    """
    from optimize.data import baci
    from optimize.data.layouts import Layout, parse_columns

    years, products = baci.check_read_args(years, products)
    layout = Layout(parse_columns(columns), year, country_codes, value_unit)
    if isinstance(source, (list, tuple)):
        if len(source) != 1:
            data = _several_files([str(p) for p in source], cache)
            return _filtered(data, years, products, importers, exporters)
        source = source[0]
    if layout.is_baci and (source is None or isinstance(source, (str, Path))):
        return baci.read_baci(source, years=years, products=products, importers=importers, exporters=exporters,
                              cache=cache)
    data = _trade_in_memory(source, layout)
    if all(f is None for f in (years, products, importers, exporters)):
        return data
    return _filtered(data, years, products, importers, exporters)


def _several_files(paths: list[str], cache: bool) -> TradeData:
    """The flows of several BACI files as one ``TradeData``; a year held by two files, or files of two HS
    revisions, is a ``DataError`` naming both files."""
    from dataclasses import replace

    import pandas as pd

    from optimize.data import baci
    from optimize.errors import DataError

    if not paths:
        raise DataError("no BACI file given", file="--baci", fix="give one or more files, or a folder")
    parts = [baci.read_baci(p, cache=cache) for p in paths]
    seen: dict[int, str] = {}
    for p, d in zip(paths, parts, strict=True):
        if d.hs_revision and parts[0].hs_revision and d.hs_revision != parts[0].hs_revision:
            raise DataError(f"{d.hs_revision} file beside a {parts[0].hs_revision} file ({paths[0]})", file=p,
                            fix="give files of one HS revision (codes differ between revisions)")
        for y in d.years:
            if y in seen:
                raise DataError(f"year {y} is in two files (also in {seen[y]})", file=p, field="t",
                                fix="give each year once (one file per year, or one folder)")
            seen[y] = p
    flows = pd.concat([d.flows for d in parts], ignore_index=True).sort_values(["t", "i", "j", "k"], kind="stable")
    return replace(parts[0], flows=flows.reset_index(drop=True), source="; ".join(paths), sha256=None,
                   release=parts[0].release if len({d.release for d in parts}) == 1 else None,
                   notes=[n for d in parts for n in d.notes])


def _trade_in_memory(source, layout) -> TradeData:
    """``TradeData`` as given, a DataFrame validated (after mapping a non-BACI ``layout``), or a converted file."""
    import pandas as pd

    from optimize.data import baci
    from optimize.data.layouts import read_layout, to_baci
    from optimize.data.trade import TradeData

    if isinstance(source, TradeData):
        return source
    if isinstance(source, pd.DataFrame):
        frame = source if layout.is_baci else to_baci(source, layout, file="DataFrame")
        return baci.from_dataframe(frame, source="DataFrame")
    if source is None:
        from optimize.errors import InputError

        raise InputError("a layout needs a file", field="source", fix="pass the file to convert")
    return read_layout(source, layout)


def _filtered(data: TradeData, years, products, importers, exporters) -> TradeData:
    """``data`` with only the rows of the given years, HS6 codes, importers and exporters."""
    from dataclasses import replace

    import pandas as pd

    from optimize.data.countries import resolve_countries

    f = data.flows
    mask = pd.Series(True, index=f.index)
    if years is not None:
        mask &= f["t"].isin([int(y) for y in ([years] if isinstance(years, int) else years)])
    if products is not None:
        mask &= f["k"].isin(_tokens(products))
    if importers is not None:
        mask &= f["j"].isin(resolve_countries(importers))
    if exporters is not None:
        mask &= f["i"].isin(resolve_countries(exporters))
    return replace(data, flows=f.loc[mask].reset_index(drop=True))


@api_checked
def data_info(path: str | Path | None = None, *, cache_dir: str | Path | None = None) -> dict:
    """Years, rows, products, countries, total value (USD) and missing-quantity share of a BACI source."""
    from optimize.data.baci import data_info as _info

    return _info(path, cache_dir=cache_dir)


@api_checked
def validate_data(path: str | Path, *, single_year: bool = False) -> tuple[TradeData | None, list]:
    """Check a BACI file (no cache): (its data, []) when clean, else (None, its problems), each naming the file,
    rows, count and a fix; an unreadable file is one problem, the ``DataError`` itself. ``single_year``:
    several years in one file are a problem."""
    from optimize.data.baci import read_baci
    from optimize.errors import DataError

    try:
        return read_baci(path, cache=False, expect_single_year=single_year), []
    except DataError as exc:
        return None, list(getattr(exc, "problems", None) or [exc])


@api_checked
def fetch(hs: str = "HS22", release: str = "latest", *, base_url: str | None = None, page_url: str | None = None,
          cache_dir: str | Path | None = None, progress: bool | None = None, deadline_s: float | None = None,
          stall_s: float | None = None) -> tuple[str, Path]:
    """Download ``BACI_{hs}_V{release}.zip`` (``"latest"`` = newest on CEPII's page); returns (release, path).

    The download ends within ``deadline_s`` seconds (default 4 h) and is abandoned as stalled after
    ``stall_s`` seconds (default 60) with less than 16 KiB received (``FetchError``, exit 2)."""
    from optimize.data.fetch import DEFAULT_BASE_URL, fetch_release
    from optimize.data.releases import DEFAULT_PAGE_URL, latest_release

    if release.lower() == "latest":
        release = latest_release(hs, page_url or DEFAULT_PAGE_URL)
    return release, fetch_release(hs, release, base_url=base_url or DEFAULT_BASE_URL, cache_dir=cache_dir,
                                  progress=progress, deadline_s=deadline_s, stall_s=stall_s)


@api_checked
def releases(page_url: str | None = None) -> list:
    """CEPII's BACI releases (newest first), each with ``version`` and the ``hs`` revisions it offers."""
    from optimize.data.releases import DEFAULT_PAGE_URL, list_releases

    return list_releases(page_url or DEFAULT_PAGE_URL)


@api_checked
def convert_data(path: str | Path, *, out: str | Path | None = None, overwrite: bool = False,
                 columns: str | None = None, year: int | None = None, country_codes: str = "baci",
                 value_unit: str = "kusd", comtrade: str | None = None, to: str = "parquet") -> Path:
    """Write a validated BACI-layout parquet copy of ``path`` (atomic); returns the written path.

    A BACI file (zip, CSV, CSV.gz) is copied as is; any other layout is mapped with
    ``columns`` (``"t=year,i=ex_id,j=im_id,k=code,v=value,q=quantity"``), ``year`` (files
    without a year column), ``country_codes`` (``"baci"`` or ``"iso3"``, mapped to the code
    valid in the year) and ``value_unit`` (``"kusd"`` or ``"usd"``); ``comtrade="M"``/``"X"``
    reads a UN Comtrade bulk CSV. An existing output is replaced only with ``overwrite``.
    """
    from optimize.data.layouts import Layout, convert_layout, parse_columns

    layout = Layout(parse_columns(columns), year, country_codes, value_unit)
    if layout.is_baci and comtrade is None:
        from optimize.data.convert import convert

        written = convert(path, to=to, out=out, overwrite=overwrite)
    else:
        written = convert_layout(path, layout, out, comtrade_flow=comtrade, overwrite=overwrite)
    for text in _value_warnings_of(written):  # e.g. a file in USD read as BACI's thousands of USD
        logging.getLogger("tradeopt.data").warning("WARNING: %s", text)
    return written


def _value_warnings_of(path: str | Path) -> list[str]:
    """Totals of a BACI-layout parquet file that no real BACI file can have, one line per year (``[]`` when
    plausible): world goods trade is about USD 20-25 trillion a year; values 1000x too large are USD read as
    BACI's thousands of USD (``--value-unit usd``)."""
    import pyarrow.parquet as pq

    from optimize.data.hints import value_warnings

    tbl = pq.read_table(path, columns=["t", "k", "v"])
    return value_warnings(tbl["t"].to_numpy(), tbl["k"].to_numpy(zero_copy_only=False), tbl["v"].to_numpy())
