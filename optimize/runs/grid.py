"""The batch grid: cells (importer x year x cap x cap basis x risk set) and the option parsers.

Importer tokens: ISO3 or BACI codes, group names (``EU27``, ``G7``: one bloc per
cell), ``all-eu`` (each EU27 member separately), ``all`` (every importer in the
data, single countries; expanded per batch by ``expand_all``) and ``@file`` (one
token per line, ``#`` comments).
"""
from __future__ import annotations

import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from optimize.args import file_problem
from optimize.config.caps import PP_FIX, pp_problem
from optimize.errors import DataError, ScenarioError
from optimize.tokens import number_list, parse_years  # noqa: F401  (parse_years re-exported for batch grids)
from optimize.tokens import split_tokens as _split
from optimize.vocab import CAP_BASES

#: Importer token meaning every importer of the data (single countries).
ALL_IMPORTERS = "ALL"
_SAFE = re.compile(r"[^A-Za-z0-9.+-]+")


@dataclass(frozen=True, order=True)
class Cell:
    """One run of the grid. ``importer``: a country or group token (``DEU``, ``EU27``)."""

    year: int
    importer: str
    cap_basis: str
    cap_pp: float
    risk_set: tuple[str, ...]  # risk country tokens, sorted, upper case
    #: BACI codes of ``importer`` and of the risk set, resolved once on the grid (``Grid.codes``); an importer
    #: token no country table entry names has no codes and its ``ScenarioError`` text in ``importer_error``
    importer_codes: tuple[int, ...] = field(default=(), compare=False)
    risk_codes: tuple[int, ...] = field(default=(), compare=False)
    importer_error: str = field(default="", compare=False)

    @property
    def risk_label(self) -> str:
        return ",".join(self.risk_set)

    @property
    def key(self) -> str:
        """Stable, filesystem-safe name: ``DEU__2023__world-exports__cap5__CHN+RUS``."""
        cap = f"{self.cap_pp:g}" if float(f"{self.cap_pp:g}") == self.cap_pp else repr(self.cap_pp)  # exact, short
        parts = [self.importer, str(self.year), self.cap_basis, f"cap{cap}", "+".join(self.risk_set)]
        return "__".join(_SAFE.sub("-", p) for p in parts)


@dataclass(frozen=True)
class Grid:
    """Axes of a batch; ``cells()`` is their product in a fixed order."""

    importers: tuple[str, ...]
    years: tuple[int, ...]
    caps_pp: tuple[float, ...]
    cap_bases: tuple[str, ...] = ("world-exports",)
    risk_sets: tuple[tuple[str, ...], ...] = (("CHN", "RUS", "USA"),)
    #: (token, BACI codes or the ScenarioError text of an unknown token) per importer and risk token: each
    #: token resolved once, here or by the parsers (``importer_axis``, ``risk_axis``); nothing after resolves
    codes: tuple[tuple[str, tuple[int, ...] | str], ...] = ()

    def __post_init__(self) -> None:
        have = dict(self.codes)
        risk = {t for rs in self.risk_sets for t in rs}
        missing = [t for t in dict.fromkeys([*self.importers, *sorted(risk)]) if t != ALL_IMPORTERS and t not in have]
        found = resolve_tokens(missing, keep_errors=True)
        bad = [found[t] for t in sorted(risk) if isinstance(found.get(t, have.get(t)), str)]
        if bad:
            raise ScenarioError(str(bad[0]), field="risk-sets", fix="name risk countries by ISO3, BACI code or group")
        object.__setattr__(self, "codes", tuple(sorted({**have, **found}.items())))

    def cells(self) -> list[Cell]:
        codes = dict(self.codes)

        def risk_codes(rs):
            return tuple(sorted({c for t in rs for c in codes[t]}))

        def imp(tok):
            got = codes[tok]
            return ((), got) if isinstance(got, str) else (got, "")

        out = {Cell(y, i, basis, float(cap), rs, imp(i)[0], risk_codes(rs), imp(i)[1]) for y in self.years
               for i in self.importers for basis in self.cap_bases for cap in self.caps_pp for rs in self.risk_sets}
        return sorted(out)


def resolve_tokens(tokens: Iterable[str], *, keep_errors: bool = False) -> dict[str, tuple[int, ...] | str]:
    """BACI codes of each distinct token: one ``countries.resolve_countries`` call per token (the batch's
    one resolution of its countries). An unknown token raises its ``ScenarioError`` (with close matches),
    or with ``keep_errors`` maps to that error's text (an importer cell of it gets an error row)."""
    from optimize.data.countries import resolve_countries

    out: dict[str, tuple[int, ...] | str] = {}
    for tok in dict.fromkeys(tokens):
        try:
            out[tok] = tuple(int(c) for c in resolve_countries(tok))
        except ScenarioError as exc:
            if not keep_errors:
                raise
            out[tok] = f"error: ScenarioError: {exc}"
    return out


def parse_importers(text: str | Sequence[str]) -> tuple[str, ...]:
    """The importer tokens of ``importer_axis``."""
    return importer_axis(text)[0]


def importer_axis(text: str | Sequence[str]) -> tuple[tuple[str, ...], dict[str, tuple[int, ...] | str]]:
    """Importer tokens and their BACI codes (``resolve_tokens``; unknown names fail here, with close matches).

    ``"EU27,DEU,FRA"``; ``all-eu`` = each EU27 member separately; ``all`` = every importer of the data
    (kept as the token ``ALL`` until ``expand_all``); ``@file`` or a file path: one token per line."""
    from optimize.data.countries import EU27, to_iso3

    # text or one code: split at commas; a list: one importer (or bloc, "DEU,FRA") per item
    tokens = _split(text) if isinstance(text, (str, numbers.Integral)) else [str(t) for t in text]
    out: list[str] = []
    lines_of: dict[str, tuple[str, int]] = {}  # a token read from a file: (file, line), for the error
    for tok in tokens:
        if tok.lower() == "all":
            out.append(ALL_IMPORTERS)
        elif tok.lower() == "all-eu":
            out += [str(s) for s in to_iso3(EU27)]
        elif tok.startswith("@") or Path(tok).is_file():
            path = Path(tok.lstrip("@"))
            if problem := file_problem(path):
                raise ScenarioError(f"importer list file {str(path)!r} {problem}", file=str(path),
                                    fix="give an existing file with one importer per line")
            try:
                text = path.read_text(encoding="utf-8-sig")  # a UTF-8 BOM (Windows editors) is no country
            except (OSError, UnicodeDecodeError) as exc:
                raise ScenarioError(f"cannot read the importer list file {str(path)!r}: {exc}", file=str(path),
                                    fix="give a UTF-8 text file with one importer per line") from None
            lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
            out += [ln.upper() for ln in lines if ln]
            lines_of |= {t: (str(path), n) for n, ln in enumerate(lines, 1) if (t := ln.upper()) not in lines_of}
        else:
            out.append(tok.upper())
    if not out:
        raise ScenarioError("no importers given", field="importers", fix="e.g. --importers EU27,DEU or all-eu")
    tokens = tuple(dict.fromkeys(out))
    return tokens, _resolve_listed(tokens, lines_of)


def _resolve_listed(tokens: tuple[str, ...], lines_of: dict[str, tuple[str, int]]) -> dict:
    """``resolve_tokens`` of ``tokens`` but ALL; an unknown token read from a list file names that file and line."""
    codes: dict[str, tuple[int, ...] | str] = {}
    for t in tokens:
        try:
            codes |= resolve_tokens([t]) if t != ALL_IMPORTERS else {}
        except ScenarioError as exc:
            if t not in lines_of:
                raise
            file, line = lines_of[t]
            raise ScenarioError(exc.message, file=file, rows=[line], field="importers", fix=exc.fix) from None
    return codes


def resolve_many(tokens: Sequence[str], table=None) -> list[tuple[int, ...] | ScenarioError]:
    """BACI codes of each token (``countries.resolve_countries``), with one country index for all tokens;
    an unknown token gives its ``ScenarioError`` in place of the codes."""
    from optimize.data.countries import _iso3_index, country_table, resolve_countries

    table = country_table() if table is None else table
    index = _iso3_index(table)
    known = set(table["baci_code"].astype(int))
    out: list = []
    for tok in tokens:
        t = str(tok).strip()
        if t.isdigit() and int(t) in known:
            out.append((int(t),))
        elif t.upper() in index:
            out.append((int(index[t.upper()]),))
        else:
            try:
                out.append(tuple(int(c) for c in resolve_countries(t, table)))
            except ScenarioError as exc:
                out.append(exc)
    return out


def importer_tokens(codes: Sequence[int], countries=None) -> tuple[str, ...]:
    """One token per BACI importer code (ISO3 when it resolves back to that code, else the code), sorted.

    Codes absent from the country table are left out (they cannot be named in a scenario).
    """
    return tuple(sorted(single_importers(codes, countries)))


def single_importers(codes: Sequence[int], countries=None) -> dict[str, int]:
    """``importer_tokens`` with each token's BACI code (the code it was named from)."""
    from optimize.data.countries import country_table, to_iso3

    table = country_table() if countries is None else countries
    known = set(table["baci_code"].astype(int))
    codes = sorted({int(c) for c in codes} & known)
    iso = [str(s) for s in to_iso3(codes, table)]
    back = resolve_many(iso, table)
    return {s if r == (int(c),) else str(int(c)): int(c) for c, s, r in zip(codes, iso, back, strict=False)}


def expand_all(grid: Grid, importer_codes: Sequence[int]) -> Grid:
    """``grid`` with the token ``ALL`` replaced by one single-country importer per code in ``importer_codes``."""
    if ALL_IMPORTERS not in grid.importers:
        return grid
    singles = single_importers(importer_codes)  # each named from its code: its code is known, nothing to resolve
    imps: list[str] = []
    for tok in grid.importers:
        imps += sorted(singles) if tok == ALL_IMPORTERS else [tok]
    known: dict[str, tuple[int, ...] | str] = {t: (c,) for t, c in singles.items()}
    return replace(grid, importers=tuple(dict.fromkeys(imps)), codes=tuple({**known, **dict(grid.codes)}.items()))


def parse_caps(value, *, field: str = "--caps") -> tuple[float, ...]:
    """Caps in pp from text (``"0,1,2"``, ``"1-10"``, ``"0-10:0.5"``) or numbers, sorted and unique; each must be
    finite and within [0, 100] (the one check of a batch or sweep cap, for the CLI and the API alike)."""
    if isinstance(value, str):
        caps = number_list(value, "caps", field=field)
    else:
        caps = sorted({float(c) for c in ([value] if isinstance(value, numbers.Real) else value)})
    problems = [p for p in map(pp_problem, caps) if p]
    if problems:
        raise ScenarioError(problems[0], field=field, fix=PP_FIX)
    if not caps:
        raise ScenarioError("no caps given", field=field, fix="give at least one cap in percentage points")
    return tuple(caps)


def parse_cap_bases(text: str) -> tuple[str, ...]:
    bases = _split(text)
    for b in bases:
        if b not in CAP_BASES:
            raise ScenarioError(f"unknown cap basis {b!r}", field="cap-basis", fix=f"use {', '.join(CAP_BASES)}")
    return tuple(dict.fromkeys(bases))


def parse_risk_sets(text: str) -> tuple[tuple[str, ...], ...]:
    """The risk sets of ``risk_axis``."""
    return risk_axis(text)[0]


def risk_axis(text: str) -> tuple[tuple[tuple[str, ...], ...], dict[str, tuple[int, ...] | str]]:
    """``"CHN;CHN,RUS;CHN,USA,RUS"`` -> sets separated by ';', countries by ',', and the BACI codes of each
    distinct country token (``resolve_tokens``: CHN once, however many sets name it)."""
    sets = tuple(dict.fromkeys(tuple(sorted({t.upper() for t in _split(part)})) for part in _split(text, ";")))
    if not sets:
        raise ScenarioError("no risk sets given", field="risk-sets", fix="e.g. 'CHN;CHN,RUS'")
    return sets, resolve_tokens(t for rs in sets for t in rs)


def raise_every_absent_year(exc: DataError, years: Sequence[int], data_years) -> None:
    """Raise ``exc`` if it is no absent-year error (``field`` t) of a grid of several ``years``; else the error
    naming every one of ``years`` absent from ``data_years()`` (the years the data hold), not only the first."""
    if exc.field != "t" or "no flows for year" not in exc.message or len(years) < 2:
        raise exc
    present = list(data_years())
    missing = ", ".join(str(y) for y in years if y not in present)
    listed = ", ".join(map(str, present))
    raise DataError(f"no flows for year(s) {missing} of the {len(years)} years asked; the data hold {listed}",
                    file=exc.file, field="t", fix=f"choose years among {listed} (--years or data.year)") from None


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs (``run_batch``): ``workers`` local processes, or ``dask_address`` (``local``/``local:N``,
    a scheduler address or a ``distributed.Client``, connected before any data are read; ``dask_timeout_s``
    seconds to wait for it); ``joint``: all importers of a (year, cap, basis, risk set) group as one coupled
    LP; ``outputs``: "tables" or "full" (every report file per cell, ``figures`` too); ``fast``: the batched
    closed form where the scenario allows it (``kernel.CLOSED_FORM.supports``); ``quiet``: no progress;
    ``overwrite``: results tradeopt cannot prove it wrote may be replaced (never a user's file)."""

    workers: int = 2
    dask_address: object = None
    joint: bool = False
    outputs: str = "tables"
    figures: bool = False
    quiet: bool = False
    fast: bool = True
    dask_timeout_s: float | None = None
    overwrite: bool = False
