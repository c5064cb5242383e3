"""Scan one BACI CSV (plain, ``.gz`` or a zip member) in blocks: header, rows, validation, cache.

Python reads the bytes ``BLOCK`` at a time and Arrow parses whole lines from
in-memory buffers. So the header is parsed here (names are trimmed: ``t, i, j``
works), a line longer than ``MAX_LINE`` bytes is a ``DataError`` naming the row
(a 200 MB member without a line break used to abort the interpreter), and no
Python file object is ever handed to Arrow's threads.
"""
from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from optimize.data.frame import repeated_keys
from optimize.data.normalise import normalise_table
from optimize.data.trade import ARROW_SCHEMA, BACI_COLUMNS
from optimize.data.validate import (
    Problem,
    column_problems,
    merge_problems,
    raise_for_problems,
    validate_flows,
)
from optimize.errors import DataError

BLOCK = 1 << 24  # 16 MB read blocks
MAX_LINE = 1 << 20  # 1 MB: a BACI row is ~40 bytes
READ_ERRORS = (pa.ArrowException, OSError, EOFError, zlib.error, zipfile.BadZipFile, UnicodeDecodeError, ValueError)


@contextmanager
def open_stream(source: Path, member: str | None):
    """A binary stream of a CSV, CSV.gz or zip member (closed on exit, zip included)."""
    if member is not None:
        with zipfile.ZipFile(source) as zf, zf.open(member) as fh:
            yield fh
        return
    compression = "gzip" if source.suffix == ".gz" else None
    with pa.input_stream(str(source), compression=compression) as fh:
        yield fh


def _convert_options(all_strings: bool = False) -> pacsv.ConvertOptions:
    if all_strings:
        types = {c: pa.string() for c in BACI_COLUMNS}
    else:
        types = {"t": pa.int64(), "i": pa.int64(), "j": pa.int64(), "k": pa.string(), "v": pa.float64(),
                 "q": pa.string()}
    return pacsv.ConvertOptions(column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False,
                                null_values=["", "NA", "nan", "NaN"])


def _check_header(line: bytes, label: str) -> None:
    text = line.decode("utf-8-sig", errors="replace").rstrip("\r")
    names = [n.strip().strip('"').strip() for n in text.split(",")]
    if names != list(BACI_COLUMNS):
        probs = column_problems(names, label)
        if not probs:
            probs.append(Problem("column_order", label, None, 1, (), f"columns are {names}",
                                 f"use the column order {','.join(BACI_COLUMNS)}"))
        raise_for_problems(probs)


def _too_long(label: str, row: int | None) -> DataError:
    where = "the header line" if row is None else f"row {row}"
    return DataError(f"{where} is longer than {MAX_LINE >> 20} MB without a line break: not a BACI CSV",
                     file=label, rows=None if row is None else [row],
                     fix="the file is corrupted or not a CSV of t,i,j,k,v,q rows; download it again")


def iter_tables(fh, label: str, all_strings: bool = False) -> Iterator[pa.Table]:
    """Raw tables (BACI column names) of the data rows of an open CSV stream, header checked."""
    carry = b""
    header_done = False
    rows = 0
    read_opts = pacsv.ReadOptions(column_names=list(BACI_COLUMNS), block_size=BLOCK)
    conv = _convert_options(all_strings)
    eof = False
    while not eof:
        chunk = fh.read(BLOCK)
        eof = not chunk
        buf = carry + chunk if chunk else carry
        if not header_done:
            nl = buf.find(b"\n")
            if nl < 0 and not eof:
                if len(buf) > MAX_LINE:
                    raise _too_long(label, None)
                carry = buf
                continue
            if not buf.strip():
                raise DataError("file is empty (no header, no rows)", file=label, fix="use a complete BACI file")
            _check_header(buf if nl < 0 else buf[:nl], label)
            header_done = True
            buf = b"" if nl < 0 else buf[nl + 1:]
        cut = len(buf) - 1 if eof else buf.rfind(b"\n")
        if cut < 0:
            if len(buf) > MAX_LINE:
                raise _too_long(label, rows + 1)
            carry = buf
            continue
        body, carry = buf[:cut + 1], buf[cut + 1:]
        if len(carry) > MAX_LINE:
            raise _too_long(label, rows + body.count(b"\n") + 1)
        if body.strip():
            tbl = pacsv.read_csv(pa.py_buffer(body), read_options=read_opts, convert_options=conv)
            rows += tbl.num_rows
            yield tbl


def _progress(tables, label: str):
    """Iterate tables with a rows-read progress bar on an interactive terminal (stderr)."""
    from tqdm import tqdm

    from optimize.progress import progress_disabled

    with tqdm(desc=f"reading {Path(label).name}", unit=" rows", unit_scale=True, disable=progress_disabled(),
              leave=False) as bar:
        for tbl in tables:
            yield tbl
            bar.update(tbl.num_rows)


def _diagnose_raw(source: Path, member: str | None, label: str, known, arrow_msg: str):
    """Slow path after a typed read failed: read everything as strings and report exact rows."""
    problems: list[Problem] = []
    try:
        with open_stream(source, member) as fh:
            offset = 0
            for tbl in iter_tables(fh, label, all_strings=True):
                rows = np.arange(offset + 1, offset + tbl.num_rows + 1)
                problems += validate_flows(tbl, file=label, countries=known, expect_single_year=False,
                                           row_numbers=rows, check_duplicates=False)
                offset += tbl.num_rows
    except DataError:
        raise
    except READ_ERRORS as exc:
        raise DataError(f"cannot read as a BACI CSV: {exc}", file=label,
                        fix="the file may be truncated or not CSV; download it again") from exc
    raise_for_problems(merge_problems(problems))
    raise DataError(f"cannot convert values: {arrow_msg}", file=label, fix="check the file is a BACI CSV")


def scan_csv(source: Path, member: str | None, label: str, filters, *, validate: bool, known,
             expect_single_year: bool, cache=None) -> pa.Table:
    """Stream a CSV (or zip member) once: normalise, validate, feed ``cache`` (a ``CacheWriter``), keep
    the rows ``filters`` select. The caller commits or discards the cache entry."""
    kept: list[pa.Table] = []
    problems: list[Problem] = []
    keys: list[pa.Table] = []
    offset = 0
    try:
        with open_stream(source, member) as fh:
            for raw in _progress(iter_tables(fh, label), label):
                tbl = normalise_table(raw)
                n = tbl.num_rows
                if validate:
                    rows = np.arange(offset + 1, offset + n + 1)
                    problems += validate_flows(tbl, file=label, countries=known, row_numbers=rows,
                                               check_duplicates=False)
                    keys.append(tbl.select(["t", "i", "j", "k"]))
                if cache is not None:
                    cache.write(tbl)
                kept.append(filters.apply(tbl))
                offset += n
    except DataError:
        raise
    except pa.ArrowInvalid as exc:
        _diagnose_raw(source, member, label, known, str(exc))
    except READ_ERRORS as exc:
        raise DataError(f"cannot read as a BACI CSV: {type(exc).__name__}: {exc}", file=label,
                        fix="the file may be truncated or corrupted; download it again") from exc
    if validate:
        problems += _whole_file_problems(keys, offset, label, expect_single_year)
        raise_for_problems(merge_problems(problems))
    return pa.concat_tables(kept) if kept else ARROW_SCHEMA.empty_table()


def _whole_file_problems(keys: list[pa.Table], offset: int, label: str, expect_single_year: bool) -> list[Problem]:
    """Problems visible only across all chunks: no data rows, duplicate keys, more than one year."""
    if offset == 0:
        return [Problem("empty", label, None, 1, (), "no data rows (header only)", "use a complete BACI file")]
    tbl = pa.concat_tables(keys)
    problems = repeated_keys(tbl, label)
    t = tbl["t"].to_numpy()
    if expect_single_year and np.unique(t).size > 1:
        problems += validate_flows(pd.DataFrame({c: tbl[c].to_numpy(zero_copy_only=False) for c in ("t", "i", "j", "k")}
                                                | {"v": 0.0, "q": 0.0}), file=label,
                                   expect_single_year=True, check_duplicates=False)
    return problems
