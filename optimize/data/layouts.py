"""Any trade-data layout -> BACI layout (``t, i, j, k, v`` kUSD, ``q`` tonnes, BACI country codes).

A ``Layout`` names the source columns (``--columns t=year,i=ex_id,j=im_id,k=code,v=value,q=quantity``),
a fixed year for files without one, how countries are coded (``baci`` numeric codes or
``iso3``, mapped to the BACI code valid in that year: BEL 58 up to 1998 then 56, DEU 280 up
to 1990 then 276, SDN 736 up to 2011 then 729; from the ``(...YYYY)`` marks of the country
table) and the value unit (``kusd`` as BACI, or ``usd``, divided by 1000). The result is
validated as a BACI file: every problem names the source file's 1-based data rows.

``read_comtrade`` reads a UN Comtrade bulk CSV (final data, HS, annual) on the same mapping.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from optimize.data.csvread import READ_ERRORS
from optimize.data.trade import BACI_COLUMNS, TradeData
from optimize.data.validate import FIRST_YEAR, LAST_YEAR, MAX_ROWS_SHOWN, Problem, column_problems, raise_for_problems
from optimize.errors import DataError, InputError

COUNTRY_CODES = ("baci", "iso3")
VALUE_UNITS = ("kusd", "usd")
_UNTIL = re.compile(r"\(\.\.\.(\d{4})\)")


@dataclass(frozen=True)
class Layout:
    """How a source file maps to BACI columns. ``columns``: {BACI column: source column}."""

    columns: dict[str, str] = field(default_factory=dict)
    year: int | None = None
    country_codes: str = "baci"
    value_unit: str = "kusd"

    def __post_init__(self):
        bad = sorted(set(self.columns) - set(BACI_COLUMNS))
        if bad:
            raise InputError(f"unknown BACI column(s) {', '.join(bad)} in the column mapping", field="columns",
                             fix="map the BACI columns t, i, j, k, v, q, e.g. t=year,i=ex_id,j=im_id,k=code,v=value")
        if self.country_codes not in COUNTRY_CODES:
            raise InputError(f"country codes {self.country_codes!r} not supported", field="country_codes",
                             fix="use 'baci' (numeric BACI codes) or 'iso3'")
        if self.year is not None and not FIRST_YEAR <= self.year <= LAST_YEAR:
            raise InputError(f"year {self.year} is outside {FIRST_YEAR}-{LAST_YEAR}", field="year",
                             fix="give the year the file's flows belong to, e.g. --year 2023")
        if self.value_unit not in VALUE_UNITS:
            raise InputError(f"value unit {self.value_unit!r} not supported", field="value_unit",
                             fix="use 'kusd' (thousands of USD, as BACI) or 'usd'")

    @property
    def is_baci(self) -> bool:
        """True when the layout changes nothing (a plain BACI file)."""
        return (all(k == v for k, v in self.columns.items()) and self.year is None
                and self.country_codes == "baci" and self.value_unit == "kusd")


def parse_columns(spec: str | dict | None) -> dict[str, str]:
    """``"t=year,i=ex_id,k=code"`` -> {'t': 'year', 'i': 'ex_id', 'k': 'code'} (a dict passes through)."""
    if not spec:
        return {}
    if isinstance(spec, dict):
        return {str(k).strip(): str(v).strip() for k, v in spec.items()}
    out = {}
    for part in (p.strip() for p in str(spec).split(",") if p.strip()):
        key, sep, col = part.partition("=")
        if not sep or not key.strip() or not col.strip():
            raise InputError(f"column mapping {part!r} is not BACI=SOURCE", field="columns",
                             fix="write --columns t=year,i=ex_id,j=im_id,k=code,v=value,q=quantity")
        out[key.strip()] = col.strip()
    return out


def _country_index(table: pd.DataFrame) -> tuple[dict[str, int], dict[str, list[tuple[int, int]]]]:
    """({ISO3: current BACI code}, {ISO3: [(last valid year, historical code)]}) from the country table."""
    from optimize.data.countries import ISO3_ALIASES

    current: dict[str, int] = {}
    historical: dict[str, list[tuple[int, int]]] = {}
    for code, iso3, name in zip(table["baci_code"].astype(int), table["iso3"], table["name"].astype(str), strict=False):
        if m := _UNTIL.search(name):
            historical.setdefault(iso3, []).append((int(m.group(1)), int(code)))
        else:
            current.setdefault(iso3, int(code))
    for iso3, code in ISO3_ALIASES.items():
        current.setdefault(iso3, code)
    return current, historical


def iso3_to_baci(iso3, years, table: pd.DataFrame | None = None) -> np.ndarray:
    """BACI codes (float, NaN when unknown or not a country in that year) for ISO3 codes in ``years``."""
    from optimize.data.countries import country_table

    current, historical = _country_index(country_table() if table is None else table)
    iso3 = pd.Series(iso3, dtype="string").str.strip().str.upper().reset_index(drop=True)
    years = np.asarray(years, dtype="float64")
    out = iso3.map(current).to_numpy(dtype="float64", na_value=np.nan)
    for code3, spans in historical.items():
        for until, code in sorted(spans, reverse=True):  # earlier end years win for earlier years
            hit = (iso3 == code3).to_numpy(dtype=bool, na_value=False) & (years <= until)
            out[hit] = code
        later = (iso3 == code3).to_numpy(dtype=bool, na_value=False) & (years > max(u for u, _ in spans))
        if code3 not in current:
            out[later] = np.nan  # e.g. SUN after 1990
    return out


def _problem(kind, file, field_, mask, rows_of, message, fix) -> list[Problem]:
    idx = np.flatnonzero(mask)
    if not idx.size:
        return []
    return [Problem(kind, file, field_, int(idx.size), tuple(int(r) for r in rows_of[idx[:MAX_ROWS_SHOWN]]),
                    message, fix)]


def to_baci(df: pd.DataFrame, layout: Layout, *, file: str = "<table>", row_numbers=None,
            countries: pd.DataFrame | None = None) -> pd.DataFrame:
    """``df`` (any layout) as a BACI-layout DataFrame; raises ``DataError`` naming rows and fields."""
    from optimize.data.countries import country_table

    table = country_table() if countries is None else countries
    rows_of = np.arange(1, len(df) + 1) if row_numbers is None else np.asarray(row_numbers)
    cols = {c: layout.columns.get(c, c) for c in BACI_COLUMNS}
    needed = [c for c in BACI_COLUMNS if c != "q" and not (c == "t" and layout.year is not None)]
    missing = [f"{cols[c]} (for {c})" for c in needed if cols[c] not in df.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}; the file has {', '.join(map(str, df.columns))}",
                        file=file, field=",".join(missing),
                        fix="name the columns with --columns t=...,i=...,j=...,k=...,v=...[,q=...] "
                            "or give --year for a file without a year column")
    out = pd.DataFrame(index=df.index)
    out["t"] = layout.year if layout.year is not None and cols["t"] not in df.columns else df[cols["t"]]
    problems: list[Problem] = []
    if layout.year is not None and cols["t"] in df.columns:
        t = pd.to_numeric(df[cols["t"]], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        problems += _problem("other_year", file, cols["t"], np.isfinite(t) & (t != layout.year), rows_of,
                             f"year differs from --year {layout.year}", "drop the other years or leave out --year")
    for c in ("i", "j"):
        src = df[cols[c]]
        if layout.country_codes == "iso3":
            years = pd.to_numeric(out["t"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            codes = iso3_to_baci(src.to_numpy(), years, table)
            bad = np.isnan(codes) & src.notna().to_numpy() & (src.astype("string").str.strip() != "").to_numpy(
                dtype=bool, na_value=False)
            problems += _problem("unknown_country", file, cols[c], bad, rows_of,
                                 "ISO3 code unknown, or not a BACI country in that year",
                                 "use ISO3 codes of data/baci/country_codes.csv (e.g. DEU, BEL; DDR before 1991)")
            out[c] = codes
        else:
            out[c] = src
    out["k"] = df[cols["k"]]
    v = df[cols["v"]]
    if layout.value_unit == "usd":
        num = pd.to_numeric(v, errors="coerce")
        v = (num / 1000.0).where(num.notna(), v)  # unparseable text stays for the BACI check to report
    out["v"] = v
    out["q"] = df[cols["q"]] if cols["q"] in df.columns else np.nan
    raise_for_problems(problems)
    return out.reset_index(drop=True)


def _read_any(path: Path) -> pd.DataFrame:
    """The file's table as text (CSV) or as stored (Parquet); a repeated column name is a ``DataError``."""
    if not path.is_file():
        raise DataError(f"file not found: {path}", file=str(path), fix="check the path")
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            _refuse_repeated_columns(pq.read_schema(path).names, path)
            return pd.read_parquet(path)
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], sep=None if path.suffix == ".txt"
                          else ",", engine="python" if path.suffix == ".txt" else "c", encoding="utf-8-sig",
                          header=None)  # the header as a row: pandas would rename a repeated name to 'value.1'
    except (*READ_ERRORS, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read {path.name}: {type(exc).__name__}: {exc}", file=str(path),
                        fix="give a complete CSV, CSV.gz or Parquet file with a header row") from exc
    names = ["" if pd.isna(n) else str(n) for n in (raw.iloc[0] if len(raw) else [])]
    _refuse_repeated_columns(names, path)
    return raw.iloc[1:].set_axis(names, axis=1).reset_index(drop=True)


def _refuse_repeated_columns(names: list[str], path: Path) -> None:
    raise_for_problems([p for p in column_problems([str(n).strip() for n in names], str(path))
                        if p.kind == "duplicate_column"])


def read_layout(path: str | Path, layout: Layout, *, countries: pd.DataFrame | None = None) -> TradeData:
    """Read a CSV/CSV.gz/Parquet file in ``layout`` and return validated BACI ``TradeData``."""
    from optimize.data.baci import from_dataframe

    path = Path(path)
    df = to_baci(_read_any(path), layout, file=str(path), countries=countries)
    return _named(from_dataframe(df, source=str(path), countries=countries), path)


#: Comtrade bulk CSV columns this reader uses (first present name wins).
COMTRADE_COLUMNS = {"t": ("refYear", "period"), "reporter": ("reporterISO", "reporterCode"),
                    "partner": ("partnerISO", "partnerCode"), "k": ("cmdCode",), "flow": ("flowCode",),
                    "v": ("primaryValue", "fobvalue", "cifvalue"), "q": ("netWgt",)}


def read_comtrade(path: str | Path, *, flow: str = "M", countries: pd.DataFrame | None = None) -> TradeData:
    """A UN Comtrade bulk CSV (annual, HS) as BACI ``TradeData``.

    ``flow``: ``M`` (reporter imports: partner -> reporter) or ``X`` (reporter exports).
    Keeps 6-digit ``cmdCode`` rows, drops partner World (``W00``/0) and, where present, rows
    that are not totals over ``partner2Code`` (0), ``customsCode`` (C00) and ``motCode`` (0).
    Values ``primaryValue`` USD -> kUSD; ``netWgt`` kg -> tonnes. Countries by ISO3
    (``reporterISO``/``partnerISO``), else by numeric code (``reporterCode``/``partnerCode``).
    """
    from optimize.data.baci import from_dataframe

    path = Path(path)
    flow = flow.upper()
    if flow not in ("M", "X"):
        raise InputError(f"flow {flow!r} not supported", field="flow", fix="use M (imports) or X (exports)")
    raw = _read_any(path)
    pick = {}
    for key, names in COMTRADE_COLUMNS.items():
        pick[key] = next((n for n in names if n in raw.columns), None)
        if pick[key] is None and key != "q":
            raise DataError(f"not a Comtrade bulk file: no column {' or '.join(names)}", file=str(path),
                            field=names[0], fix="download the bulk CSV with its documented column names")
    keep = _comtrade_rows(raw, pick, flow, path)
    rows = np.flatnonzero(keep.to_numpy()) + 1
    sub = raw[keep.to_numpy()].reset_index(drop=True)
    exporter, importer = (pick["partner"], pick["reporter"]) if flow == "M" else (pick["reporter"], pick["partner"])
    iso = pick["reporter"].endswith("ISO")
    df = pd.DataFrame({"t": sub[pick["t"]].astype("string").str[:4], "i": sub[exporter], "j": sub[importer],
                       "k": sub[pick["k"]], "v": sub[pick["v"]]})
    q = pd.to_numeric(sub[pick["q"]], errors="coerce") / 1000.0 if pick["q"] else np.nan
    df["q"] = q
    layout = Layout(country_codes="iso3" if iso else "baci", value_unit="usd")
    out = to_baci(df, layout, file=str(path), row_numbers=rows, countries=countries)
    return _named(from_dataframe(out, source=str(path), countries=countries), path)


def _comtrade_rows(raw: pd.DataFrame, pick: dict, flow: str, path: Path) -> pd.Series:
    """The rows ``read_comtrade`` keeps; ``DataError`` naming each filter and the rows it keeps when none is left."""
    used = [pick["flow"], pick["k"], pick["partner"], "partner2Code", "customsCode", "motCode"]
    text = {c: raw[c].astype("string").str.strip() for c in used if c in raw.columns}
    tests = {f"{pick['flow']} = {flow}": text[pick["flow"]].str.upper().eq(flow).fillna(False),
             f"{pick['k']} of 5-6 digits": text[pick["k"]].str.fullmatch(r"\d{5,6}").fillna(False),
             f"{pick['partner']} not World": ~text[pick["partner"]].isin(["W00", "0", "WLD"]).fillna(False)}
    for col, total in (("partner2Code", "0"), ("customsCode", "C00"), ("motCode", "0")):
        if col in raw.columns:
            tests[f"{col} = {total}"] = text[col].eq(total).fillna(True)
    keep = pd.Series(True, index=raw.index)
    for mask in tests.values():
        keep &= mask
    if len(raw) and not keep.any():
        each = "; ".join(f"{name}: {int(mask.sum())}" for name, mask in tests.items())
        none_kept = [name.split(" ")[0] for name, mask in tests.items() if not mask.any()]
        raise DataError(f"the Comtrade filters removed all {len(raw)} data rows (rows each filter keeps: {each})",
                        file=str(path), field=none_kept[0] if none_kept else None,
                        fix=f"check --comtrade {flow} (M imports, X exports) and that the file holds HS6 rows "
                            "by partner country")
    return keep


def _named(data: TradeData, path: Path) -> TradeData:
    """HS revision and release from a BACI-like file name (``..._HS22_..._V202501``), as ``read_baci`` does."""
    from optimize.data.baci import parse_name

    meta = parse_name(path.name)
    data.hs_revision, data.release = meta["hs"], meta["release"]
    return data


def write_parquet(data: TradeData, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write validated BACI flows as parquet (atomic; the BACI arrow schema).

    An existing file is replaced only with ``overwrite``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from optimize.atomic import atomic_file
    from optimize.data.trade import ARROW_SCHEMA

    out = Path(out)
    tbl = pa.Table.from_pandas(data.flows[list(BACI_COLUMNS)], schema=ARROW_SCHEMA, preserve_index=False)
    with atomic_file(out, overwrite=overwrite) as tmp:
        pq.write_table(tbl, str(tmp), compression="zstd")
    return out


def convert_layout(path: str | Path, layout: Layout | None = None, out: str | Path | None = None, *,
                   comtrade_flow: str | None = None, overwrite: bool = False) -> Path:
    """Convert a file in ``layout`` (or a Comtrade bulk CSV when ``comtrade_flow``) to BACI parquet at ``out``.

    Default ``out``: beside ``path``, its last suffix(es) replaced by ``_baci.parquet``. An existing
    output file is replaced only with ``overwrite`` (``OutputError`` before reading otherwise).
    """
    from optimize.atomic import check_out_file
    from optimize.data.convert import convert_target

    src = Path(path)
    out = Path(out) if out is not None else convert_target(src).with_name(convert_target(src).stem + "_baci.parquet")
    if out.resolve() == src.resolve():
        raise DataError("output would overwrite the input", file=str(src), fix="pass --out <another file>")
    check_out_file(out, overwrite=overwrite)
    data = read_comtrade(src, flow=comtrade_flow) if comtrade_flow else read_layout(src, layout or Layout())
    return write_parquet(data, out, overwrite=overwrite)
