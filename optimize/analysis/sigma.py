"""Elasticity of substitution sigma per product of a run: the bundled table of the data's HS
revision (``data/elasticities/sigma_<REV>.csv``, derived from CEPII ProTEE by
``scripts/build_sigma.py``), overridden by a user file (``--elasticities FILE`` /
``cost.elasticities``: columns k, sigma). Rule and sources: docs/cost.md.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from optimize.analysis.protee import fill
from optimize.data.hs_links import normalize_revision
from optimize.data.usercsv import read_user_csv
from optimize.data.validate import normalise_hs6
from optimize.errors import ScenarioError
from optimize.resources import elasticities_dir

COLUMNS = ["k", "sigma", "sigma_low", "sigma_high", "sigma_source"]
FILE_SOURCE = "file"


@functools.lru_cache(maxsize=8)
def _table(path: str) -> pd.DataFrame:
    t = pd.read_csv(path, comment="#", dtype={"k": str, "sigma_source": str})
    return t[COLUMNS].sort_values("k").reset_index(drop=True)


def sigma_table(hs_revision: str) -> pd.DataFrame | None:
    """The bundled sigma table of ``hs_revision`` (DataFrame[k, sigma, sigma_low, sigma_high,
    sigma_source]), or None when there is none (HS92, HS96, HS02: no UNSD link to HS2007 here)."""
    p = elasticities_dir() / f"sigma_{normalize_revision(hs_revision)}.csv"
    return _table(str(p)).copy() if p.is_file() else None


def read_elasticities(path: str | Path, hs_revision: str | None = None) -> pd.DataFrame:
    """A user's sigma file (CSV, columns k and sigma > 0; codes of ``hs_revision`` when given and
    bundled) -> DataFrame[k, sigma]; bad input is a ScenarioError naming the file, rows and field."""
    file = str(path)
    df = read_user_csv(path, label=file, what="the elasticities file", field="cost.elasticities",
                       required=("k", "sigma"), fix="a readable CSV with the columns k,sigma (HS6 code, sigma > 0)")
    if df.empty:  # a header only would change no sigma, silently
        raise ScenarioError("the elasticities file has no rows (header only)", file=file, field="k",
                            fix="list one HS6 code and its sigma per row (k,sigma), or drop --elasticities")
    k = normalise_hs6(df["k"])
    bad = ~k.fillna("").str.fullmatch(r"\d{6}").to_numpy()
    _refuse(bad, file, "k", f"invalid HS6 code {df['k'][bad].iloc[0]!r}" if bad.any() else "",
            "k must be a 6-digit HS code of the data's revision")
    sigma = pd.to_numeric(df["sigma"].str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(sigma) & (sigma > 0))
    _refuse(bad, file, "sigma", f"sigma {df['sigma'][bad].iloc[0]!r} is not a number > 0" if bad.any() else "",
            "sigma is the elasticity of substitution, a number > 0 (e.g. 8)")
    dup = k.duplicated(keep=False).to_numpy()
    _refuse(dup, file, "k", f"code {k[dup].iloc[0]} is listed more than once" if dup.any() else "",
            "give each code one sigma")
    known = _revision_codes(hs_revision)
    if known is not None:
        bad = ~k.isin(known).to_numpy()
        _refuse(bad, file, "k", f"code {k[bad].iloc[0]} is not an {hs_revision} code" if bad.any() else "",
                f"list codes of the data's revision ({hs_revision})")
    return pd.DataFrame({"k": k.astype(str).to_numpy(), "sigma": sigma})


def _revision_codes(hs_revision: str | None) -> set[str] | None:
    table = sigma_table(hs_revision) if hs_revision else None
    return None if table is None else set(table["k"])


def _refuse(bad: np.ndarray, file: str, field: str, message: str, fix: str) -> None:
    if bad.any():
        raise ScenarioError(message, file=file, rows=(np.flatnonzero(bad) + 1).tolist(), field=field,
                            count=int(bad.sum()), fix=fix)


def product_sigmas(products, hs_revision: str | None, override: pd.DataFrame | None = None) -> pd.DataFrame:
    """DataFrame[k, sigma, sigma_low, sigma_high, sigma_source] for ``products`` (HS6 codes of the
    data's revision): the user's value (source ``file``, no band) where given, else the bundled
    table's row, else its HS4/HS2/all-products median of ProTEE estimates; sigma NaN with the
    reason as source where the revision has no table."""
    k = pd.Series([str(c) for c in products], dtype=str)
    table = sigma_table(hs_revision) if hs_revision else None
    if table is None:
        why = f"no sigma table for {hs_revision}" if hs_revision else "HS revision unknown"
        out = pd.DataFrame({"k": k, "sigma": np.nan, "sigma_low": np.nan, "sigma_high": np.nan,
                            "sigma_source": f"{why}: pass --elasticities FILE"})
    else:
        out = pd.DataFrame({"k": k}).merge(table, on="k", how="left")
        miss = out["sigma"].isna().to_numpy()
        if miss.any():
            protee = table[table["sigma_source"] == "ProTEE"].set_index("k")["sigma"]
            filled = fill(k[miss], protee).set_index("k").reindex(k[miss])
            out.loc[miss, COLUMNS[1:]] = filled[COLUMNS[1:]].to_numpy()
    if override is not None and len(override):
        user = k.map(override.set_index("k")["sigma"]).to_numpy(dtype=float)
        has = np.isfinite(user)
        for c in ("sigma", "sigma_low", "sigma_high"):
            out.loc[has, c] = user[has]
        out.loc[has, "sigma_source"] = FILE_SOURCE
    return out[COLUMNS].astype({"sigma": float, "sigma_low": float, "sigma_high": float, "sigma_source": str})


@functools.lru_cache(maxsize=8)
def _user_file(path: str, mtime_ns: int, hs_revision: str | None) -> pd.DataFrame:
    return read_elasticities(path, hs_revision)


def run_sigmas(products, hs_revision: str | None, elasticities: str | Path = "") -> pd.DataFrame:
    """``product_sigmas`` with the scenario's ``cost.elasticities`` file ("" = none; read once per change)."""
    override = None
    if elasticities:
        p = Path(elasticities).expanduser()
        if not p.is_file():
            raise ScenarioError(f"elasticities file {str(p)!r} not found", file=str(p), field="cost.elasticities",
                                fix="check the path (a CSV with the columns k,sigma)")
        override = _user_file(str(p.resolve()), p.stat().st_mtime_ns, hs_revision)
    return product_sigmas(products, hs_revision, override)
