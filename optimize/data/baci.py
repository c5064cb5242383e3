"""Read CEPII BACI flows (release zip, CSV, CSV.gz, parquet, directory) into ``TradeData``.

Filters (years, products, importers, exporters) are applied batch by batch while
scanning, never after loading everything. The first read of a CSV or zip member
writes a validated parquet copy to the cache (``$TRADEOPT_CACHE``, else the OS user
cache folder, e.g. ``~/.cache/tradeopt``), keyed on source path, size, mtime and member; later reads
scan that parquet with pushed-down filters. All writes are atomic.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from optimize.data import countries as _countries
from optimize.data import products as _products
from optimize.errors import DataError
from optimize.resources import data_dir
from optimize.data.trade import ARROW_SCHEMA, BACI_COLUMNS, TradeData
from optimize.data.validate import (Problem, column_problems, duplicate_problems, merge_problems, raise_for_problems,
                               validate_flows)

SAMPLE_FILE = "BACI_SYNTHETIC_Y2023_sample.parquet"
_NAME_RE = re.compile(r"BACI_(?P<hs>HS\d\d|SYNTHETIC)(?:_Y(?P<year>\d{4}))?(?:_(?P<release>V\d{6}))?", re.I)
_READ_ERRORS = (pa.ArrowException, OSError, EOFError, zlib.error, zipfile.BadZipFile, UnicodeDecodeError, ValueError)
_BLOCK = 1 << 24  # 16 MB CSV blocks


# ------------------------------------------------------------------ small helpers
def cache_root(cache_dir: str | Path | None = None) -> Path:
    """Cache folder: ``cache_dir``, else ``$TRADEOPT_CACHE``, else the OS user cache (platformdirs)."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("TRADEOPT_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_path

    return user_cache_path("tradeopt", appauthor=False)


def parse_name(name: str) -> dict:
    """``BACI_HS22_Y2023_V202501.csv`` -> {hs: 'HS22', year: 2023, release: 'V202501'} (missing parts None)."""
    m = _NAME_RE.search(Path(str(name)).name)
    if not m:
        return {"hs": None, "year": None, "release": None}
    hs = m.group("hs").upper()
    return {"hs": None if hs == "SYNTHETIC" else hs, "year": int(m.group("year")) if m.group("year") else None,
            "release": m.group("release").upper() if m.group("release") else None}


@contextmanager
def atomic_path(final: Path):
    """Yield a temp path beside ``final``; ``os.replace`` it into place on success, delete on error."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cache_file(source: Path, member: str | None, root: Path) -> Path:
    st = source.stat()
    key = f"{source.resolve()}|{st.st_size}|{st.st_mtime_ns}|{member or ''}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    stem = Path(member or source.name).name.split(".")[0]
    return root / f"{stem}-{digest}.parquet"


@dataclass(frozen=True)
class _Filters:
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
    return tuple(sorted({int(v) for v in vals}))


def _make_filters(years, products, importers, exporters) -> _Filters:
    prods = None
    if products is not None:
        if isinstance(products, str):
            products = [p for p in re.split(r"[,\s]+", products) if p]
        prods = tuple(sorted({str(p).strip().zfill(6) for p in products}))
    imp = None if importers is None else tuple(sorted(_countries.resolve_countries(importers)))
    exp = None if exporters is None else tuple(sorted(_countries.resolve_countries(exporters)))
    return _Filters(_int_tuple(years), prods, imp, exp)


# ------------------------------------------------------------------ normalising arrow tables
def _normalise(tbl: pa.Table) -> pa.Table:
    """Cast a raw table to ``ARROW_SCHEMA``: k zero-padded to 6, q null for NA/blank. Raises ArrowInvalid."""
    cols = []
    for f in ARROW_SCHEMA:
        col = tbl[f.name]
        if f.name == "k":
            col = pc.utf8_trim_whitespace(col.cast(pa.string()))
            col = pc.replace_substring_regex(col, pattern=r"\.0$", replacement="")
            col = pc.utf8_lpad(col, width=6, padding="0")
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = pc.utf8_trim_whitespace(col)
            is_null = pc.is_in(pc.utf8_upper(col), value_set=pa.array(["", "NA", "NAN", "NULL"]))
            col = pc.if_else(is_null, pa.scalar(None, pa.string()), col).cast(f.type)
        else:
            col = col.cast(f.type)
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=ARROW_SCHEMA)


def _convert_options(all_strings: bool = False) -> pacsv.ConvertOptions:
    if all_strings:
        types = {c: pa.string() for c in BACI_COLUMNS}
    else:
        types = {"t": pa.int64(), "i": pa.int64(), "j": pa.int64(), "k": pa.string(), "v": pa.float64(), "q": pa.string()}
    return pacsv.ConvertOptions(column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False,
                                null_values=["", "NA", "nan", "NaN"])


# ------------------------------------------------------------------ CSV scanning
def _open_stream(source: Path, member: str | None):
    """A binary file object for a CSV, CSV.gz or zip member."""
    if member is not None:
        return zipfile.ZipFile(source).open(member)
    if source.suffix == ".gz":
        return pa.input_stream(str(source), compression="gzip")
    return pa.input_stream(str(source))


def _csv_reader(stream, all_strings=False):
    return pacsv.open_csv(stream, read_options=pacsv.ReadOptions(block_size=_BLOCK),
                          convert_options=_convert_options(all_strings))


def _check_header(reader, label: str) -> None:
    names = [n.strip() for n in reader.schema.names]
    if names != list(BACI_COLUMNS):
        probs = column_problems(names, label)
        if not probs:
            probs.append(Problem("column_order", label, None, 1, (), f"columns are {names}",
                                 f"use the column order {','.join(BACI_COLUMNS)}"))
        raise_for_problems(probs)


def _diagnose_raw(source: Path, member: str | None, label: str, known, expect_single_year, arrow_msg: str):
    """Slow path after a typed read failed: read everything as strings and report exact rows."""
    problems: list[Problem] = []
    try:
        with _open_stream(source, member) as fh:
            reader = _csv_reader(fh, all_strings=True)
            offset = 0
            for batch in reader:
                tbl = pa.Table.from_batches([batch])
                rows = np.arange(offset + 1, offset + tbl.num_rows + 1)
                problems += validate_flows(tbl, file=label, countries=known, expect_single_year=False,
                                           row_numbers=rows, check_duplicates=False)
                offset += tbl.num_rows
    except _READ_ERRORS as exc:
        raise DataError(f"cannot read as a BACI CSV: {exc}", file=label,
                        fix="the file may be truncated or not CSV; download it again") from exc
    raise_for_problems(merge_problems(problems))
    raise DataError(f"cannot convert values: {arrow_msg}", file=label, fix="check the file is a BACI CSV")


def _progress(batches, label: str):
    """Iterate CSV record batches with a rows-read progress bar on an interactive
    terminal (stderr), so reading a multi-GB release shows it is moving."""
    import sys

    from tqdm import tqdm

    quiet = not sys.stderr.isatty() or os.environ.get("TRADEOPT_QUIET")
    with tqdm(desc=f"reading {Path(label).name}", unit=" rows", unit_scale=True, disable=bool(quiet),
              leave=False) as bar:
        for batch in batches:
            yield batch
            bar.update(batch.num_rows)


def _scan_csv(source: Path, member: str | None, label: str, filters: _Filters, *, validate: bool, known,
              expect_single_year: bool, cache_to: Path | None) -> pa.Table:
    """Stream a CSV (or zip member) once: validate, optionally write the cache, keep filtered rows."""
    kept: list[pa.Table] = []
    problems: list[Problem] = []
    keys = {c: [] for c in ("t", "i", "j", "k")}
    writer = None
    tmp_ctx = atomic_path(cache_to) if cache_to is not None else None
    tmp = tmp_ctx.__enter__() if tmp_ctx else None
    try:
        try:
            with _open_stream(source, member) as fh:
                reader = _csv_reader(fh)
                _check_header(reader, label)
                if tmp is not None:
                    writer = pq.ParquetWriter(str(tmp), ARROW_SCHEMA, compression="zstd")
                offset = 0
                for batch in _progress(reader, label):
                    tbl = _normalise(pa.Table.from_batches([batch]))
                    n = tbl.num_rows
                    if validate:
                        rows = np.arange(offset + 1, offset + n + 1)
                        problems += validate_flows(tbl, file=label, countries=known, row_numbers=rows,
                                                   check_duplicates=False)
                        for c in ("t", "i", "j"):
                            keys[c].append(tbl[c].to_numpy(zero_copy_only=False))
                        keys["k"].append(tbl["k"])  # stays Arrow: cast to int64 for the duplicate check
                    if writer is not None:
                        writer.write_table(tbl)
                    kept.append(filters.apply(tbl))
                    offset += n
        except DataError:
            raise
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                raise DataError("file is empty (no header, no rows)", file=label, fix="use a complete BACI file") from exc
            _diagnose_raw(source, member, label, known, expect_single_year, str(exc))
        except _READ_ERRORS as exc:
            raise DataError(f"cannot read as a BACI CSV: {type(exc).__name__}: {exc}", file=label,
                            fix="the file may be truncated or corrupted; download it again") from exc
        if validate:
            if offset == 0:
                problems.append(Problem("empty", label, None, 1, (), "no data rows (header only)",
                                        "use a complete BACI file"))
            else:
                cat = {c: np.concatenate(keys[c]) for c in ("t", "i", "j")}
                cat["k"] = pa.chunked_array(keys["k"], type=pa.string())
                rows = np.arange(1, offset + 1)
                problems += duplicate_problems(cat["t"], cat["i"], cat["j"], cat["k"], rows, label)
                if expect_single_year:
                    uniq = np.unique(cat["t"])
                    if uniq.size > 1:
                        problems += validate_flows(pd.DataFrame({c: cat[c] for c in ("t", "i", "j", "k")} |
                                                                {"v": 0.0, "q": 0.0}), file=label,
                                                   expect_single_year=True, check_duplicates=False)
            raise_for_problems(merge_problems(problems))
        if writer is not None:
            writer.close()
            writer = None
    except BaseException as exc:
        if writer is not None:
            writer.close()
        if tmp_ctx:
            tmp_ctx.__exit__(type(exc), exc, exc.__traceback__)
        raise
    if tmp_ctx:
        tmp_ctx.__exit__(None, None, None)
    return pa.concat_tables(kept) if kept else ARROW_SCHEMA.empty_table()


# ------------------------------------------------------------------ parquet scanning
def _scan_parquet(path: Path, label: str, filters: _Filters, *, validate: bool, known,
                  expect_single_year: bool) -> pa.Table:
    try:
        dataset = ds.dataset(str(path), format="parquet")
        names = dataset.schema.names
        if validate and sorted(names) != sorted(BACI_COLUMNS):
            raise_for_problems(validate_flows(pd.DataFrame(columns=names), file=label))
        # products filter must see padded codes: when k is not a string, filter after normalising
        k_is_str = pa.types.is_string(dataset.schema.field("k").type) or pa.types.is_large_string(dataset.schema.field("k").type)
        pushdown = filters if k_is_str else _Filters(filters.years, None, filters.importers, filters.exporters)
        parts = []
        for batch in dataset.to_batches(filter=pushdown.expression(), columns=list(BACI_COLUMNS)):
            parts.append(_normalise(pa.Table.from_batches([batch])))
        tbl = pa.concat_tables(parts) if parts else ARROW_SCHEMA.empty_table()
    except DataError:
        raise
    except _READ_ERRORS as exc:
        raise DataError(f"cannot read parquet: {type(exc).__name__}: {exc}", file=label,
                        fix="the file may be truncated or not parquet") from exc
    if not k_is_str:
        tbl = filters.apply(tbl)
    if validate:
        if tbl.num_rows == 0 and filters.expression() is None:
            raise_for_problems([Problem("empty", label, None, 1, (), "no data rows", "use a complete BACI file")])
        if tbl.num_rows:  # an empty *filtered* part is checked by read_baci as a whole
            raise_for_problems(validate_flows(tbl, file=label, countries=known, expect_single_year=expect_single_year))
    return tbl


# ------------------------------------------------------------------ sources
def _zip_members(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"not a readable zip file: {exc}", file=str(path),
                        fix="the download may be truncated; fetch it again") from exc


def _read_zip_table(path: Path, names: list[str], prefix: str, reader):
    hits = sorted(n for n in names if Path(n).name.lower().startswith(prefix) and n.lower().endswith(".csv"))
    if not hits:
        return None
    with zipfile.ZipFile(path) as zf:
        data = zf.read(hits[-1])
    return reader(io.BytesIO(data), f"{path}!{hits[-1]}")


def _flow_sources(path: Path, years) -> tuple[list[tuple[Path, str | None, str]], dict]:
    """[(file, zip member or None, label)] of flow files and {country_table, product_table} found beside them."""
    extras: dict = {}
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and
                       (p.name.endswith((".csv", ".csv.gz", ".parquet", ".zip"))) and p.name.upper().startswith("BACI"))
        ctab = sorted(path.glob("country_codes_*.csv"))
        ptab = sorted(path.glob("product_codes_*.csv"))
        if ctab:
            extras["country_table"] = _countries.country_table(ctab[-1])
        if ptab:
            extras["product_table"] = _products.product_table(path=ptab[-1])
        out = []
        for f in files:
            if f.suffix == ".zip":
                sub, sub_extras = _flow_sources(f, years)
                out += sub
                extras = sub_extras | extras
            else:
                y = parse_name(f.name)["year"]
                if years is None or y is None or y in years:
                    out.append((f, None, str(f)))
        if not out:
            raise DataError("no BACI flow files in folder", file=str(path),
                            fix="the folder should hold BACI_*.csv, .csv.gz, .parquet or a release zip")
        return out, extras
    if not path.exists():
        raise DataError("file not found", file=str(path), fix="check the path")
    if not path.is_file():  # a FIFO, socket or device would block or read garbage
        raise DataError("not a regular file (a pipe, socket or device?)", file=str(path),
                        fix="pass a BACI zip, CSV, CSV.gz or parquet file, or a folder of them")
    if path.suffix.lower() == ".zip":
        names = _zip_members(path)
        flows = sorted(n for n in names if Path(n).name.upper().startswith("BACI") and n.lower().endswith(".csv"))
        if not flows:
            raise DataError("zip holds no BACI_*.csv flow file", file=str(path), fix="use a CEPII BACI release zip")
        if years is not None:
            found = {parse_name(n)["year"]: n for n in flows}
            missing = [y for y in years if y not in found]
            if missing and not all(parse_name(n)["year"] is None for n in flows):
                have = sorted(y for y in found if y is not None)
                raise DataError(f"zip has no flows for year(s) {missing}; it holds {have}", file=str(path),
                                field="t", fix=f"choose years among {have}")
            flows = [n for n in flows if parse_name(n)["year"] is None or parse_name(n)["year"] in years]
        try:
            ct = _read_zip_table(path, names, "country_codes", lambda b, lbl: _countries._read_table(b))
            pt = _read_zip_table(path, names, "product_codes", lambda b, lbl: _products.read_product_csv(b, lbl))
        except _READ_ERRORS as exc:
            raise DataError(f"cannot read code tables in zip: {exc}", file=str(path), fix="fetch the zip again") from exc
        if ct is not None:
            extras["country_table"] = ct
        if pt is not None:
            extras["product_table"] = pt
        return [(path, n, f"{path}!{n}") for n in flows], extras
    return [(path, None, str(path))], extras


def _read_table(src: Path, *, years, products, importers, exporters, cache: bool, cache_dir, validate: bool,
                expect_single_year: bool) -> tuple[pa.Table, list, dict]:
    """Scan, filter and validate ``src`` into one Arrow table (ARROW_SCHEMA, file order);
    also returns the flow sources and the release's extra tables."""
    filters = _make_filters(years, products, importers, exporters)
    sources, extras = _flow_sources(src, filters.years)
    known = extras.get("country_table")
    known = _countries.country_table() if known is None else known
    root = cache_root(cache_dir)
    parts = []
    for file, member, label in sources:
        is_parquet = member is None and file.suffix == ".parquet"
        if is_parquet:
            parts.append(_scan_parquet(file, label, filters, validate=validate, known=known,
                                       expect_single_year=expect_single_year and filters.years is None))
            continue
        target = _cache_file(file, member, root) if cache else None
        if target is not None and target.exists():
            try:
                parts.append(_scan_parquet(target, label, filters, validate=False, known=known,
                                           expect_single_year=False))
                continue
            except DataError:
                target.unlink(missing_ok=True)  # unreadable cache: rebuild
        parts.append(_scan_csv(file, member, label, filters, validate=validate, known=known,
                               expect_single_year=expect_single_year and filters.years is None, cache_to=target))
    tbl = pa.concat_tables(parts) if parts else ARROW_SCHEMA.empty_table()
    if len(sources) > 1 and validate:
        raise_for_problems(duplicate_problems(tbl["t"].to_numpy(), tbl["i"].to_numpy(), tbl["j"].to_numpy(),
                                              tbl["k"], np.arange(1, tbl.num_rows + 1), str(src)))
    return tbl, sources, extras


def read_baci(
    path: str | Path | None = None,
    *,
    years: int | Iterable[int] | None = None,
    products: str | Iterable[str] | None = None,
    importers=None,
    exporters=None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    validate: bool = True,
    expect_single_year: bool = False,
) -> TradeData:
    """Read BACI flows into a validated ``TradeData`` (values kUSD, quantities tonnes).

    ``path``: release zip, CSV, CSV.gz, parquet or a folder of these; None reads
    the embedded SYNTHETIC sample. Filters take years, HS6 codes, and countries as
    ISO3/BACI codes/group names. ``expect_single_year``: several years without a
    ``years`` filter is an error. Raises ``DataError`` naming file, rows and fix.
    """
    synthetic = path is None
    src = data_dir() / SAMPLE_FILE if synthetic else Path(path).expanduser()
    tbl, sources, extras = _read_table(src, years=years, products=products, importers=importers,
                                       exporters=exporters, cache=cache, cache_dir=cache_dir, validate=validate,
                                       expect_single_year=expect_single_year)
    flows = _to_frame(tbl)
    first_file, first_member, _ = sources[0]
    meta = parse_name(first_member or first_file.name)
    if meta["hs"] is None:
        meta = parse_name(src.name)
    notes = []
    from optimize.data.releases import mixed_releases_note

    if mixed := mixed_releases_note([m or f.name for f, m, _ in sources]):
        warnings.warn(mixed, UserWarning, stacklevel=2)
        notes.append(mixed)
    if synthetic:
        meta = {"hs": "HS22", "release": "SYNTHETIC"}
        extras.setdefault("product_table", _products.product_table())
        notes.append("Embedded synthetic sample: values are invented, not real trade data.")
    return TradeData(flows=flows, source=str(src), synthetic=synthetic, hs_revision=meta["hs"],
                     release=meta["release"], country_table=extras.get("country_table"),
                     product_table=extras.get("product_table"), notes=notes)


def _to_frame(tbl: pa.Table) -> pd.DataFrame:
    """Arrow table (ARROW_SCHEMA) -> pandas frame with the contract dtypes, sorted by (t, k, i, j)."""
    df = pd.DataFrame({
        "t": tbl["t"].to_numpy().astype("int16"),
        "i": tbl["i"].to_numpy().astype("int32"),
        "j": tbl["j"].to_numpy().astype("int32"),
        "k": np.asarray(tbl["k"].to_numpy(zero_copy_only=False), dtype=object),
        "v": tbl["v"].to_numpy().astype("float64"),
        "q": tbl["q"].to_numpy(zero_copy_only=False).astype("float64"),
    })
    return df.sort_values(["t", "k", "i", "j"], kind="stable").reset_index(drop=True)


def from_dataframe(df: pd.DataFrame, source: str = "DataFrame", *, countries=None,
                   expect_single_year: bool = False) -> TradeData:
    """Validate a user DataFrame with BACI columns and return it as ``TradeData``."""
    known = _countries.country_table() if countries is None else countries
    raise_for_problems(validate_flows(df, file=source, countries=known, expect_single_year=expect_single_year))
    def numbers(col: pd.Series) -> np.ndarray:  # validated: numbers, numeric text or null tokens (q)
        if not pd.api.types.is_numeric_dtype(col.dtype):
            col = col.astype("string").str.strip()
        return pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)

    tbl = pa.table({c: pa.array(df[c].astype(str)) if c == "k" else pa.array(numbers(df[c]), from_pandas=True)
                    for c in BACI_COLUMNS})
    return TradeData(flows=_to_frame(_normalise(tbl)), source=source)


def data_info(path: str | Path | None = None, **read_kwargs) -> dict:
    """Summary of a BACI source: years, rows, products, exporters, importers, totals (kUSD and USD)."""
    td = read_baci(path, **read_kwargs)
    f = td.flows
    total_kusd = float(f["v"].sum())
    return {
        "source": td.source, "years": td.years, "rows": int(len(f)), "products": int(f["k"].nunique()),
        "exporters": int(f["i"].nunique()), "importers": int(f["j"].nunique()),
        "total_value_kusd": total_kusd, "total_value_usd": total_kusd * 1000.0,
        "hs_revision": td.hs_revision, "release": td.release, "synthetic": td.synthetic,
        "missing_quantity_share": float(f["q"].isna().mean()) if len(f) else 0.0,
    }


def convert_target(src: Path, out: str | Path | None = None) -> Path:
    """Where ``convert`` writes: ``out``, else beside ``src`` with its last suffix(es) -> ``.parquet``.

    ``flows.2022.csv`` -> ``flows.2022.parquet``, ``x.csv.gz`` -> ``x.parquet``. A default
    that ``read_baci(<its folder>)`` would read together with ``src`` (a ``BACI*`` name in the
    folder holding ``src``) goes to ``<folder>/parquet/`` instead; an explicit ``out`` there
    is refused (``OutputError``): the folder would hold every row twice.
    """
    from optimize.errors import OutputError

    folder = src if src.is_dir() else src.parent
    if out is None:
        name = src.name
        for suffix in (".csv.gz", ".csv", ".zip", ".parquet", ".gz"):
            if name.lower().endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                break
        target = folder / f"{name}.parquet"
        return folder / "parquet" / target.name if _read_together(target, folder) else target
    target = Path(out).expanduser()
    if _read_together(target, folder):
        raise OutputError(f"{target} would sit in {folder} beside its source {src.name}: reading that folder "
                          "(--baci) would then see every row twice", fix=f"write it elsewhere, e.g. "
                          f"--out {folder / 'parquet' / target.name}")
    return target


def _read_together(target: Path, folder: Path) -> bool:
    """True when ``read_baci(folder)`` would read ``target`` as one more flow file."""
    return (target.name.upper().startswith("BACI") and target.name.endswith(".parquet")
            and target.parent.resolve() == folder.resolve())


def convert(path: str | Path, to: str = "parquet", out: str | Path | None = None, *, overwrite: bool = False,
            **read_kwargs) -> Path:
    """Write a validated copy of a BACI source as parquet (atomic); returns the output path.

    Output path: ``convert_target``. An existing output file is replaced only with
    ``overwrite`` (``OutputError`` otherwise, before the source is read).
    """
    from optimize.atomic import atomic_file, check_out_file

    if to != "parquet":
        raise DataError(f"unsupported output format '{to}'", field="to", fix="use to='parquet'")
    src = Path(path).expanduser()
    target = convert_target(src, out)
    if target.resolve() == src.resolve():
        raise DataError("output would overwrite the input", file=str(src), fix="pass out=<another file>")
    check_out_file(target, overwrite=overwrite)  # fail before reading a large file (exit 5)
    read_kwargs.setdefault("cache", False)
    tbl, _, _ = _read_table(src, **{"years": None, "products": None, "importers": None, "exporters": None,
                                    "cache_dir": None, "validate": True, "expect_single_year": False, **read_kwargs})
    with atomic_file(target, overwrite=overwrite) as tmp:
        pq.write_table(tbl, str(tmp), compression="zstd")
    return target
