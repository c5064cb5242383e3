"""Scenario files: the pydantic schema and TOML loading (overrides: ``optimize.config.overrides``).

A scenario only chooses parameters for the pipeline steps; it holds no data.
Every section and key is documented in ``models/README.md``. Errors are
``ScenarioError`` naming the file and the dotted key (``cap.pp``).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from optimize.args import file_problem
from optimize.config.caps import PP_MAX, PP_MIN, pp_problem
from optimize.config.overrides import apply_overrides, parse_sets
from optimize.config.tomlio import dumps_toml, read_toml
from optimize.errors import ScenarioError
from optimize.resources import models_dir
from optimize.tokens import split_tokens
from optimize.vocab import CAP_BASES, DEFAULT_CAP_BASIS
from optimize.vocab import SECTORS as KNOWN_SECTORS
from optimize.vocab import TABLES as KNOWN_TABLES


def _as_list(value: Any) -> Any:
    """A bare string ``"CHN"`` or ``"CHN,USA"`` -> list of tokens (for ``--set`` and hand edits)."""
    if isinstance(value, str):
        return split_tokens(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class DataSection(_Section):
    """Which trade data: ``baci`` path ("" = embedded synthetic sample), ``year`` (0 = latest in the data)."""

    baci: str = ""
    year: int = Field(0, ge=0, le=2100)
    hs_revision: str = ""  # "" = from the file name / release; else e.g. "HS22"


class ImporterSection(_Section):
    """Importer: ISO3 codes, BACI codes or groups ("EU27"); several tokens form one bloc."""

    countries: list[str] = Field(default_factory=lambda: ["EU27"], min_length=1)
    label: str = ""
    # "include" (the reference study): intra-bloc trade counts; "exclude" (EC 2021): imports from outside the set only
    intra_bloc: Literal["include", "exclude"] = "include"

    _split = field_validator("countries", mode="before")(_as_list)


class BasketSection(_Section):
    """Products: shipped basket ``sectors``, or a basket ``file``, or ``products`` ("all", codes, chapters, ranges)."""

    sectors: list[str] = Field(default_factory=lambda: list(KNOWN_SECTORS))
    file: str = ""
    products: str | list[str] = ""

    _split = field_validator("sectors", mode="before")(_as_list)

    @field_validator("sectors")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if s not in KNOWN_SECTORS]
        if bad:
            raise ValueError(f"unknown sector {bad[0]!r}; known sectors: {', '.join(KNOWN_SECTORS)}")
        return v


class RiskSection(_Section):
    """Risk countries and how their imports are cut (``split``)."""

    countries: list[str] = Field(default_factory=lambda: ["CHN", "USA", "RUS"])
    weights: dict[str, float] = Field(default_factory=dict)
    split: Literal["proportional", "priority", "weights"] = "proportional"
    priority: list[str] = Field(default_factory=list)

    _split = field_validator("countries", "priority", mode="before")(_as_list)

    @field_validator("countries")
    @classmethod
    def _non_empty(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("the risk set is empty; name at least one risk country, e.g. [\"CHN\"]")
        return v

    @field_validator("weights")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        for key, w in v.items():
            if not w > 0:
                raise ValueError(f"weight of {key!r} must be > 0, got {w}")
        return v


class AlternativesSection(_Section):
    """Who may replace risk suppliers (``friends``; empty = any non-risk exporter) and how the extra spreads."""

    friends: list[str] = Field(default_factory=list)
    spread: Literal["proportional", "min-hhi", "min-cost", "vertex"] = "proportional"
    self_supply: bool = False  # true: the importer may divert its own exports to itself (domestic diversion)

    _split = field_validator("friends", mode="before")(_as_list)


class CapSection(_Section):
    """Extra supply per alternative exporter, in percentage points (0..100) of ``basis``."""

    pp: float = Field(5.0, ge=PP_MIN, le=PP_MAX, allow_inf_nan=False)  # the range of ``config.caps``
    basis: Literal[CAP_BASES] = DEFAULT_CAP_BASIS
    exporter_pp: dict[str, float] = Field(default_factory=dict)
    product_pp: dict[str, float] = Field(default_factory=dict)
    share_limit: float = Field(0.0, ge=0, le=1, allow_inf_nan=False)  # 0 = off; else x[k,e] <= share_limit * T[k]
    exporter_total_pp: float = Field(0.0, ge=PP_MIN, le=PP_MAX, allow_inf_nan=False)  # 0 = off

    @field_validator("exporter_pp", "product_pp")
    @classmethod
    def _pp_range(cls, v: dict[str, float]) -> dict[str, float]:
        for key, pp in v.items():
            problem = pp_problem(pp, f"override for {key!r}")
            if problem:
                raise ValueError(problem)
        return v

    @field_validator("product_pp")
    @classmethod
    def _hs6_keys(cls, v: dict[str, float]) -> dict[str, float]:
        for key in v:
            if len(key) != 6 or not key.isdigit():
                raise ValueError(f"product key {key!r} is not a 6-digit HS6 code (write it quoted, e.g. \"850440\")")
        return v


class BanSection(_Section):
    """Export ban: ``country`` stops supplying ``products`` (HS6 codes); shortfall is reported."""

    country: str = ""
    products: list[str] = Field(default_factory=list)

    @field_validator("products", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        return split_tokens(v) if isinstance(v, str) else v

    @field_validator("products")
    @classmethod
    def _hs6(cls, v: list[str]) -> list[str]:
        for code in v:
            if len(code) != 6 or not code.isdigit():
                raise ValueError(f"{code!r} is not a 6-digit HS6 code (write it quoted, e.g. \"811292\")")
        return v

    @model_validator(mode="after")
    def _both(self) -> "BanSection":
        if bool(self.country) != bool(self.products):
            raise ValueError("a ban needs both a country and a non-empty product list (or neither)")
        return self


class SolverSection(_Section):
    """Solver backend and algorithm; ``keep_going`` reports infeasible products instead of stopping."""

    backend: Literal["highs", "pyomo"] = "highs"
    algorithm: Literal["auto", "simplex", "ipm", "pdlp"] = "auto"
    time_limit_s: float = Field(0.0, ge=0)  # 0 = none
    keep_going: bool = False


class CostSection(_Section):
    """Cost of shifting (docs/cost.md): ``method`` ``ces`` (Armington, default) or ``unit-value``;
    ``elasticities``: a CSV ``k,sigma`` overriding the bundled ProTEE sigmas ("" = none);
    ``prior_lambda``: weight of world-export shares in the new-supplier prior (0 <= lambda < 1)."""

    method: Literal["ces", "unit-value"] = "ces"
    elasticities: str = ""
    prior_lambda: float = Field(0.1, ge=0, lt=1, allow_inf_nan=False)


class BandsSection(_Section):
    """Low/central/high bands on the headlines (docs/cost.md): off by default (each cap is one more solve)."""

    enabled: bool = False
    caps: list[float] = Field(default_factory=lambda: [2.5, 5.0, 10.0], min_length=1)

    @field_validator("caps")
    @classmethod
    def _pp(cls, v: list[float]) -> list[float]:
        for pp in v:
            problem = pp_problem(pp, "band cap")
            if problem:
                raise ValueError(problem)
        return v


class ReportSection(_Section):
    """What to write: EUR rate (0 = USD only), top-N beneficiaries, tables, figures, xlsx."""

    eur_per_usd: float = Field(0.0, ge=0, allow_inf_nan=False)
    top_n: int = Field(25, ge=1)
    exclude_bloc_members: bool = False
    tables: list[str] = Field(default_factory=list)  # empty = all tables
    figures: bool = True
    xlsx: bool = False

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, v: list[str]) -> list[str]:
        bad = [t for t in v if t not in KNOWN_TABLES]
        if bad:
            close = difflib.get_close_matches(bad[0], KNOWN_TABLES, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"unknown table {bad[0]!r}; {hint}known tables: {', '.join(KNOWN_TABLES)}")
        return v


class Scenario(_Section):
    """One analysis set-up. ``source`` is the file it came from (not a TOML key)."""

    name: str = Field("scenario", min_length=1)
    description: str = ""
    data: DataSection = Field(default_factory=DataSection)
    importer: ImporterSection = Field(default_factory=ImporterSection)
    basket: BasketSection = Field(default_factory=BasketSection)
    risk: RiskSection = Field(default_factory=RiskSection)
    alternatives: AlternativesSection = Field(default_factory=AlternativesSection)
    cap: CapSection = Field(default_factory=CapSection)
    ban: BanSection = Field(default_factory=BanSection)
    solver: SolverSection = Field(default_factory=SolverSection)
    cost: CostSection = Field(default_factory=CostSection)
    bands: BandsSection = Field(default_factory=BandsSection)
    report: ReportSection = Field(default_factory=ReportSection)
    _spec: Any = PrivateAttr(default=None)  # the ModelSpec, cached by ``optimize.config.resolve.resolve``

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        """One plain path component (it names the default output folder ``tradeopt-out/<name>``)."""
        bad = [c for c in v if ord(c) < 32 or ord(c) == 127]
        if "/" in v or "\\" in v or v in (".", "..") or bad or len(v) > 100:
            raise ValueError("the scenario name must be one plain folder name: no '/' or '\\', not '.' or '..', "
                             "no control characters, at most 100 characters; write e.g. name = \"eu-chn-5pp\"")
        return v

    def resolved(self) -> dict:
        """Every key with defaults filled, as plain Python values (TOML-writable)."""
        return self.model_dump(mode="python")

    def to_toml(self) -> str:
        """The resolved scenario as TOML text (loads back to an equal Scenario); file paths (``data.baci``,
        ``basket.file``) are made absolute so the text can be run again from any folder."""
        d = self.resolved()
        for section, key in (("data", "baci"), ("basket", "file"), ("cost", "elasticities")):
            if d[section][key]:
                d[section][key] = str(Path(d[section][key]).expanduser().absolute())
        return dumps_toml(d)

    def update(self, updates: Mapping[str, Any], *, source: str | None = None,
               known: Mapping[str, tuple[int, ...]] | None = None) -> "Scenario":
        """A validated copy with ``{dotted key: value}`` set (``{"cap.pp": 3, "risk.countries": ["CHN"]}``).

        Unknown keys and bad values raise ``ScenarioError`` naming the key and ``source``. ``known``: BACI
        codes of country keys resolved already from the same tokens (``resolve.resolve``'s ``known``).
        """
        if not updates:
            return self
        return validate_scenario(apply_overrides(self.resolved(), updates, Scenario),
                                 file=source or f"{self.name} (updated)", known=known)


# ----------------------------------------------------------------- errors


def _schema_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Allowed key names at location ``loc`` (a path of section names) of the schema."""
    current: Any = model
    for part in loc:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = field.annotation
    return list(getattr(current, "model_fields", {}).keys())


def _dotted(loc: tuple) -> str:
    return ".".join(str(p) for p in loc)


def _error_from_validation(exc: ValidationError, file: str) -> ScenarioError:
    """First pydantic error -> ScenarioError naming the dotted key and a fix."""
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not isinstance(p, int))
    key = _dotted(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _schema_keys(Scenario, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{_dotted(loc[:-1] + (close[0],))}'?" if close else f"allowed keys: {', '.join(allowed)}"
        return ScenarioError(f"unknown key '{key}'", file=file, field=key, fix=hint)
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return ScenarioError(f"value {err['input']!r} is not allowed", file=file, field=key,
                             fix=f"use one of {expected}")
    msg = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    got_text = "" if isinstance(got, dict) else f" (got {got!r})"
    return ScenarioError(f"{msg}{got_text}", file=file, field=key, fix="see models/README.md for the schema")


# ----------------------------------------------------------------- loading


def scenario_path(name_or_path: str | Path) -> Path:
    """A file path as given, or ``models_dir()/<name>.toml`` for a bare name."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or (p.exists() and not p.is_dir()) or len(p.parts) > 1:
        if problem := file_problem(p):
            raise ScenarioError(f"scenario file {str(p)!r} {problem}", file=str(p),
                                fix="give a scenario TOML file (or a shipped scenario name)")
        return p
    candidate = models_dir() / f"{name_or_path}.toml"
    if not candidate.is_file():
        names = [n for n, _ in list_scenarios()]
        close = difflib.get_close_matches(str(name_or_path), names, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"shipped scenarios: {', '.join(names)}"
        raise ScenarioError(f"no scenario named {str(name_or_path)!r}", file=str(candidate), fix=hint)
    return candidate


def validate_scenario(raw: dict, *, file: str = "<dict>", check_countries: bool = True,
                      known: Mapping[str, tuple[int, ...]] | None = None) -> Scenario:
    """Raw dict -> Scenario, or ScenarioError naming ``file`` and the dotted key (``known``: see ``update``)."""
    try:
        scen = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise _error_from_validation(exc, file) from None
    if check_countries:  # every country name resolves (cached on the scenario: resolved once)
        from optimize.config.resolve import resolve

        resolve(scen, file=file, known=known)
    return scen


def load_scenario(name_or_path: str | Path = "default",
                  overrides: Iterable[str] | Mapping[str, Any] = ()) -> Scenario:
    """Load a shipped scenario by name (``models_dir()``) or a TOML file; apply overrides; validate.

    ``overrides``: ``--set`` strings (``"cap.pp=3"``) or a ``{dotted key: value}`` mapping.
    """
    path = scenario_path(name_or_path)
    updates = overrides if isinstance(overrides, Mapping) else parse_sets(overrides, Scenario)
    raw = apply_overrides(read_toml(path), updates, Scenario)
    raw.setdefault("name", path.stem)
    label = f"scenario '{path.stem}'" if path.resolve().parent == models_dir().resolve() else str(path)  # no path
    try:
        return validate_scenario(raw, file=label)
    except ScenarioError as exc:  # name the override that set the bad key, not only the file
        hits = [k for k in updates if exc.field and str(k).startswith(exc.field)]
        if hits:
            exc.file = f"{label} with override {hits[-1]}={updates[hits[-1]]!r}"
        raise


def list_scenarios() -> list[tuple[str, str]]:
    """(name, one-line description) of every shipped scenario, sorted by name."""
    out = []
    for p in sorted(models_dir().glob("*.toml")):
        try:
            desc = str(read_toml(p).get("description", ""))
        except ScenarioError as exc:
            desc = f"(broken: {exc})"
        out.append((p.stem, desc.splitlines()[0] if desc else ""))
    return out
