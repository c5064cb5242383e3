"""Frictionless ``datapackage.json`` for output folders: every table with field types, units and descriptions.

One source for the column descriptions: the column tables of ``docs/outputs.md`` (bundled
in the wheel as ``optimize/_bundled/docs/outputs.md``). Types come from the written frames
(HS6 codes and ISO3 codes are strings, so ``010121`` stays ``010121``); units from the
naming conventions (``*_usd`` USD, ``*_eur`` EUR, ``*_pp`` percentage points, ``share*``
and ``hhi*`` fractions 0..1). ``read_table`` reads a resource back with those types.

Spec: https://specs.frictionlessdata.io/data-package/ and /table-schema/ (``unit`` is a
custom field property).
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from optimize.data.releases import DEFAULT_PAGE_URL as BACI_PAGE  # CEPII's BACI page: releases, docs, licence
from optimize.errors import OutputError
from optimize.resources import bundled_docs_dir

PACKAGE_FILE = "datapackage.json"
BACI_LICENSE = {"name": "etalab-2.0", "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
                "title": "Etalab Open Licence 2.0 (Licence Ouverte), CEPII BACI's licence"}
SYNTHETIC_LICENSE = {"name": "MIT", "path": "https://opensource.org/licenses/MIT",
                     "title": "MIT, tradeopt's licence: the synthetic sample is tradeopt's own invention"}
_HEADING = re.compile(r"^###\s+(.+)$")
_ROW = re.compile(r"^\|\s*(`[^|]+)\|\s*(.+?)\s*\|\s*$")
_DTYPES = {"string": "string", "integer": "Int64", "number": "float64", "boolean": "boolean"}


@functools.lru_cache(maxsize=1)
def column_docs() -> dict[str, dict[str, str]]:
    """{file name: {column name or pattern: description}} parsed from ``docs/outputs.md``.

    A section ``### a.csv and b.csv`` documents both files; ``<ISO3>`` in a column name
    matches any ISO3 code (``share_before_<ISO3>``).
    """
    path = bundled_docs_dir() / "outputs.md"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise OutputError(f"cannot read the column descriptions in {path}: {exc}",
                          fix="reinstall tradeopt (the wheel bundles docs/outputs.md)") from exc
    out: dict[str, dict[str, str]] = {}
    files: list[str] = []
    for line in lines:
        if m := _HEADING.match(line):
            files = re.findall(r"`?([\w.]+\.(?:csv|parquet))`?", m.group(1))
            for f in files:
                out.setdefault(f, {})
        elif files and (m := _ROW.match(line)):
            for name in re.findall(r"`([^`]+)`", m.group(1)):
                for f in files:
                    out[f][name] = m.group(2).replace("`", "")
    return out


def describe(file: str, column: str) -> str:
    """The documented meaning of ``column`` in ``file`` (``*_eur`` from its ``*_usd`` twin); '' if undocumented."""
    docs = column_docs().get(file) or column_docs().get(Path(file).stem + ".csv", {})
    if column in docs:
        return docs[column]
    if column.endswith("_eur") and column[:-4] + "_usd" in docs:
        return docs[column[:-4] + "_usd"] + " (EUR at the scenario's report.eur_per_usd rate)"
    for pattern, text in docs.items():
        if "<ISO3>" in pattern and re.fullmatch(re.escape(pattern).replace("<ISO3>", "[A-Z]{3}"), column):
            return text
    return ""


def unit(column: str) -> str | None:
    """The unit implied by the column name (units live in column names), or None."""
    if column.endswith("_usd"):
        return "USD"
    if column.endswith("_eur"):
        return "EUR"
    if column.endswith("_pct"):
        return "percent"
    if column.endswith("_pp") or column.startswith("change_pp"):
        return "percentage points"
    if column.startswith(("share", "risk_share", "top_share", "extra_bloc_share")) or "_share" in column:
        return "fraction 0..1"
    if column.startswith("hhi"):
        return "Herfindahl-Hirschman index 0..1"
    return None


def _field_type(dtype) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    return "string"


def table_schema(file: str, frame: pd.DataFrame) -> dict:
    """Table Schema of ``frame`` as written to ``file``: one field per column with type, unit, description."""
    fields = []
    for col, dtype in frame.dtypes.items():  # the dtypes, not the columns (no Series made per column)
        f = {"name": str(col), "type": _field_type(dtype), "description": describe(file, str(col))}
        if u := unit(str(col)):
            f["unit"] = u
        if col == "k":
            f["constraints"] = {"pattern": r"^\d{6}$"}
            f["description"] = f["description"] or "HS6 product code (6 characters, leading zeros kept)"
        fields.append(f)
    return {"fields": fields, "missingValues": [""]}


def resource(file: str, frame: pd.DataFrame) -> dict:
    """A tabular data resource for ``file`` (CSV or Parquet)."""
    name = re.sub(r"[^a-z0-9._-]", "-", file.lower()).replace(".csv", "").replace(".parquet", "-parquet")
    fmt = "parquet" if file.endswith(".parquet") else "csv"
    res = {"name": name, "path": file, "profile": "tabular-data-resource", "format": fmt,
           "mediatype": "application/vnd.apache.parquet" if fmt == "parquet" else "text/csv",
           "schema": table_schema(file, frame)}
    if fmt == "csv":
        res["encoding"] = "utf-8"
        res["dialect"] = {"delimiter": ",", "header": True}
    return res


def provenance(meta: Mapping) -> dict:
    """Package ``title``, ``sources`` and ``licenses`` of a run from its ``meta`` (scenario, importer, year,
    risk_iso3, cap_pp, cap_basis, hs_revision, release, synthetic, data_source)."""
    risk = ", ".join(map(str, meta.get("risk_iso3") or [])) or "no risk countries"
    title = (f"tradeopt scenario '{meta.get('scenario') or 'run'}': {meta.get('importer') or '?'} imports in "
             f"{meta.get('year', '?')} away from {risk} (cap {float(meta.get('cap_pp') or 0):g} pp of "
             f"{meta.get('cap_basis') or '?'})")
    return {"title": title, **data_provenance(synthetic=bool(meta.get("synthetic")), data_label=meta.get("data_source"),
                                              hs_revision=meta.get("hs_revision"), release=meta.get("release"))}


def data_provenance(*, synthetic: bool, data_label: str | None, hs_revision: str | None = None,
                    release: str | None = None) -> dict:
    """``sources`` and ``licenses`` of outputs computed from one data source: BACI data and code tables are
    CEPII's under the Etalab Open Licence 2.0; the synthetic sample is tradeopt's own (MIT). ``data_label``:
    the file (its folder is left out); a known revision without a release says "release unknown"."""
    rev = f" {hs_revision}" if hs_revision else ""
    tables = {"title": f"CEPII BACI code tables: country codes and product codes{rev}", "path": BACI_PAGE,
              "description": "the release's country_codes_*/product_codes_*.csv when it ships them, else the "
                             "copies bundled with tradeopt (data/baci)"}
    if synthetic:
        data = {"title": "tradeopt's embedded SYNTHETIC sample (invented numbers, not real trade data)",
                "path": "data/baci/BACI_SYNTHETIC_Y2023_sample.parquet"}
        return {"sources": [data, tables], "licenses": [SYNTHETIC_LICENSE, BACI_LICENSE]}
    version = f", release V{str(release).lstrip('Vv')}" if release else ", release unknown" if hs_revision else ""
    data = {"title": f"CEPII BACI{rev}{version}", "path": BACI_PAGE,
            "description": f"trade flows read from {Path(str(data_label or '?')).name}"}
    return {"sources": [data, tables], "licenses": [BACI_LICENSE]}


def datapackage(tables: Mapping[str, pd.DataFrame], *, name: str, title: str = "",
                synthetic: bool = False, about: Mapping | None = None) -> dict:
    """The ``datapackage.json`` content for ``tables`` ({file name: frame as written}); ``about``: more package
    properties (``provenance``: title, sources, licenses); ``created``: ``created_time``."""
    pkg = {"profile": "tabular-data-package", "name": re.sub(r"[^a-z0-9._-]", "-", name.lower()) or "tradeopt-output",
           "title": title or name, "created": created_time(),
           **dict(about or {}), "resources": [resource(f, df) for f, df in sorted(tables.items())]}
    if synthetic:
        pkg["description"] = "SYNTHETIC SAMPLE - not real trade data"
    return pkg


#: The reproducible-builds variable: seconds since 1970-01-01 UTC that outputs state as their time of making.
EPOCH_ENV = "SOURCE_DATE_EPOCH"


def created_time() -> str:
    """The UTC time an output states it was made (ISO 8601, seconds): ``SOURCE_DATE_EPOCH`` when set (so two
    identical runs write identical files; matplotlib's SVG date honours it too), else now. A value that is not
    a whole number of seconds is ``InputError`` (exit 2)."""
    import os
    from datetime import datetime, timezone

    from optimize.errors import InputError

    epoch = os.environ.get(EPOCH_ENV, "").strip()
    if not epoch:
        return datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        return datetime.fromtimestamp(int(epoch), timezone.utc).isoformat(timespec="seconds")
    except (ValueError, OverflowError, OSError):
        raise InputError(f"{EPOCH_ENV}={epoch[:40]!r} is not a time", field=EPOCH_ENV,
                         fix=f"set {EPOCH_ENV} to whole seconds since 1970-01-01 UTC (e.g. 1700000000) or unset it"
                         ) from None


def write_datapackage(folder: str | Path, tables: Mapping[str, pd.DataFrame], *, name: str, title: str = "",
                      synthetic: bool = False, about: Mapping | None = None) -> Path:
    """Write ``folder/datapackage.json`` describing ``tables`` into the temporary folder of an ``atomic_dir``
    (a new file, hashed as written; the tables must already be there)."""
    from optimize.ownership import write_recorded

    path = Path(folder) / PACKAGE_FILE
    write_recorded(path, datapackage_text(tables, name=name, title=title, synthetic=synthetic, about=about).encode())
    return path


def datapackage_text(tables: Mapping[str, pd.DataFrame], *, name: str, title: str = "", synthetic: bool = False,
                     about: Mapping | None = None) -> str:
    """The text of ``datapackage.json`` (``datapackage``)."""
    return json.dumps(datapackage(tables, name=name, title=title, synthetic=synthetic, about=about), indent=2) + "\n"


def read_table(folder: str | Path, file: str) -> pd.DataFrame:
    """Read ``file`` of an output folder with the types of its ``datapackage.json`` schema."""
    folder = Path(folder)
    pkg = json.loads((folder / PACKAGE_FILE).read_text(encoding="utf-8"))
    res = next((r for r in pkg["resources"] if r["path"] == file), None)
    if res is None:
        raise OutputError(f"{folder / PACKAGE_FILE} has no resource with path {file!r}",
                          fix="list the folder's datapackage.json resources")
    fields = res["schema"]["fields"]
    if res.get("format") == "parquet":
        df = pd.read_parquet(folder / file)
    else:
        strings = [f["name"] for f in fields if f["type"] == "string"]
        df = pd.read_csv(folder / file, dtype={c: str for c in strings}, keep_default_na=False,
                         na_values={f["name"]: [""] for f in fields if f["type"] != "string"})
    return df.astype({f["name"]: _DTYPES[f["type"]] for f in fields if f["name"] in df.columns})
