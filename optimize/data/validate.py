"""Vectorised checks of a BACI flow table (raw strings or typed columns).

Each finding is a ``Problem`` with the kind, file, first few 1-based data row
numbers, count, field and a fix. ``raise_for_problems`` turns them into one
``DataError``. No per-row Python: every check is a numpy/pandas vector op.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pyarrow as pa

from optimize.data.hints import iso3_hint, other_layout
from optimize.data.keys import duplicated_keys, hs6_as_int
from optimize.data.trade import ARROW_SCHEMA, BACI_COLUMNS
from optimize.errors import DataError
from optimize.vocab import plural

MAX_ROWS_SHOWN = 5
NULL_TOKENS = ("", "NA", "NAN", "NULL", "NONE")
#: Largest plausible single flow: v in kUSD (1e12 kUSD = 1,000 trillion USD, ~40x world trade) and q in tonnes.
MAX_FLOW = 1e12
#: The years a flow may carry (a row outside is refused; so is a --year outside).
FIRST_YEAR, LAST_YEAR = 1900, 2100
_YEAR_OUTSIDE = f"year outside {FIRST_YEAR}-{LAST_YEAR}"


@dataclass(frozen=True)
class Problem:
    """One kind of defect found in a table. ``rows``: first few 1-based data rows."""

    kind: str
    file: str
    field: str | None
    count: int
    rows: tuple[int, ...]
    message: str
    fix: str

    def __str__(self) -> str:
        rows = ", ".join(map(str, self.rows))
        more = f" (+{self.count - len(self.rows)} more)" if self.count > len(self.rows) else ""
        where = f"rows {rows}{more}" if rows else "whole file"
        fld = f" field '{self.field}'" if self.field else ""
        return f"{self.file}: {where}:{fld} {self.message} [{self.kind}, {self.count}x] Fix: {self.fix}"


def merge_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Combine problems of the same (kind, file, field): counts add, first rows kept."""
    out: dict[tuple, Problem] = {}
    for p in problems:
        key = (p.kind, p.file, p.field)
        if key in out:
            q = out[key]
            rows = tuple(sorted(set(q.rows) | set(p.rows)))[:MAX_ROWS_SHOWN]
            out[key] = replace(q, count=q.count + p.count, rows=rows)
        else:
            out[key] = p
    return list(out.values())


_UNIT = {"v": "kUSD", "q": "tonnes"}
_BOUND_FIX = {"v": "column v holds thousands of USD (a file in USD: data convert --value-unit usd); check the "
                   "units or the row (world trade is ~25e9 kUSD a year)",
              "q": "column q holds metric tonnes; check the units or the row"}


def _as_frame(table) -> pd.DataFrame:
    if isinstance(table, pa.Table):
        return table.to_pandas()
    if isinstance(table, pd.DataFrame):
        return table
    raise TypeError(f"expected a pyarrow Table or pandas DataFrame, got {type(table).__name__}")


def _text(col: pd.Series) -> pd.Series:
    """Column as stripped strings with NA for null tokens."""
    s = col.astype("string").str.strip()
    return s.mask(s.str.upper().isin(NULL_TOKENS))


def _numeric(col: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values float64, is_null, is_unparseable) of a raw or typed column."""
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        vals = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return vals, np.isnan(vals), np.zeros(len(col), bool)
    s = _text(col)
    null = s.isna().to_numpy()
    vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return vals, null, np.isnan(vals) & ~null


def normalise_hs6(col: pd.Series) -> pd.Series:
    """HS codes as 6-character strings: strip, drop a trailing '.0', left-pad with zeros; empty -> NA."""
    s = col.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    s = s.mask(s.str.upper().isin(NULL_TOKENS))
    return s.str.pad(6, side="left", fillchar="0")


def column_problems(names: list[str], file: str) -> list[Problem]:
    """Missing and unexpected columns of a BACI table (names already stripped)."""
    missing = [c for c in BACI_COLUMNS if c not in names]
    extra = [c for c in names if c not in BACI_COLUMNS]
    twice = sorted({c for c in names if names.count(c) > 1})
    problems = []
    if twice:
        problems.append(Problem("duplicate_column", file, ",".join(twice), 1, (), f"column(s) {twice} appear twice",
                                "keep one column of each name"))
    if missing and extra:  # another layout: one problem, naming the --columns that map it
        return problems + [Problem("other_layout", file, ",".join(names), 1, (), *other_layout(names, file))]
    if missing:
        problems.append(Problem("missing_column", file, ",".join(missing), 1, (), f"missing column(s) {missing}",
                                f"BACI files need the columns {','.join(BACI_COLUMNS)}"))
    if extra:
        problems.append(Problem("extra_column", file, ",".join(extra), 1, (), f"unexpected column(s) {extra}",
                                f"keep only the columns {','.join(BACI_COLUMNS)}"))
    return problems


def _known_codes(countries) -> np.ndarray:
    return np.asarray(sorted(set(countries["baci_code"]) if isinstance(countries, pd.DataFrame) else set(countries)),
                      dtype="int64")


def code_problems(k, *, file: str, rows_of: np.ndarray) -> list[Problem]:
    """Empty and malformed HS6 codes of a normalised ``k`` column (Arrow); ``rows_of``: their 1-based file rows."""
    import pyarrow.compute as pc

    problems: list[Problem] = []
    add = _typed_adder(problems, file, rows_of)
    if k.null_count:
        add("missing_value", pc.is_null(k), "k", "HS6 code is empty", "every row needs a product code")
    good_k = pc.and_(pc.equal(pc.utf8_length(k), 6), pc.ascii_is_decimal(k))
    add("malformed_hs6", pc.invert(good_k), "k", "HS6 code is not 6 digits after zero-padding",
        "use 6-digit HS codes like 010121")
    return problems


def _validate_typed(tbl: pa.Table, *, file: str, countries, expect_single_year: bool, rows_of: np.ndarray,
                    check_duplicates: bool) -> list[Problem]:
    """``validate_flows`` for a table already cast to ``ARROW_SCHEMA`` (the reader's
    normal case): the same problems, found with Arrow kernels, no pandas copies."""
    import pyarrow.compute as pc

    problems = code_problems(tbl["k"], file=file, rows_of=rows_of)
    add = _typed_adder(problems, file, rows_of)
    _check_typed_columns(tbl, add)
    add("self_trade", pc.equal(tbl["i"], tbl["j"]), "i,j", "exporter equals importer",
        "drop flows from a country to itself")
    years = tbl["t"]
    low, high = (x.as_py() for x in pc.min_max(years).values())
    if low is not None and (low < FIRST_YEAR or high > LAST_YEAR):
        add("bad_year", pc.or_(pc.less(years, FIRST_YEAR), pc.greater(years, LAST_YEAR)), "t", _YEAR_OUTSIDE,
            "column t holds the year, e.g. 2023")
    _context_checks(tbl, add, countries, expect_single_year)
    if check_duplicates:
        problems += duplicate_problems(years.to_numpy(zero_copy_only=False).astype("float64"),
                                       tbl["i"].to_numpy(zero_copy_only=False),
                                       tbl["j"].to_numpy(zero_copy_only=False), tbl["k"], rows_of, file)
    return problems


def _context_checks(tbl: pa.Table, add, countries, expect_single_year: bool) -> None:
    """The checks of a typed table that depend on the read, not on the bytes: country codes against this
    read's country table, and several years when one is expected."""
    import pyarrow.compute as pc

    if countries is not None:
        codes = _known_codes(countries)
        for c in ("i", "j"):
            if _all_known(tbl[c], codes):
                continue
            add("unknown_country", pc.invert(pc.is_in(tbl[c], value_set=pa.array(codes, type=pa.int32()))), c,
                "country code not in the country table",
                "use BACI country codes (see the release's country_codes_*.csv)")
    several = _several_years(tbl["t"].to_numpy(zero_copy_only=False).astype("float64")) if expect_single_year else None
    if several is not None:
        add("several_years", pa.array(several[0]), "t", several[1], "pass years=[...] to pick one, or split the file")


def _all_known(col: pa.ChunkedArray, codes: np.ndarray) -> bool:
    """True when every value of an integer code column is in ``codes`` (the distinct values are found by
    counting, one pass; a mask is made only when one is unknown)."""
    import pyarrow.compute as pc

    if col.null_count:
        return False
    low, high = (x.as_py() for x in pc.min_max(col).values())
    if low is None:
        return True
    if low < 0 or high > 1_000_000:
        return False
    present = np.flatnonzero(np.bincount(col.to_numpy(), minlength=high + 1))
    return bool(np.isin(present, codes).all())


def context_problems(tbl: pa.Table, *, file: str, countries, expect_single_year: bool) -> list[Problem]:
    """Problems of a typed table already validated once by the same reader (a cache entry): only the checks
    that depend on this read (``_context_checks``)."""
    problems: list[Problem] = []
    _context_checks(tbl, _typed_adder(problems, file, None), countries, expect_single_year)  # rows: position + 1
    return problems


def _typed_adder(problems: list[Problem], file: str, rows_of: np.ndarray | None):
    """``add(kind, mask, field, message, fix)``: append a problem for the rows an Arrow ``mask`` flags
    (``rows_of``: the 1-based file row of each position; None: the position + 1, no array made)."""
    import pyarrow.compute as pc

    def add(kind, mask, field, message, fix):
        if not pc.any(mask).as_py():  # the common case: nothing flagged, no boolean array made
            return
        idx = np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))
        if idx.size:
            problems.append(Problem(kind, file, field, int(idx.size), _rows_shown(rows_of, idx), message, fix))
    return add


def _rows_shown(rows_of: np.ndarray | None, idx: np.ndarray) -> tuple[int, ...]:
    """The first ``MAX_ROWS_SHOWN`` 1-based file rows of the flagged positions ``idx`` (``rows_of`` None: the
    position + 1)."""
    shown = idx[:MAX_ROWS_SHOWN]
    return tuple(int(r) for r in (shown + 1 if rows_of is None else rows_of[shown]))


def _several_years(years: np.ndarray) -> tuple[np.ndarray, str] | None:
    """(rows whose year differs from the first finite year, message) when there are several years, else None."""
    uniq = np.unique(years[np.isfinite(years)])
    if uniq.size <= 1:
        return None
    first_year = years[np.flatnonzero(np.isfinite(years))[0]]
    return (np.isfinite(years) & (years != first_year),
            f"several years in one file: {', '.join(str(int(y)) for y in uniq)}")


def _check_typed_columns(tbl: pa.Table, add) -> None:
    """Per-column checks of a typed table: missing (q may be), infinite, implausibly large, negative.
    Each column's null count and min/max come first; a row mask is made only for a check they do not clear."""
    import pyarrow.compute as pc

    for c in ("t", "i", "j", "v", "q"):  # q may be missing (null or NaN); the others may not
        col = tbl[c]
        floats = c in ("v", "q")
        low, high = (x.as_py() for x in pc.min_max(col).values())  # NaN and nulls skipped
        if c != "q" and (col.null_count or (floats and pc.any(pc.is_nan(col)).as_py())):
            missing = pc.or_kleene(pc.is_null(col), pc.is_nan(col)) if floats else pc.is_null(col)
            add("missing_value", missing, c, "value is missing", f"column {c} may not be empty")
        if floats and high is not None and high > MAX_FLOW:
            add("non_finite", pc.is_inf(col), c, "value is infinite", f"column {c} must be finite")
            add("implausible", pc.and_(pc.greater(col, MAX_FLOW), pc.invert(pc.is_inf(col))), c,
                f"value above {MAX_FLOW:g} ({_UNIT[c]}) for one flow", _BOUND_FIX[c])
        if low is not None and low < 0:
            add("negative", pc.less(col, 0), c, "value is negative", f"column {c} must be >= 0")


def _check_frame_columns(df: pd.DataFrame, add, file: str = "FILE") -> dict[str, np.ndarray]:
    """Per-column checks of a raw frame (numeric, missing, finite, plausible, >= 0, integer codes); parsed floats."""
    parsed = {}
    for c in ("t", "i", "j", "v", "q"):
        vals, null, unparse = _numeric(df[c])
        parsed[c] = vals
        iso3 = iso3_hint(df[c][unparse], c, file) if c in "ij" and unparse.any() else None
        add("non_numeric", unparse, c, "value is not a number", iso3 or f"column {c} must be numeric")
        if c != "q":
            add("missing_value", null, c, "value is missing", f"column {c} may not be empty")
        with np.errstate(invalid="ignore"):
            add("non_finite", np.isinf(vals), c, "value is infinite", f"column {c} must be finite")
            if c in _UNIT:
                add("implausible", np.isfinite(vals) & (vals > MAX_FLOW), c,
                    f"value above {MAX_FLOW:g} ({_UNIT[c]}) for one flow", _BOUND_FIX[c])
            add("negative", vals < 0, c, "value is negative", f"column {c} must be >= 0")
        if c in ("t", "i", "j"):
            frac = np.isfinite(vals) & (vals != np.floor(np.nan_to_num(vals)))
            add("non_integer", frac, c, "value is not an integer", f"column {c} holds integer codes")
    return parsed


def _check_frame_countries(parsed: dict[str, np.ndarray], countries, add) -> None:
    """Flag exporter and importer codes that are not in ``countries``."""
    known = _known_codes(countries).astype("float64")
    for c in ("i", "j"):
        v = parsed[c]
        add("unknown_country", np.isfinite(v) & ~np.isin(v, known), c, "country code not in the country table",
            "use BACI country codes (see the release's country_codes_*.csv)")


def validate_flows(
    table,
    *,
    file: str = "<table>",
    countries=None,
    expect_single_year: bool = False,
    row_numbers: np.ndarray | None = None,
    check_duplicates: bool = True,
) -> list[Problem]:
    """All problems of a BACI table (``pyarrow.Table`` or ``DataFrame``).

    ``countries``: known BACI codes (iterable of int or a country table with
    ``baci_code``); None skips that check. ``row_numbers``: 1-based file rows of
    the table's rows (default 1..n).
    """
    if isinstance(table, pa.Table) and table.num_rows and table.schema.equals(ARROW_SCHEMA):
        rows_of = np.arange(1, table.num_rows + 1) if row_numbers is None else np.asarray(row_numbers)
        return _validate_typed(table, file=file, countries=countries, expect_single_year=expect_single_year,
                               rows_of=rows_of, check_duplicates=check_duplicates)
    df = _as_frame(table)
    n = len(df)
    rows_of = np.arange(1, n + 1) if row_numbers is None else np.asarray(row_numbers)
    problems: list[Problem] = []

    def add(kind, mask, field, message, fix):
        idx = np.flatnonzero(mask)
        if idx.size:
            problems.append(Problem(kind, file, field, int(idx.size), _rows_shown(rows_of, idx), message, fix))

    cols = [str(c).strip() for c in df.columns]
    problems += column_problems(cols, file)
    if problems:
        return problems
    df = df.set_axis(cols, axis=1)
    if n == 0:
        return [Problem("empty", file, None, 1, (), "no data rows (empty file or header only)",
                        "use a complete BACI file")]

    # HS codes
    k = normalise_hs6(df["k"])
    add("missing_value", k.isna().to_numpy(), "k", "HS6 code is empty", "every row needs a product code")
    bad_k = (~k.str.fullmatch(r"\d{6}").fillna(True)).to_numpy()
    add("malformed_hs6", bad_k, "k", "HS6 code is not 6 digits after zero-padding",
        "use 6-digit HS codes like 010121")

    # numeric columns
    parsed = _check_frame_columns(df, add, file)
    ok = np.isfinite(parsed["i"]) & np.isfinite(parsed["j"])
    add("self_trade", ok & (parsed["i"] == parsed["j"]), "i,j", "exporter equals importer",
        "drop flows from a country to itself")
    if countries is not None:
        _check_frame_countries(parsed, countries, add)
    years = parsed["t"]
    with np.errstate(invalid="ignore"):
        add("bad_year", np.isfinite(years) & ((years < FIRST_YEAR) | (years > LAST_YEAR)), "t", _YEAR_OUTSIDE,
            "column t holds the year, e.g. 2023")
    several = _several_years(years) if expect_single_year else None
    if several is not None:
        add("several_years", several[0], "t", several[1], "pass years=[...] to pick one, or split the file")
    if check_duplicates and not any(p.kind in ("non_numeric", "missing_value") and p.field in ("t", "i", "j", "k")
                                    for p in problems):
        problems += duplicate_problems(years, parsed["i"], parsed["j"], k, rows_of, file)
    return problems


def duplicate_problems(t, i, j, k, rows_of, file: str) -> list[Problem]:
    """Problems for repeated (t, i, j, k) keys; rows listed are the repeats."""
    dup = duplicated_keys(np.asarray(t, dtype="float64"), np.asarray(i, dtype="float64"),
                          np.asarray(j, dtype="float64"), hs6_as_int(k))
    idx = np.flatnonzero(dup)
    if not idx.size:
        return []
    return [duplicate_key_problem(np.asarray(rows_of)[idx[:MAX_ROWS_SHOWN]], int(idx.size), file)]


def duplicate_key_problem(rows: np.ndarray, count: int, file: str) -> Problem:
    """The problem of ``count`` rows repeating an earlier (t, i, j, k); ``rows``: 1-based, ascending."""
    return Problem("duplicate_key", file, "t,i,j,k", count, tuple(int(r) for r in rows[:MAX_ROWS_SHOWN]),
                   "duplicate (year, exporter, importer, product) key", "keep one row per key (sum or dedupe upstream)")


def raise_for_problems(problems: list[Problem]) -> None:
    """Raise one ``DataError`` listing every problem; do nothing when the list is empty."""
    if not problems:
        return
    first = problems[0]
    lines = "; ".join(str(p) for p in problems)
    err = DataError(f"{plural(len(problems), 'data problem')}: {lines}", file=first.file, rows=list(first.rows) or None,
                    field=first.field, count=first.count, fix=None)
    err.problems = list(problems)
    raise err
