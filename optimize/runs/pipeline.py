"""The public end-to-end API: scenario + data -> re-allocation -> result tables -> files.

``prepare`` reads and selects the data once (year, products, product info,
countries); ``solve_cell`` builds one Instance, solves it and computes the
tables, and may be called many times on one ``Prepared`` (batch runs);
``run`` = prepare + solve_cell. All values inside are kUSD; tables are USD.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from optimize.config.aliases import updates_from_keywords
from optimize.config.resolve import resolve
from optimize.config.scenario import Scenario, load_scenario
from optimize.data.trade import TradeData
from optimize.errors import InputError, ScenarioError
from optimize.output import manifest as _manifest
from optimize.runs.codes import (
    Conversion,
    Revision,
    convert_basket,
    convert_scenario,
    known_revision,
    log,
    revision_mismatch,
    shipped_basket_note,
)
from optimize.runs.facts import run_facts
from optimize.runs.result import RunResult
from optimize.tokens import split_tokens
from optimize.vocab import plural


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
    hs_revision: Revision = field(default_factory=lambda: Revision(None))  # the data's, and where it came from
    conversions: list[Conversion] = field(default_factory=list)  # user codes converted to the data's revision

    @cached_property
    def arrays(self):
        """``flows`` as ``yeararrays.YearArrays`` with tonnes (the year's HS6 index), built once per ``Prepared``."""
        from optimize.model.yeararrays import year_arrays

        return year_arrays(self.flows, tonnes=True)


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


def data_years(scen: Scenario, data=None) -> list[int]:
    """The years ``data`` (None: the scenario's ``data.baci``) hold, every year read."""
    return _read_data(for_year(scen, 0), data, None).years


def for_year(scen: Scenario, year: int) -> Scenario:
    """``scen`` with ``data.year`` set through the validated ``Scenario.update`` (0 = the data's latest)."""
    if int(scen.data.year) == int(year):
        return scen
    return scen.update({"data.year": int(year)}, source=f"{scen.name} (year {year})")


def prepare_year(scen: Scenario, year: int, data=None) -> Prepared:
    """``prepare`` of ``scen`` in ``year`` (0: the data's latest): the one way every planner prepares a year."""
    return prepare(for_year(scen, year), data)


def _basket(scen: Scenario, revision: str) -> tuple[pd.DataFrame, Conversion | None]:
    """The basket rows [k, sector, ...] in the data's HS revision: the shipped one concorded
    (``basket.load_basket``), or the user's file with codes of another revision converted."""
    from optimize.data.basket import load_basket

    if scen.basket.file:
        return convert_basket(load_basket(scen.basket.file), revision)
    return load_basket(None, sectors=scen.basket.sectors, hs_revision=revision), None


def _in_revision(scen: Scenario, rev: Revision, convs: list[Conversion]) -> tuple[Scenario, pd.DataFrame]:
    """The scenario's user codes and basket in the data's revision; conversions appended to ``convs``."""
    scen, more = convert_scenario(scen, rev.code or "HS22")
    basket, conv = _basket(scen, rev.code or "HS22")
    convs += more + ([conv] if conv else [])
    return scen, basket


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
    blank = info.loc[info["description"] == "", "k"].tolist()
    if blank and desc is not None:
        notes.append(f"{len(blank)} of {len(info)} product names not in the {hs_revision or 'project'} product "
                     f"table: {', '.join(blank[:10])}{' ...' if len(blank) > 10 else ''}")
    return info[["k", "description", "sector", "stage"]]


def _input_hashes(trade: TradeData, scen: Scenario) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    src = Path(trade.source)
    out["trade_data"] = trade.sha256 or (_manifest.file_sha256(src) if src.is_file() else None)
    if scen.basket.file:
        out["basket_file"] = _manifest.file_sha256(scen.basket.file)
    return out


def _no_flows_error(scen: Scenario, revision: Revision | None, wanted, trade: TradeData) -> ScenarioError:
    """The error when none of the selected products has flows: names the key, the revision and a fix."""
    rev = (revision.code if revision else None) or "HS22"
    asked = f" in {scen.data.year}" if scen.data.year else ""
    fix = "check basket.sectors / basket.file / basket.products against the data file"
    if scen.data.year:
        fix = f"check that data.year {scen.data.year} is in the file, and " + fix
    if rev != "HS22":
        origin = revision.source if revision else "the file name"
        fix += (f"; the data were taken as {rev} ({origin}) and the basket concorded HS22 -> {rev}: if the "
                f"file holds codes of another revision, set it, e.g. --set data.hs_revision=HS22")
    origin_b = f", basket file {scen.basket.file}" if scen.basket.file else ""
    count = f"{len(wanted)} " if wanted else ""
    return ScenarioError(f"none of the {count}selected products ({rev} codes{origin_b}) has flows in the data{asked}",
                         file=trade.source, field="data.year" if scen.data.year else "basket", fix=fix)


def _select_products(scen: Scenario, codes: set[str], trade: TradeData, year: int, revision: str,
                     basket: pd.DataFrame):
    """``basket.products`` matched against the year's ``codes`` (plus banned codes); the whole basket for
    sectors (the user's file, or every sector of the shipped one)."""
    from optimize.data.basket import load_basket, select_codes

    try:
        chosen = set(select_codes(scen.basket.products, sorted(codes))) | set(scen.ban.products)
    except ScenarioError as exc:  # name the scenario key and the data it was matched against
        exc.field = "basket.products" if exc.field == "products" else exc.field
        exc.file = exc.file or f"{trade.source} ({year})"
        raise
    return tuple(sorted(chosen)), basket if scen.basket.file else load_basket(None, hs_revision=revision)


def _year_flows(scen: Scenario, trade: TradeData) -> tuple[int, pd.DataFrame]:
    """The scenario's year (latest when 0) and its flows (no copy when the data hold one year)."""
    years = trade.years
    year = scen.data.year or years[-1]
    if year not in years:
        raise ScenarioError(f"year {year} is not in the data (years: {years})", file=trade.source,
                            field="data.year", fix=f"use one of {years}")
    in_year = trade.flows["t"].to_numpy() == year
    return year, trade.flows if in_year.all() else trade.flows.loc[in_year].reset_index(drop=True)


def _countries(trade: TradeData) -> pd.DataFrame:
    if trade.country_table is not None:
        return trade.country_table
    from optimize.data.countries import country_table

    return country_table()


def _kept(flows: pd.DataFrame, codes: set[str], wanted, year: int, source) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The year's ``flows`` of the ``wanted`` HS6 codes (None: all) and the codes they hold, sorted; a
    ``ScenarioError`` when none is left."""
    if wanted is not None and not codes <= set(wanted):
        codes = codes & set(wanted)
        flows = flows.loc[flows["k"].isin(wanted)].reset_index(drop=True)
    if not codes:
        raise ScenarioError(f"none of the scenario's products has flows in {year}", file=source,
                            field="basket", fix="check basket.sectors/basket.products against the data")
    return flows, tuple(sorted(codes))


def _selection_notes(products: tuple[str, ...], wanted, year: int) -> list[str]:
    """What the selection kept: the products with flows in ``year``, and how many selected ones have none."""
    notes = [f"basket: {plural(len(products), 'product')} with flows in {year}"]
    if wanted is not None and len(products) < len(wanted):
        notes.append(f"{len(wanted) - len(products)} of {plural(len(wanted), 'selected product')} have no flows in "
                     f"{year}")
    return notes


def prepare(scenario: Scenario | str | Path | None = None,
            data: TradeData | pd.DataFrame | str | Path | None = None) -> Prepared:
    """Read the data once and select the scenario's year and products.

    ``data`` overrides ``scenario.data.baci`` (None = that path, or the embedded
    synthetic sample when it is empty). The data's HS revision comes from ``data.hs_revision``, the
    file name or, failing both, the codes (``revision.detect_revision``); the basket and the user's
    codes are expressed in it (``runs.codes``).
    """
    from optimize.data.revision import detect_revision

    scen = _as_scenario(scenario)
    resolve(scen)  # unknown names fail before any reading (and the spec is cached for the run)
    rev = known_revision(scen, data)
    convs: list[Conversion] = []
    basket, wanted = None, None  # unknown revision: read every product, detect it from the codes
    if rev is not None:
        scen, basket = _in_revision(scen, rev, convs)
        wanted = _product_filter(scen, basket)
    trade = _read_data(scen, data, wanted)
    notes: list[str] = []
    years = trade.years
    if not years:
        raise _no_flows_error(scen, rev, wanted, trade)
    year, flows = _year_flows(scen, trade)
    codes = set(pd.unique(flows["k"]).astype(str))
    if rev is None or basket is None:
        rev = detect_revision(codes, int(year))
        notes.append(f"HS revision {rev.label}: {rev.detail}")
        scen, basket = _in_revision(scen, rev, convs)
        wanted = _product_filter(scen, basket)
    said = [c.line for c in convs] + [m for m in [revision_mismatch(rev, codes, int(year))] if m]
    for line in said:
        log.warning("%s", line)
    if scen.basket.products:  # a selection among the data's codes; sectors come from the whole basket
        wanted, basket = _select_products(scen, codes, trade, year, rev.code or "HS22", basket)
    flows, products = _kept(flows, codes, wanted, year, trade.source)
    countries = _countries(trade)
    info = _product_info(products, basket, trade, rev.code, notes)
    notes = list(trade.notes) + notes + said + [n for n in [shipped_basket_note(scen, rev.code)] if n]
    notes += _selection_notes(products, wanted, year)
    return Prepared(scenario=scen, trade=trade, year=int(year), flows=flows, products=products,
                    product_info=info, countries=countries, input_sha256=_input_hashes(trade, scen), notes=notes,
                    hs_revision=rev, conversions=convs)


# ------------------------------------------------------------------ solve


def cell_scenario(base: Scenario, known: Mapping[str, tuple[int, ...]] | None = None, **cell) -> Scenario:
    """``base`` with cell keywords (``optimize.config.aliases.ALIASES``: ``cap_pp``, ``importer``, ...) set;
    None leaves a key as is. Unknown keywords raise ``TypeError``. ``known``: BACI codes of country keys
    resolved already (``resolve.resolve``'s ``known``: a batch cell's), not resolved again."""
    updates = updates_from_keywords(cell)
    return base.update(updates, source=f"{base.name} (cell)", known=known) if updates else base


def year_rows(prepared: Prepared):
    """The year's rows of ``prepared`` as a ``kernel.Problem`` takes them (``kernel.YearRows``: the arrays built
    once per ``Prepared``, the products analysed, the year)."""
    from optimize.model.kernel import YearRows

    return YearRows(arrays=prepared.arrays, products=tuple(prepared.products), year=int(prepared.year))


def cell_tables(prepared: Prepared, scen: Scenario, instance, allocation):
    """The result tables of one solved cell: the one tables path of run and batch (a sweep reads exposure only)."""
    from optimize.analysis import armington
    from optimize.analysis.metrics import bloc_members, compute_tables
    from optimize.analysis.sigma import run_sigmas

    tables = compute_tables(instance, allocation, prepared.product_info, prepared.countries,
                            exclude_members=scen.report.exclude_bloc_members, top_n=scen.report.top_n,
                            bloc_codes=tuple(sorted(bloc_members(instance))) or None)  # a bloc: extra-bloc share
    sigmas = run_sigmas(instance.products, prepared.hs_revision.code, scen.cost.elasticities)
    unit_value = None
    if scen.cost.method == "unit-value":
        from optimize.analysis.cost import unit_value_columns

        unit_value = unit_value_columns(instance, allocation)
    armington.attach(tables, armington.PairArrays.of(instance, allocation.x_after_kusd), sigmas,
                     scen.cost.prior_lambda, scen.cost.method, unit_value)
    return tables


def solve_allocation(prepared: Prepared, *, save_lp: str | Path | None = None,
                     known: Mapping[str, tuple[int, ...]] | None = None, **cell):
    """(scenario, instance, allocation) of one cell, no tables: one ``kernel.LP.solve``, ``solve_cell``'s solve."""
    from optimize.model.kernel import LP, Problem

    scen = cell_scenario(prepared.scenario, known, **cell)
    spec = resolve(scen)
    problem = Problem((spec,), (spec.cap_pp,), year_rows(prepared), save_lp=None if save_lp is None else str(save_lp),
                      totals=False)
    ((instance, allocation),) = next(iter(LP.solve(problem))).solved
    return scen, instance, allocation


def solve_cell(prepared: Prepared, *, save_lp: str | Path | None = None,
               known: Mapping[str, tuple[int, ...]] | None = None, **cell) -> RunResult:
    """Solve one cell of a prepared scenario (``solve_allocation``), then its tables and run facts.

    Cell parameters (None = the scenario's value): ``importer`` (tokens), ``cap_pp``, ``cap_basis``, ``risk``
    (tokens), ``friends``, ``share_limit``, ``spread``, ``split``, ``backend``, ``algorithm``, ``keep_going``,
    ``exporter_total_pp``. ``save_lp`` writes the LP without changing the result. ``known``: codes resolved
    already (``cell_scenario``). Raises ``InfeasibleError`` (unless keep_going) or ``SolverError``.
    """
    scen, instance, allocation = solve_allocation(prepared, save_lp=save_lp, known=known, **cell)
    return RunResult(scenario=scen, instance=instance, allocation=allocation,
                     tables=cell_tables(prepared, scen, instance, allocation),
                     meta=run_facts(prepared, scen, instance, allocation))
