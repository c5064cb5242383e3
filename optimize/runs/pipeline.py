"""The public end-to-end API: scenario + data -> re-allocation -> result tables -> files.

``prepare`` reads and selects the data once (year, products, product info,
countries); ``solve_cell`` builds one Instance, solves it and computes the
tables, and may be called many times on one ``Prepared`` (batch runs);
``run`` = prepare + solve_cell. All values inside are kUSD; tables are USD.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optimize.output import manifest as _manifest
from optimize.errors import InputError, ScenarioError
from optimize.config.scenario import Scenario, load_scenario, resolve_scenario_countries, validate_scenario
from optimize.data.trade import SYNTHETIC_LABEL, TradeData
from optimize.tokens import split_tokens


@dataclass
class Prepared:
    """Data read and selected once for a scenario: one year's flows of the chosen products."""

    scenario: Scenario
    trade: TradeData  # the data as read (flows of every year read)
    year: int
    flows: pd.DataFrame  # BACI flows of ``year`` for ``products`` (all exporters and importers)
    products: tuple[str, ...]  # HS6 codes analysed (sorted); empty tuple = none found
    product_info: pd.DataFrame  # [k, description, sector, stage]
    countries: pd.DataFrame  # [baci_code, iso3, iso2, name]
    input_sha256: dict[str, str | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    """One solved cell: the resolved scenario, the instance, its allocation, tables and run facts."""

    scenario: Scenario
    instance: Any  # optimize.model.instance.Instance
    allocation: Any  # optimize.model.engine.Allocation
    tables: Any  # optimize.analysis.metrics.ResultTables
    meta: dict

    @property
    def resolved(self) -> dict:
        return self.scenario.resolved()

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic"))

    def manifest(self) -> dict:
        """Versions, input hashes and the resolved scenario (see ``optimize.output.manifest``)."""
        run_meta = {k: v for k, v in self.meta.items() if k not in ("scenario_resolved", "scenario_toml")}
        return _manifest.build_manifest(self.resolved, inputs=self.meta.get("input_hashes", {}), meta=run_meta)

    def write(self, out_dir: str | Path, **kw) -> Path:
        """Write every output (``report.write_outputs``) plus manifest.json and scenario.resolved.toml.

        Keyword arguments default to the scenario's ``[report]`` section
        (``eur_per_usd``, ``xlsx``, ``figures``).
        """
        from optimize.output.report import write_outputs

        rep = self.scenario.report
        kw.setdefault("eur_per_usd", rep.eur_per_usd or None)
        kw.setdefault("xlsx", rep.xlsx)
        kw.setdefault("figures", rep.figures)
        # manifest and resolved scenario inside the same atomic folder: a killed run leaves all or nothing
        extra = {_manifest.MANIFEST_FILE: _manifest.manifest_text(self.manifest()),
                 _manifest.RESOLVED_FILE: self.scenario.to_toml()}
        kw["extra_text"] = {**extra, **(kw.get("extra_text") or {})}
        return Path(write_outputs(self.tables, self.meta, out_dir, **kw))

    def summary_md(self) -> str:
        """The Markdown summary (``report.render_summary_md``)."""
        from optimize.output.report import render_summary_md

        return render_summary_md(self.tables, self.meta, eur_per_usd=self.scenario.report.eur_per_usd or None)


# ------------------------------------------------------------------ prepare


def _as_scenario(scenario: Scenario | str | Path | None) -> Scenario:
    if scenario is None:
        return load_scenario("default")
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(scenario)


def _read_data(scen: Scenario, data, products: tuple[str, ...] | None) -> TradeData:
    from optimize.data import baci

    if isinstance(data, TradeData):
        return data
    if isinstance(data, pd.DataFrame):
        return baci.from_dataframe(data)
    path = data if data is not None else (scen.data.baci or None)
    years = scen.data.year or None
    return baci.read_baci(path, years=years, products=list(products) if products else None)


def _hs_revision(scen: Scenario, data) -> str | None:
    """The data's HS revision if known before reading (scenario key or file name)."""
    if scen.data.hs_revision:
        return scen.data.hs_revision.upper()
    if isinstance(data, TradeData):
        return data.hs_revision
    if isinstance(data, pd.DataFrame):
        return None
    path = data if isinstance(data, (str, Path)) else (scen.data.baci or None)
    if path is None:
        return "HS22"  # the embedded sample is HS2022
    from optimize.data.baci import parse_name

    hs = parse_name(Path(path).name).get("hs")
    return hs.upper() if hs and hs.upper().startswith("HS") else None


def _basket(scen: Scenario, hs_revision: str | None) -> pd.DataFrame:
    """The basket rows [k, sector, ...] in the data's HS revision (``basket.load_basket``)."""
    from optimize.data.basket import load_basket

    rev = hs_revision or "HS22"
    if scen.basket.file:
        return load_basket(scen.basket.file, hs_revision=rev)
    return load_basket(None, sectors=scen.basket.sectors, hs_revision=rev)


def load_basket_all(scen: Scenario, hs_revision: str | None) -> pd.DataFrame:
    """Every sector of the scenario's basket (for sector labels of a ``basket.products`` selection)."""
    from optimize.data.basket import load_basket

    return load_basket(scen.basket.file or None, hs_revision=hs_revision or "HS22")


def _product_filter(scen: Scenario, basket: pd.DataFrame) -> tuple[str, ...] | None:
    """HS6 codes to read (None = every product: ``basket.products`` selects among the data's codes)."""
    spec = scen.basket.products
    if spec:
        tokens = split_tokens(spec)
        if not all(len(t) == 6 and t.isdigit() for t in tokens):
            return None
        return tuple(sorted(set(tokens) | set(scen.ban.products)))
    return tuple(sorted(set(basket["k"].astype(str)) | set(scen.ban.products)))


def _product_info(products: tuple[str, ...], basket: pd.DataFrame | None, trade: TradeData,
                  hs_revision: str | None, notes: list[str]) -> pd.DataFrame:
    """[k, description, sector, stage] for the analysed products (blank where unknown; reasons in ``notes``).

    Descriptions: the release's own product table, else the project's
    (``products.product_table``), else the basket's. Stages: ``stages.stage_table``.
    """
    info = pd.DataFrame({"k": list(products)})
    if basket is not None and len(basket):
        b = basket.astype({"k": str}).sort_values(["k", "sector"]).drop_duplicates("k")
        info = info.merge(b[["k", "sector"]], on="k", how="left")
    desc = trade.product_table
    if desc is None:
        try:
            from optimize.data.products import product_table

            desc = product_table(hs_revision)
        except (ImportError, InputError, OSError, ValueError, LookupError) as exc:
            notes.append(f"product descriptions unavailable ({getattr(exc, 'message', exc)})")
            desc = basket if basket is not None and "description" in basket else None
    if desc is not None and "description" in desc:
        d = desc[["k", "description"]].astype({"k": str}).drop_duplicates("k")
        info = info.merge(d, on="k", how="left")
    try:
        from optimize.data.stages import stage_table

        st = stage_table(hs_revision or "HS22")
        info = info.merge(st[["k", "stage"]].astype({"k": str}).drop_duplicates("k"), on="k", how="left")
    except (ImportError, InputError, OSError, ValueError, LookupError) as exc:
        notes.append(f"value-chain stages unavailable ({getattr(exc, 'message', exc)})")
    for col in ("description", "sector", "stage"):
        if col not in info:
            info[col] = ""
        info[col] = info[col].fillna("").astype(str)
    return info[["k", "description", "sector", "stage"]]


def _input_hashes(trade: TradeData, scen: Scenario) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    src = Path(trade.source)
    out["trade_data"] = trade.sha256 or (_manifest.file_sha256(src) if src.is_file() else None)
    if scen.basket.file:
        out["basket_file"] = _manifest.file_sha256(scen.basket.file)
    return out


def prepare(scenario: Scenario | str | Path | None = None,
            data: TradeData | pd.DataFrame | str | Path | None = None) -> Prepared:
    """Read the data once and select the scenario's year and products.

    ``data`` overrides ``scenario.data.baci`` (None = that path, or the embedded
    synthetic sample when it is empty). The basket is concorded to the data's
    HS revision when it is known.
    """
    scen = _as_scenario(scenario)
    resolve_scenario_countries(scen, file=scen.name)  # unknown names fail before any reading
    hs_rev = _hs_revision(scen, data)
    basket = _basket(scen, hs_rev)
    wanted = _product_filter(scen, basket)
    trade = _read_data(scen, data, wanted)
    notes: list[str] = []
    years = trade.years
    if not years:
        rev = hs_rev or "HS22"
        asked = f" in {scen.data.year}" if scen.data.year else ""
        fix = "check basket.sectors / basket.file / basket.products against the data file"
        if scen.data.year:
            fix = f"check that data.year {scen.data.year} is in the file, and " + fix
        if rev != "HS22":
            origin = "data.hs_revision" if scen.data.hs_revision else "the file name"
            fix += (f"; the data were taken as {rev} (from {origin}) and the basket concorded HS22 -> {rev}: if the "
                    f"file holds codes of another revision, set it, e.g. --set data.hs_revision=HS22")
        origin_b = f", basket file {scen.basket.file}" if scen.basket.file else ""
        raise ScenarioError(f"none of the {f'{len(wanted)} ' if wanted else ''}selected products ({rev} codes{origin_b}) "
                            f"has flows in the data{asked}", file=trade.source,
                            field="data.year" if scen.data.year else "basket", fix=fix)
    year = scen.data.year or years[-1]
    if year not in years:
        raise ScenarioError(f"year {year} is not in the data (years: {years})", file=trade.source,
                            field="data.year", fix=f"use one of {years}")
    flows = trade.flows.loc[trade.flows["t"] == year]
    if scen.basket.products:  # a selection among the data's codes; sectors come from the whole basket
        from optimize.data.basket import select_codes

        try:
            chosen = set(select_codes(scen.basket.products, pd.unique(flows["k"]))) | set(scen.ban.products)
        except ScenarioError as exc:  # name the scenario key and the data it was matched against
            exc.field = "basket.products" if exc.field == "products" else exc.field
            exc.file = exc.file or f"{trade.source} ({year})"
            raise
        wanted = tuple(sorted(chosen))
        basket = load_basket_all(scen, trade.hs_revision or hs_rev)
    if wanted is not None:
        flows = flows.loc[flows["k"].isin(wanted)]
    flows = flows.reset_index(drop=True)
    products = tuple(sorted(pd.unique(flows["k"]).astype(str)))
    if not products:
        raise ScenarioError(f"none of the scenario's products has flows in {year}", file=trade.source,
                            field="basket", fix="check basket.sectors/basket.products against the data")
    if trade.country_table is not None:
        countries = trade.country_table
    else:
        from optimize.data.countries import country_table

        countries = country_table()
    info = _product_info(products, basket, trade, trade.hs_revision or hs_rev, notes)
    notes = list(trade.notes) + notes + [f"basket: {len(products)} products with flows in {year}"]
    if wanted is not None and len(products) < len(wanted):
        notes.append(f"{len(wanted) - len(products)} of {len(wanted)} selected products have no flows in {year}")
    return Prepared(scenario=scen, trade=trade, year=int(year), flows=flows, products=products,
                    product_info=info, countries=countries, input_sha256=_input_hashes(trade, scen), notes=notes)


# ------------------------------------------------------------------ solve


_CELL_KEYS = {
    "importer": "importer.countries", "cap_pp": "cap.pp", "cap_basis": "cap.basis", "risk": "risk.countries",
    "friends": "alternatives.friends", "share_limit": "cap.share_limit", "spread": "alternatives.spread",
    "split": "risk.split", "backend": "solver.backend", "algorithm": "solver.algorithm",
    "keep_going": "solver.keep_going", "exporter_total_pp": "cap.exporter_total_pp",
}


def cell_scenario(base: Scenario, **cell) -> Scenario:
    """``base`` with cell parameters (see ``solve_cell``) set and re-validated; None leaves a key as is."""
    raw = base.resolved()
    for name, value in cell.items():
        if value is None:
            continue
        if name not in _CELL_KEYS:
            raise TypeError(f"unknown cell parameter {name!r}; known: {', '.join(sorted(_CELL_KEYS))}")
        section, key = _CELL_KEYS[name].split(".")
        if isinstance(value, tuple):
            value = list(value)
        raw[section][key] = value
        if name == "importer":
            raw["importer"]["label"] = ""
    return validate_scenario(raw, file=f"{base.name} (cell)")


def _codes_by_key(tokens: dict[str, float]) -> dict[int, float]:
    """{"CHN": 2.0, "EU27": 1.0} -> {156: 2.0, <each EU code>: 1.0}; explicit codes win over groups."""
    from optimize.data.countries import resolve_countries

    out: dict[int, float] = {}
    for token in sorted(tokens, key=lambda t: (len(resolve_countries(t)), t), reverse=True):
        for code in resolve_countries(token):
            out[int(code)] = float(tokens[token])
    return out


def build_cell_instance(prepared: Prepared, scen: Scenario):
    """The Instance of one cell (``instance.build_instance`` with the scenario's resolved codes)."""
    from optimize.data.countries import resolve_countries
    from optimize.model.instance import CapRule, build_instance

    codes = resolve_scenario_countries(scen, file=scen.name)
    label = scen.importer.label or "+".join(scen.importer.countries)
    cap = CapRule(pp=float(scen.cap.pp), basis=scen.cap.basis, exporter_pp=_codes_by_key(scen.cap.exporter_pp),
                  product_pp={str(k): float(v) for k, v in scen.cap.product_pp.items()})
    ban = None
    if scen.ban.country:
        ban = {int(c): set(scen.ban.products) for c in resolve_countries(scen.ban.country)}
    return build_instance(
        prepared.flows, importer=label, importer_codes=codes["importer.countries"], year=prepared.year,
        products=list(prepared.products), risk_codes=codes["risk.countries"],
        risk_weights=_codes_by_key(scen.risk.weights) or None,
        friends=list(codes["alternatives.friends"]) or None, cap=cap,
        share_limit=scen.cap.share_limit or None, ban=ban,
    )


def engine_options(scen: Scenario, *, save_lp: str | Path | None = None):
    """EngineOptions from the scenario's [risk], [alternatives], [cap] and [solver] sections."""
    from optimize.data.countries import resolve_countries
    from optimize.model.engine import EngineOptions

    priority = tuple(int(c) for c in resolve_countries(scen.risk.priority)) if scen.risk.priority else ()
    return EngineOptions(
        backend=scen.solver.backend, algorithm=scen.solver.algorithm, risk_split=scen.risk.split,
        priority=priority, spread=scen.alternatives.spread,
        exporter_total_pp=scen.cap.exporter_total_pp or None, time_limit_s=scen.solver.time_limit_s or None,
        keep_going=scen.solver.keep_going, save_lp=None if save_lp is None else str(save_lp),
    )


def _meta(prepared: Prepared, scen: Scenario, instance, allocation) -> dict:
    from dataclasses import asdict

    from optimize.data.countries import to_iso3

    trade = prepared.trade
    codes = resolve_scenario_countries(scen, file=scen.name)
    return {
        "scenario": scen.name,
        "description": scen.description,
        "scenario_resolved": scen.resolved(),
        "scenario_toml": scen.to_toml(),
        "data_label": trade.label(),
        "data_source": trade.source,
        "synthetic": bool(trade.synthetic),
        "synthetic_label": SYNTHETIC_LABEL if trade.synthetic else "",
        "hs_revision": trade.hs_revision,
        "release": trade.release,
        "year": prepared.year,
        "importer": instance.importer,
        "importer_codes": [int(c) for c in instance.importer_codes],
        "importer_iso3": [str(s) for s in to_iso3(list(instance.importer_codes))],
        "risk_codes": [int(c) for c in codes["risk.countries"]],
        "risk_iso3": [str(s) for s in to_iso3(list(codes["risk.countries"]))],
        "friends_iso3": [str(s) for s in to_iso3(list(codes["alternatives.friends"]))],
        "cap_pp": scen.cap.pp,
        "cap_basis": scen.cap.basis,
        "share_limit": scen.cap.share_limit,
        "backend": scen.solver.backend,
        "solver": asdict(allocation.solver),
        "status": getattr(allocation.status, "value", str(allocation.status)),
        "infeasible_products": list(allocation.infeasible_products),
        "n_products": len(prepared.products),
        "versions": _manifest.versions(),
        "input_hashes": dict(prepared.input_sha256),
        "notes": list(prepared.notes) + list(allocation.notes),
    }


def solve_cell(prepared: Prepared, *, save_lp: str | Path | None = None, **cell) -> RunResult:
    """Solve one cell of a prepared scenario.

    Cell parameters (None = the scenario's value): ``importer`` (tokens),
    ``cap_pp``, ``cap_basis``, ``risk`` (tokens), ``friends``, ``share_limit``,
    ``spread``, ``split``, ``backend``, ``algorithm``, ``keep_going``,
    ``exporter_total_pp``. ``save_lp`` writes the LP without changing the result.
    Raises ``InfeasibleError`` (unless keep_going) or ``SolverError``.
    """
    from optimize.model.engine import reallocate
    from optimize.analysis.metrics import compute_tables

    scen = cell_scenario(prepared.scenario, **cell) if any(v is not None for v in cell.values()) else prepared.scenario
    instance = build_cell_instance(prepared, scen)
    (allocation,) = reallocate([instance], engine_options(scen, save_lp=save_lp))
    from optimize.data.countries import EU27

    tables = compute_tables(instance, allocation, prepared.product_info, prepared.countries,
                            exclude_members=scen.report.exclude_bloc_members, top_n=scen.report.top_n,
                            bloc_codes=EU27)
    return RunResult(scenario=scen, instance=instance, allocation=allocation, tables=tables,
                     meta=_meta(prepared, scen, instance, allocation))


def run(scenario: Scenario | str | Path | None = None,
        data: TradeData | pd.DataFrame | str | Path | None = None, **cell) -> RunResult:
    """prepare + solve_cell: the whole analysis of one scenario (None = the default scenario)."""
    return solve_cell(prepare(scenario, data), **cell)
