"""Filters of a BACI read (years, HS6 codes, importers, exporters) and the filtered Parquet scan.

Every filter sees normalised values: a user's Parquet gets only filters on integer
t/i/j columns pushed down to the file; HS codes are compared after trimming and
zero-padding (``normalise.normalise_table``). Only our own cache files (already
normalised) get every filter pushed down.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from optimize.data import countries as _countries
from optimize.data.csvread import READ_ERRORS
from optimize.data.normalise import is_normal, normalise_codes, normalise_table
from optimize.data.trade import ARROW_SCHEMA, BACI_COLUMNS
from optimize.data.validate import (
    Problem,
    code_problems,
    context_problems,
    raise_for_problems,
    validate_flows,
)
from optimize.errors import DataError, InputError


@dataclass(frozen=True)
class Filters:
    years: tuple[int, ...] | None
    products: tuple[str, ...] | None
    importers: tuple[int, ...] | None
    exporters: tuple[int, ...] | None

    def mask(self, tbl: pa.Table):
        m = None
        for col, vals in (("t", self.years), ("k", self.products), ("j", self.importers), ("i", self.exporters)):
            if vals is not None:
                arr = pa.array(vals, type=ARROW_SCHEMA.field(col).type)
                cond = pc.is_in(tbl[col], value_set=arr)
                m = cond if m is None else pc.and_(m, cond)
        return m

    def expression(self):
        e = None
        for col, vals in (("t", self.years), ("k", self.products), ("j", self.importers), ("i", self.exporters)):
            if vals is not None:
                cond = ds.field(col).isin(list(vals))
                e = cond if e is None else e & cond
        return e

    def apply(self, tbl: pa.Table) -> pa.Table:
        m = self.mask(tbl)
        return tbl if m is None else tbl.filter(m)


def _int_tuple(vals) -> tuple[int, ...] | None:
    if vals is None:
        return None
    if isinstance(vals, (int, np.integer, str)):
        vals = [vals]
    return tuple(sorted({int(float(v)) for v in vals}))


def check_read_args(years, products) -> tuple:
    """(years, products) with iterables made tuples; ``InputError`` for years that are not whole numbers
    and products that are not HS6 code strings."""
    if years is not None and not isinstance(years, (int, np.integer, str)) and isinstance(years, Iterable):
        years = tuple(years)
    if products is not None and not isinstance(products, str) and isinstance(products, Iterable):
        products = tuple(products)
    vals = [years] if isinstance(years, (int, np.integer, str)) else years
    if years is not None:
        try:
            bad = [y for y in vals if isinstance(y, bool) or float(y) != int(float(y))]
        except (TypeError, ValueError):
            bad = [years]
        if not bad and not list(vals):
            raise InputError("years is an empty list", field="years",
                             fix="pass years=None for every year, or list them")
        if bad:
            raise InputError(f"years must be whole numbers, got {bad[0]!r}", field="years",
                             fix="pass a year or a list of years, e.g. years=2023 or years=[2022, 2023]")
    if products is not None and not isinstance(products, str):
        items = products if isinstance(products, Iterable) else [products]
        bad = [p for p in items if not isinstance(p, str)]
        if bad:
            raise InputError(f"HS6 codes must be strings, got {bad[0]!r} ({type(bad[0]).__name__})",
                             field="products",
                             fix="pass codes as text, e.g. products=['850440'] (an integer loses leading zeros)")
    return years, products


def make_filters(years, products, importers, exporters) -> Filters:
    prods = None
    if products is not None:
        if isinstance(products, str):
            products = [p for p in re.split(r"[,\s]+", products) if p]
        prods = tuple(sorted({str(p).strip().zfill(6) for p in products}))
    imp = None if importers is None else tuple(sorted(_countries.resolve_countries(importers)))
    exp = None if exporters is None else tuple(sorted(_countries.resolve_countries(exporters)))
    return Filters(_int_tuple(years), prods, imp, exp)


class ParquetScan(NamedTuple):
    table: pa.Table  # the selected rows, ARROW_SCHEMA
    normal: bool  # normalising the raw columns scanned was only a cast (``normalise.is_normal``)
    complete: bool  # every row of the file is in ``table`` (so every row was checked when validating)


def scan_parquet(path: Path, label: str, filters: Filters, *, validate: bool, known,
                 expect_single_year: bool, trusted: bool = False, validated: bool = False,
                 normal: bool = False) -> ParquetScan:
    """Scan a parquet file (``ParquetScan``).

    ``trusted`` files (our cache) and ``validated`` ones (these very bytes passed every check before:
    ``cache.validated_marker``) get only the read-dependent checks; when they are also ``normal`` (trusted
    files always are) every filter is pushed down and nothing is normalised. Otherwise only the integer-typed
    t/i/j filters are pushed down, the rest applied after normalising, and a user's file gets every check
    but duplicate keys (``read_baci`` finds those while sorting)."""
    try:
        dataset = ds.dataset(str(path), format="parquet")
        raw_names = dataset.schema.names
        names = [str(n).strip() for n in raw_names]
        if sorted(names) != sorted(BACI_COLUMNS):
            raise_for_problems(validate_flows(pd.DataFrame(columns=names), file=label))
        raw_of = dict(zip(names, raw_names, strict=True))
        if trusted or (validated and normal):
            tbl = _scan_normal(dataset, raw_of, filters)
            was_normal = True
        else:
            tbl, was_normal = _scan_normalising(dataset, raw_of, filters)
        complete = tbl.num_rows == dataset.count_rows()  # from the file's metadata
        if validate and not (trusted or validated) and not complete:
            _refuse_bad_codes(dataset, raw_of["k"], label)  # rows outside the selection too, as a CSV read
    except DataError:
        raise
    except READ_ERRORS as exc:
        raise DataError(f"cannot read parquet: {type(exc).__name__}: {exc}", file=label,
                        fix="the file may be truncated or not parquet") from exc
    if validate:
        if tbl.num_rows == 0 and filters.expression() is None:
            raise_for_problems([Problem("empty", label, None, 1, (), "no data rows", "use a complete BACI file")])
        if tbl.num_rows and (trusted or validated):  # these bytes were validated when cached or read before
            raise_for_problems(context_problems(tbl, file=label, countries=known,
                                                expect_single_year=expect_single_year))
        elif tbl.num_rows:  # an empty *filtered* part is checked by read_baci as a whole
            raise_for_problems(validate_flows(tbl, file=label, countries=known, check_duplicates=False,
                                              expect_single_year=expect_single_year))
    return ParquetScan(tbl, was_normal, complete)


def _scan_normal(dataset, raw_of: dict, filters: Filters) -> pa.Table:
    """Only the selected rows of a file that needs no normalising but the cast to ``ARROW_SCHEMA``: every
    filter pushed down, one threaded scan."""
    tbl = dataset.to_table(filter=_pushdown_expression(filters, raw_of), columns=[raw_of[c] for c in BACI_COLUMNS])
    return tbl.rename_columns(list(BACI_COLUMNS)).cast(ARROW_SCHEMA)


def _scan_normalising(dataset, raw_of: dict, filters: Filters) -> tuple[pa.Table, bool]:
    """The selected rows of a user's file, batch by batch normalised before the filters not pushed down;
    also whether normalising every raw batch was only a cast."""
    expr = _pushdown_expression(_untrusted_pushdown(filters, dataset, raw_of), raw_of)
    parts, was_normal = [], True
    for batch in dataset.to_batches(filter=expr, columns=[raw_of[c] for c in BACI_COLUMNS]):
        raw = pa.Table.from_batches([batch]).rename_columns(list(BACI_COLUMNS))
        was_normal = was_normal and is_normal(raw)
        parts.append(filters.apply(normalise_table(raw)))
    return (pa.concat_tables(parts) if parts else ARROW_SCHEMA.empty_table()), was_normal


def _refuse_bad_codes(dataset, raw_k: str, label: str) -> None:
    """``DataError`` naming the rows of the whole file whose product code is empty or malformed (reads only k)."""
    k = normalise_codes(dataset.to_table(columns=[raw_k]).column(0))
    raise_for_problems(code_problems(k, file=label, rows_of=np.arange(1, len(k) + 1)))


def _untrusted_pushdown(filters: Filters, dataset, raw_of: dict) -> Filters:
    """The part of ``filters`` safe to push down into a user's file: t/i/j filters on integer-typed columns only."""
    def integer(c):
        return pa.types.is_integer(dataset.schema.field(raw_of[c]).type)
    return Filters(filters.years if integer("t") else None, None,
                   filters.importers if integer("j") else None, filters.exporters if integer("i") else None)


def _pushdown_expression(pushdown: Filters, raw_of: dict):
    """A dataset filter expression (``isin`` on each set filter, ANDed) over the raw column names, or None."""
    expr = None
    for col, vals in (("t", pushdown.years), ("j", pushdown.importers), ("i", pushdown.exporters),
                      ("k", pushdown.products)):
        if vals is not None:
            cond = ds.field(raw_of[col]).isin(list(vals))
            expr = cond if expr is None else expr & cond
    return expr
