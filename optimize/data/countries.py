"""Country tables: BACI numeric code <-> ISO3/ISO2/name, and named country groups.

Inside the library countries are BACI numeric codes (``int``). Users may name
them by ISO3 (``CHN``), by BACI code (``156``) or by a group (``EU27``, ``G7``,
``G7+allies``, ``OECD``; defined in ``data/baci/country_groups.csv``).
"""
from __future__ import annotations

import difflib
import functools
import logging
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from optimize.data.usercsv import read_user_csv
from optimize.errors import DataError, ScenarioError
from optimize.resources import data_dir

#: Historical or aggregate BACI codes that share an ISO3 with a current code
#: (e.g. 280 Fed. Rep. of Germany vs 276 Germany); ISO3 lookups never pick them.
HISTORICAL_CODES = frozenset({58, 200, 278, 280, 530, 711, 736, 810, 891})

#: ISO3 shown in outputs where BACI's own code is not an ISO3 code: Taiwan is BACI 490
#: "Other Asia, nes" with ISO3 'S19' in CEPII's tables; outputs say ``TWN``.
OUTPUT_ISO3 = {490: "TWN"}

#: ISO3 spellings accepted on input that the (output) table does not carry itself.
ISO3_ALIASES = {"TWN": 490, "S19": 490}

#: Common English names accepted on input besides the table's own names (lower case).
NAME_ALIASES = {"korea": 410, "republic of korea": 410, "united states": 842, "united states of america": 842,
                "us": 842, "russia": 643, "taiwan": 490, "uk": 826, "great britain": 826, "britain": 826,
                "czech republic": 203, "czechia": 203, "holland": 528, "viet nam": 704}

_COLUMNS = ("baci_code", "iso3", "iso2", "name")


def _repair_mojibake(name: str) -> str:
    """Undo UTF-8 bytes decoded as latin-1 (``CÃ´te`` -> ``Côte``); else unchanged."""
    try:
        fixed = name.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name
    return fixed


def _read_table(path, label: str | None = None) -> pd.DataFrame:
    """Parse a country table from a path or a binary stream; errors name ``label`` (default: the path)."""
    name = label or str(path)
    raw = read_user_csv(path, label=name, what="country table", error=DataError, encoding="utf-8",
                        fix="pass a CEPII country_codes_*.csv or the project's data/baci/country_codes.csv")
    cols = set(raw.columns)
    if {"country_code", "country_iso3"} <= cols:  # CEPII layout
        df = pd.DataFrame({
            "baci_code": raw["country_code"], "iso3": raw["country_iso3"],
            "iso2": raw.get("country_iso2", ""), "name": raw.get("country_name", ""),
        })
    elif set(_COLUMNS) <= cols:
        df = raw[list(_COLUMNS)].copy()
    else:
        raise DataError(f"country table has columns {sorted(cols)}", file=name, field="country_code",
                        fix="expected CEPII columns country_code,country_name,country_iso2,country_iso3")
    codes = pd.to_numeric(df["baci_code"].str.strip(), errors="coerce")
    bad = np.flatnonzero(codes.isna().to_numpy())
    if bad.size:
        raise DataError("non-numeric country code", file=name, rows=(bad + 1).tolist(), count=int(bad.size),
                        field="country_code", fix="country codes must be integers")
    df["baci_code"] = codes.astype("int64")
    df["iso3"] = df["iso3"].str.strip().str.upper()
    for code, iso3 in OUTPUT_ISO3.items():
        df.loc[df["baci_code"] == code, "iso3"] = iso3
    df["iso2"] = df["iso2"].str.strip().str.upper()
    df["name"] = df["name"].map(_repair_mojibake)
    return df.sort_values("baci_code", kind="stable").reset_index(drop=True)


@functools.lru_cache(maxsize=8)
def _cached_table(path: str) -> pd.DataFrame:
    return _read_table(Path(path))


def country_table(path: str | Path | None = None) -> pd.DataFrame:
    """Country table ``[baci_code:int, iso3:str, iso2:str, name:str]`` sorted by code.

    ``path``: a CEPII ``country_codes_*.csv`` (mojibake names are repaired);
    None reads the project's generated ``data/baci/country_codes.csv``.
    """
    p = Path(path) if path is not None else data_dir() / "country_codes.csv"
    return _cached_table(str(p.resolve())).copy()


@functools.lru_cache(maxsize=1)
def _groups() -> pd.DataFrame:
    df = pd.read_csv(data_dir() / "country_groups.csv", dtype=str, keep_default_na=False)
    df["key"] = df["group"].str.upper()
    return df


def group_names() -> list[str]:
    """Names of the shipped country groups."""
    return sorted(_groups()["group"].unique())


def _iso3_index(table: pd.DataFrame) -> dict[str, int]:
    current = table[~table["baci_code"].isin(HISTORICAL_CODES)]
    index = dict(zip(current["iso3"], current["baci_code"].astype(int), strict=True))
    for iso3, code in ISO3_ALIASES.items():
        if code in set(table["baci_code"]):
            index.setdefault(iso3, code)
    return index


def _fold(text: str) -> str:
    """Case-, accent- and spacing-insensitive key of a name: 'Côte  d’Ivoire' -> "cote d'ivoire"."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", str(text)) if not unicodedata.combining(c))
    return " ".join(plain.replace("\u2019", "'").replace("\u2018", "'").casefold().split())


def _name_index(table: pd.DataFrame) -> dict[str, int]:
    """Folded English names (``_fold``) -> BACI code (current codes; the table's names, then ``NAME_ALIASES``)."""
    current = table[~table["baci_code"].isin(HISTORICAL_CODES)]
    index: dict[str, int] = {}
    for name, code in zip(current["name"].astype(str), current["baci_code"].astype(int), strict=False):
        if key := _fold(name):
            index.setdefault(key, code)
    known = set(current["baci_code"].astype(int))
    for alias, code in NAME_ALIASES.items():
        if code in known:
            index.setdefault(_fold(alias), code)
    return index


def _iso2_index(table: pd.DataFrame) -> dict[str, int]:
    """ISO2 (upper case) -> BACI code of the current codes that carry one."""
    current = table[~table["baci_code"].isin(HISTORICAL_CODES) & (table["iso2"].astype(str).str.len() == 2)]
    return dict(zip(current["iso2"].astype(str), current["baci_code"].astype(int), strict=False))


@functools.lru_cache(maxsize=1)
def _converter():
    """country_converter's CountryConverter (imported only on a lookup miss: ~0.5 s), or None if unusable."""
    try:
        import country_converter as coco
    except ImportError:
        return None
    try:
        return coco.CountryConverter()
    except TypeError:  # country_converter 1.3.2 under pandas 3 reads empty ISO2 cells as NaN: read its table here
        data = pd.read_csv(coco.country_converter.COUNTRY_DATA_FILE, sep="\t", encoding="utf-8", dtype=str,
                           keep_default_na=False, na_values=[""])
        return coco.CountryConverter(country_data=data.assign(ISO2=data["ISO2"].fillna("(?!)")))


def _converted(token: str, iso3_index: dict[str, int]) -> list[int]:
    """BACI codes of the countries country_converter's name patterns find in ``token`` (ISO3 through BACI's
    own table, so BACI's codes decide, e.g. France 251); [] when none does."""
    cc = _converter() if len(token) > 3 else None
    if cc is None:
        return []
    log = logging.getLogger("country_converter.country_converter")
    level = log.level
    log.setLevel(logging.ERROR)  # its "not found" warnings are ours to report
    try:
        found = cc.convert([token], src="regex", to="ISO3", enforce_list=True, not_found=None)[0]
    finally:
        log.setLevel(level)
    return [iso3_index[c] for c in found if c in iso3_index] if len(found) == 1 else []


def _unknown_country(tok: str, table: pd.DataFrame, choices: dict[str, str]) -> ScenarioError:
    """The error for a name nothing matched: close matches among codes, names and groups (no file paths)."""
    names = {_fold(n): f"{n} ({i})" for n, i in zip(table["name"].astype(str), table["iso3"].astype(str),
                                                      strict=False)}
    keys = {**{k.casefold(): v for k, v in choices.items()}, **names}
    close = difflib.get_close_matches(_fold(tok), list(keys), n=5, cutoff=0.6)
    hint = f"did you mean {', '.join(dict.fromkeys(keys[c] for c in close))}? " if close else ""
    return ScenarioError(f"unknown country '{tok}'", field="countries",
                         fix=hint + "name a country by ISO3 (DEU), ISO2 (DE), BACI code (276), English name "
                         "(Germany) or group (" + ", ".join(group_names()) + ")")


def group_members(name: str, table: pd.DataFrame | None = None) -> tuple[int, ...]:
    """BACI codes of a named group (``EU27``, ``G7``, ``G7+allies``, ``OECD``), sorted."""
    g = _groups()
    members = g.loc[g["key"] == name.strip().upper(), "iso3"]
    if members.empty:
        raise ScenarioError(f"unknown country group '{name}'", field="countries",
                            fix=f"use one of {', '.join(group_names())}")
    index = _iso3_index(country_table() if table is None else table)
    missing = sorted(set(members) - set(index))
    if missing:
        raise DataError(f"group '{name}' names ISO3 codes absent from the country table: {missing}",
                        file=str(data_dir() / "country_groups.csv"), field="iso3",
                        fix="correct country_groups.csv or the country table")
    return tuple(sorted(index[m] for m in members))


EU27: tuple[int, ...] = group_members("EU27")


def resolve_countries(tokens: str | int | Iterable[str | int], table: pd.DataFrame | None = None) -> list[int]:
    """Turn ISO3 codes, BACI codes, English names and group names into BACI codes.

    ``tokens``: a comma-separated string (``"CHN, usa, 643, EU27, Germany, korea"``),
    one int, or an iterable of such; also ISO2 (``DE``). Case- and accent-insensitive;
    deduplicated keeping first order. Names: the country table's English names and
    ``NAME_ALIASES``, then country_converter's name patterns (``Turkey``, ``Korea, Rep.``),
    always mapped through the table's own codes. Unknown token -> ``ScenarioError`` naming
    it with close matches.
    """
    table = country_table() if table is None else table
    if isinstance(tokens, (str, int, np.integer)):
        tokens = [tokens]
    flat: list[str] = []
    for tok in tokens:
        flat += [p.strip() for p in re.split(r"[,;]", str(tok)) if p.strip()]
    indexes = _Indexes(table)
    out: list[int] = []
    i = 0
    while i < len(flat):  # "Korea, Rep." is one name: a piece that is no country joins the one before it
        nxt = flat[i + 1] if i + 1 < len(flat) else None
        if nxt is not None and indexes.match(nxt) is None and (found := indexes.match(f"{flat[i]}, {nxt}")):
            i += 2
        elif (found := indexes.match(flat[i])) is not None:
            i += 1
        else:
            raise _unknown_country(flat[i], table, {**{c: c for c in indexes.iso3}, **indexes.groups})
        out += [c for c in found if c not in out]
    return out


class _Indexes:
    """The lookups of one country table: BACI code, group, ISO3, ISO2, name, then country_converter."""

    def __init__(self, table: pd.DataFrame):
        self.table = table
        self.codes = set(table["baci_code"].astype(int))
        self.iso3 = _iso3_index(table)
        self.iso2 = _iso2_index(table)
        self.groups = dict(zip(_groups()["key"], _groups()["group"], strict=True))
        self._names: dict[str, int] | None = None
        self._matched: dict[str, list[int] | None] = {}  # resolve_countries asks of each token twice

    def match(self, tok: str) -> list[int] | None:
        """BACI codes ``tok`` names, or None; an unknown numeric code raises (it is no name)."""
        if tok not in self._matched:
            self._matched[tok] = self._match(tok)
        return self._matched[tok]

    def _match(self, tok: str) -> list[int] | None:
        up = tok.upper()
        if re.fullmatch(r"\d+", tok):
            if int(tok) not in self.codes:
                raise ScenarioError(f"unknown BACI country code '{tok}'", field="countries",
                                    fix="use a code of the BACI country table (e.g. 251 France) or an ISO3 code")
            return [int(tok)]
        if up in self.groups:
            return list(group_members(self.groups[up], self.table))
        if up in self.iso3 or (len(up) == 2 and up in self.iso2):
            return [self.iso3[up] if up in self.iso3 else self.iso2[up]]
        self._names = self._names if self._names is not None else _name_index(self.table)
        if code := self._names.get(_fold(tok)):
            return [code]
        return _converted(tok, self.iso3) or None


def lookup(codes, column: str, missing_prefix: str | None, table: pd.DataFrame | None = None) -> np.ndarray:
    """``column`` of the country table (default: the shipped one) for BACI ``codes``, vectorised;
    codes absent from the table (or with an empty entry) get ``missing_prefix`` + code (None: an
    object array with None there). The one code -> ISO3/name lookup (``to_iso3``,
    ``country_names``, ``metrics.country_labels``)."""
    table = country_table() if table is None else table
    full = np.asarray(list(codes) if not isinstance(codes, np.ndarray) else codes).astype("int64")
    arr, inverse = np.unique(full, return_inverse=True)  # each distinct code once, then spread
    inverse = inverse.reshape(full.shape)
    if column in table and len(table):
        table = table.drop_duplicates("baci_code")
        s = pd.Series(table[column].to_numpy(), index=table["baci_code"].to_numpy().astype("int64"))
        out = s.reindex(arr).to_numpy(dtype=object)
    else:
        out = np.full(arr.shape, None, dtype=object)
    miss = pd.isna(out) | (out == "")
    if missing_prefix is None:
        out[miss] = None
        return out[inverse]
    if miss.any():
        out[miss] = np.char.add(missing_prefix, arr[miss].astype(str))
    return out.astype(str)[inverse]


def to_iso3(codes: Iterable[int] | np.ndarray, table: pd.DataFrame | None = None) -> np.ndarray:
    """ISO3 strings for BACI codes (vectorised); unknown codes become ``'?<code>'``."""
    return lookup(codes, "iso3", "?", table)


def country_names(codes: Iterable[int] | np.ndarray, table: pd.DataFrame | None = None) -> np.ndarray:
    """Country names for BACI codes (vectorised); unknown codes become ``'code <n>'``."""
    return lookup(codes, "name", "code ", table)
