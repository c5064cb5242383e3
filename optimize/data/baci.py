"""Read CEPII BACI flows (release zip, CSV, CSV.gz, parquet, directory) into ``TradeData``.

Filters (years, products, importers, exporters) are applied batch by batch while
scanning, after every field is normalised (codes trimmed and zero-padded), never
after loading everything. The first validated read of a CSV or zip member writes a
parquet copy to the cache (``optimize.data.cache``: keyed on the SHA-256 of the
source's bytes, the member and the reader version); later reads scan that parquet
with pushed-down filters. The SHA-256 is kept on ``TradeData.sha256`` (the manifest
records it). All writes are atomic.
"""
from __future__ import annotations

import io
import logging
import re
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from optimize.data import countries as _countries
from optimize.data import products as _products
from optimize.data.cache import (
    CacheWriter,
    Marks,
    cache_file,
    cache_root,
    drop_entry,
    marker_facts,
    validated_marker,
)
from optimize.data.csvread import READ_ERRORS as _READ_ERRORS
from optimize.data.csvread import scan_csv
from optimize.data.filters import check_read_args, make_filters, scan_parquet
from optimize.data.frame import frame_and_order, to_frame
from optimize.data.normalise import normalise_table
from optimize.data.trade import ARROW_SCHEMA, BACI_COLUMNS, TradeData
from optimize.data.validate import raise_for_problems, validate_flows
from optimize.errors import DataError
from optimize.ownership import file_sha256, sha256_bytes
from optimize.resources import data_dir

SAMPLE_FILE = "BACI_SYNTHETIC_Y2023_sample.parquet"
_NAME_RE = re.compile(r"BACI_(?P<hs>HS\d\d|SYNTHETIC)(?:_Y(?P<year>\d{4}))?(?:_(?P<release>V\d{6}))?", re.I)
#: A latest year holding fewer rows than this share of the median year's is reported when no year is asked.
SMALL_YEAR_SHARE = 0.10
__all__ = ["cache_root", "data_info", "from_dataframe", "parse_name", "read_baci"]
log = logging.getLogger("tradeopt.data")


# ------------------------------------------------------------------ small helpers
def parse_name(name: str) -> dict:
    """``BACI_HS22_Y2023_V202501.csv`` -> {hs: 'HS22', year: 2023, release: 'V202501'} (missing parts None)."""
    m = _NAME_RE.search(Path(str(name)).name)
    if not m:
        return {"hs": None, "year": None, "release": None}
    hs = m.group("hs").upper()
    return {"hs": None if hs == "SYNTHETIC" else hs, "year": int(m.group("year")) if m.group("year") else None,
            "release": m.group("release").upper() if m.group("release") else None}


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
    if path.is_dir():
        return _folder_sources(path, years)
    if not path.exists():
        raise DataError("file not found", file=str(path), fix="check the path")
    if not path.is_file():  # a FIFO, socket or device would block or read garbage
        raise DataError("not a regular file (a pipe, socket or device?)", file=str(path),
                        fix="pass a BACI zip, CSV, CSV.gz or parquet file, or a folder of them")
    if path.suffix.lower() == ".zip":
        return _zip_sources(path, years)
    extras: dict = {}
    beside = _products.pick_product_file(path.parent.glob("product_codes_*.csv"), parse_name(path.name)["hs"])
    if beside is not None:  # the release's own names beside a single flow file
        extras["product_table"] = _products.product_table(path=beside)
    return [(path, None, str(path))], extras


def _folder_sources(path: Path, years) -> tuple[list[tuple[Path, str | None, str]], dict]:
    """``_flow_sources`` of a folder: its BACI files (zips expanded) and the code tables in it (they win)."""
    extras: dict = {}
    files = sorted(p for p in path.iterdir() if p.is_file() and
                   (p.name.endswith((".csv", ".csv.gz", ".parquet", ".zip"))) and p.name.upper().startswith("BACI"))
    from optimize.data.releases import refuse_two_formats
    refuse_two_formats([f.name for f in files], [parse_name(f.name)["year"] for f in files], path)
    ctab = sorted(path.glob("country_codes_*.csv"))
    ptab = _products.pick_product_file(path.glob("product_codes_*.csv"), _folder_hs(path))
    if ctab:
        extras["country_table"] = _countries.country_table(ctab[-1])
    if ptab is not None:
        extras["product_table"] = _products.product_table(path=ptab)
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


def _zip_sources(path: Path, years) -> tuple[list[tuple[Path, str | None, str]], dict]:
    """``_flow_sources`` of a release zip: its BACI flow members for ``years`` and the code tables in it."""
    names = _zip_members(path)
    flows = sorted(n for n in names if Path(n).name.upper().startswith("BACI") and n.lower().endswith(".csv"))
    if not flows:
        raise DataError("zip holds no BACI_*.csv flow file", file=str(path), fix="use a CEPII BACI release zip")
    if years is not None:
        flows = _zip_year_members(path, flows, years)
    try:
        ct = _read_zip_table(path, names, "country_codes", lambda b, lbl: _countries._read_table(b, lbl))
        pt = _read_zip_table(path, names, "product_codes", lambda b, lbl: _products.read_product_csv(b, lbl))
    except _READ_ERRORS as exc:
        raise DataError(f"cannot read code tables in zip: {exc}", file=str(path), fix="fetch the zip again") from exc
    extras: dict = {}
    if ct is not None:
        extras["country_table"] = ct
    if pt is not None:
        extras["product_table"] = pt
    return [(path, n, f"{path}!{n}") for n in flows], extras


def _zip_year_members(path: Path, flows: list[str], years) -> list[str]:
    """The flow members for ``years`` (undated members kept); DataError when a dated zip lacks an asked year."""
    found = {parse_name(n)["year"]: n for n in flows}
    missing = [y for y in years if y not in found]
    if missing and not all(parse_name(n)["year"] is None for n in flows):
        have = sorted(y for y in found if y is not None)
        raise DataError(f"zip has no flows for year(s) {missing}; it holds {have}", file=str(path),
                        field="t", fix=f"choose years among {have}")
    return [n for n in flows if parse_name(n)["year"] is None or parse_name(n)["year"] in years]


def _folder_hs(path: Path) -> str | None:
    """The HS revision of a folder's BACI files, when they name one."""
    revs = {parse_name(p.name)["hs"] for p in path.glob("BACI_*")} - {None}
    return revs.pop() if len(revs) == 1 else None


def _stat_key(path: Path) -> tuple:
    st = path.stat()
    return st.st_size, st.st_mtime_ns, st.st_ino


def _read_table(src: Path, *, years, products, importers, exporters, cache: bool, cache_dir, validate: bool,
                expect_single_year: bool) -> tuple[pa.Table, list, dict, dict[str, str], Marks]:
    """Scan, filter and validate ``src`` into one Arrow table (ARROW_SCHEMA, file order); also returns
    the flow sources, the release's extra tables, {file: sha256 of the bytes read} and the markers' facts.

    The cache is used only by key of the file's content hash; it is written only from validated reads,
    and not when the file changed while it was read (size, mtime or inode differ after the read)."""
    filters = make_filters(years, products, importers, exporters)
    sources, extras = _flow_sources(src, filters.years)
    known = extras.get("country_table")
    known = _countries.country_table() if known is None else known
    root = cache_root(cache_dir)
    single = expect_single_year and filters.years is None
    parts = []
    hashes: dict[str, str] = {}
    stats: dict[str, tuple] = {}
    marks = Marks()
    for file, member, label in sources:
        _record_file(file, hashes, stats)
        if member is None and file.suffix == ".parquet":
            marker = validated_marker(hashes[str(file)], file.name, root) if cache else None
            facts = marker_facts(marker)
            scan = scan_parquet(file, label, filters, validate=validate, known=known, expect_single_year=single,
                                validated=facts is not None, normal=facts is not None and "normal" in facts)
            parts.append(scan.table)
            if len(sources) == 1 and facts is not None:
                marks.facts = facts
            if validate and marker is not None and facts is None and scan.complete:  # every row checked
                marks.pending.append((marker, frozenset({"normal"} if scan.normal else ())))
            continue
        target = cache_file(hashes[str(file)], file.name, member, root) if cache else None
        cached = _scan_cache_entry(target, label, filters, validate=validate, known=known, single=single)
        if cached is not None:
            parts.append(cached)
            continue
        parts.append(_scan_csv_to_cache(file, member, label, filters, target, stats[str(file)], validate=validate,
                                        known=known, single=single))
    for file, before in stats.items():
        if _stat_key(Path(file)) != before:
            raise DataError("the file changed while it was read", file=file, fix=_CHANGED_FIX)
    tbl = pa.concat_tables(parts) if parts else ARROW_SCHEMA.empty_table()
    return tbl, sources, extras, hashes, marks


def _frame(tbl: pa.Table, label: str, marks: Marks, *, validate: bool) -> pd.DataFrame:
    """The flows frame of a read table; the duplicate-key check (and the sort, for rows in BACI order) only
    for content not marked so; then the pending markers are written, stating what this read found."""
    unique = "unique" in marks.facts
    flows, ordered = frame_and_order(tbl, label=label, check_duplicates=validate and not unique,
                                     ordered=unique and "ordered" in marks.facts)
    marks.commit(ordered=ordered)
    return flows


_CHANGED_FIX = "wait until the file is complete (download or copy finished) and run again"


def _record_file(file: Path, hashes: dict[str, str], stats: dict[str, tuple]) -> None:
    """Record ``file``'s stat key and SHA-256 the first time it is seen (DataError when it cannot be read)."""
    if str(file) in hashes:
        return
    try:
        stats[str(file)] = _stat_key(file)
        hashes[str(file)] = file_sha256(file)
    except OSError as exc:
        raise DataError(f"cannot read: {exc}", file=str(file), fix="check the path and its permissions") from exc


def _scan_cache_entry(target: Path | None, label: str, filters, *, validate: bool, known,
                      single: bool) -> pa.Table | None:
    """Scan the cache entry ``target`` if there is one; None when absent or unreadable (then it is dropped)."""
    if target is None or not target.is_file():
        return None
    try:
        return scan_parquet(target, label, filters, validate=validate, known=known, expect_single_year=single,
                            trusted=True).table
    except DataError as exc:
        if getattr(exc, "problems", None):
            raise  # the entry is readable: its data (same content, same reader) are at fault
        drop_entry(target)  # unreadable cache: rebuild
        return None


def _scan_csv_to_cache(file: Path, member: str | None, label: str, filters, target: Path | None, before: tuple, *,
                       validate: bool, known, single: bool) -> pa.Table:
    """Scan a CSV (or zip member); when validating, write ``target`` and commit it only if ``file`` is unchanged."""
    writer = CacheWriter(target) if target is not None and validate else None
    try:
        tbl = scan_csv(file, member, label, filters, validate=validate, known=known, expect_single_year=single,
                       cache=writer)
        if writer is not None:
            if _stat_key(file) == before:
                writer.commit()
            else:
                raise DataError("the file changed while it was read", file=str(file), fix=_CHANGED_FIX)
    finally:
        if writer is not None:
            writer.discard()
    return tbl


def _combined_sha256(hashes: dict[str, str]) -> str | None:
    """The one file's SHA-256, or for several files the SHA-256 of their sorted 'name sha256' lines."""
    if len(hashes) == 1:
        return next(iter(hashes.values()))
    if not hashes:
        return None
    lines = "".join(f"{Path(f).name} {h}\n" for f, h in sorted(hashes.items()))
    return sha256_bytes(lines.encode())


def _small_latest_year(flows: pd.DataFrame) -> str | None:
    """A note when the latest year holds fewer than ``SMALL_YEAR_SHARE`` of the median year's rows."""
    counts = flows["t"].value_counts().sort_index()
    if len(counts) < 2:
        return None
    latest, n_latest = int(counts.index[-1]), int(counts.iloc[-1])
    median = float(counts.iloc[:-1].median())
    if n_latest >= SMALL_YEAR_SHARE * median:
        return None
    return (f"the latest year {latest} holds only {n_latest} rows, against a median of {median:,.0f} in the other "
            f"years ({', '.join(str(int(y)) for y in counts.index[:-1])}); it may be incomplete: without a year "
            f"(--year / data.year) it is the year analysed")


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
    years, products = check_read_args(years, products)
    tbl, sources, extras, hashes, marks = _read_table(src, years=years, products=products, importers=importers,
                                                      exporters=exporters, cache=cache, cache_dir=cache_dir,
                                                      validate=validate, expect_single_year=expect_single_year)
    label = sources[0][2] if len(sources) == 1 else str(src)
    flows = _frame(tbl, label, marks, validate=validate)  # duplicate keys: found while sorting
    if years is not None and flows.empty:
        _raise_for_absent_years(src, years, cache=cache, cache_dir=cache_dir)
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
    small = _small_latest_year(flows) if years is None else None
    if small:
        log.warning("%s: %s", src, small)
        notes.append(small)
    return TradeData(flows=flows, source=str(src), sha256=_combined_sha256(hashes), synthetic=synthetic,
                     hs_revision=meta["hs"],
                     release=meta["release"], country_table=extras.get("country_table"),
                     product_table=extras.get("product_table"), notes=notes)


def _raise_for_absent_years(src: Path, years, *, cache: bool, cache_dir) -> None:
    """``DataError`` naming the years the source holds when none of ``years`` is among them."""
    wanted = sorted({int(years)} if isinstance(years, (int, np.integer)) else {int(y) for y in years})
    tbl, _, _, _, _ = _read_table(src, years=None, products=None, importers=None, exporters=None, cache=cache,
                            cache_dir=cache_dir, validate=False, expect_single_year=False)
    present = sorted(int(y) for y in pc.unique(tbl["t"]).to_pylist()) if tbl.num_rows else []
    if present and not set(wanted) & set(present):
        listed = ", ".join(map(str, present))
        raise DataError(f"no flows for year(s) {', '.join(map(str, wanted))}; the file holds {listed}",
                        file=str(src), field="t", fix=f"choose a year among {listed} (--year, --years or data.year)")


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
    return TradeData(flows=to_frame(normalise_table(tbl), label=source, check_duplicates=False), source=source)


def data_info(path: str | Path | None = None, **read_kwargs) -> dict:
    """Summary of a BACI source: years, rows, products, exporters, importers, totals (kUSD and USD)."""
    from optimize.data.hints import value_warnings
    from optimize.data.revision import data_revision

    td = read_baci(path, **read_kwargs)
    f = td.flows
    total_kusd = float(f["v"].sum())
    rev = data_revision(td.hs_revision, td.synthetic, pd.unique(f["k"]), max(td.years) if td.years else None)
    return {
        "source": td.source, "years": td.years, "rows": int(len(f)), "products": int(f["k"].nunique()),
        "exporters": int(f["i"].nunique()), "importers": int(f["j"].nunique()),
        "total_value_kusd": total_kusd, "total_value_usd": total_kusd * 1000.0,
        "hs_revision": rev.code, "hs_revision_source": rev.source,
        "release": td.release, "synthetic": td.synthetic,
        "missing_quantity_share": float(f["q"].isna().mean()) if len(f) else 0.0,
        "warnings": value_warnings(f["t"], f["k"], f["v"]),  # totals no BACI file can have: the unit is wrong
    }
