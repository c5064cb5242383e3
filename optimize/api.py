"""The public Python API of tradeopt: thin, documented entry points over the modules.

    import optimize as to
    result = to.run(importer="NLD", cap_pp=3)          # embedded SYNTHETIC sample
    result.tables.exposure                              # DataFrame, USD and shares 0..1
    result.write("out/")                                # every output file

Values: BACI ``v`` is thousands of USD (kUSD); result tables are in USD; shares
are 0..1; caps are percentage points (0..100). Countries: ISO3 (``"CHN"``), BACI
codes (``156``) or groups (``"EU27"``, ``"G7+allies"``).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimize.tokens import split_tokens as _tokens

if TYPE_CHECKING:  # imported lazily at call time to keep ``import optimize`` fast
    import pandas as pd

    from optimize.runs.batch import BatchResult
    from optimize.runs.pipeline import RunResult
    from optimize.config.scenario import Scenario
    from optimize.runs.sweep import SweepResult
    from optimize.data.trade import TradeData

#: Keyword -> dotted scenario key, for ``load_scenario``/``run``/``batch_run`` keywords.
SCENARIO_KEYWORDS: dict[str, str] = {
    "baci": "data.baci",
    "year": "data.year",
    "hs_revision": "data.hs_revision",
    "importer": "importer.countries",
    "label": "importer.label",
    "sectors": "basket.sectors",
    "basket_file": "basket.file",
    "products": "basket.products",
    "risk": "risk.countries",
    "risk_weights": "risk.weights",
    "split": "risk.split",
    "priority": "risk.priority",
    "friends": "alternatives.friends",
    "spread": "alternatives.spread",
    "cap_pp": "cap.pp",
    "cap_basis": "cap.basis",
    "exporter_pp": "cap.exporter_pp",
    "product_pp": "cap.product_pp",
    "share_limit": "cap.share_limit",
    "exporter_total_pp": "cap.exporter_total_pp",
    "ban_country": "ban.country",
    "ban_products": "ban.products",
    "backend": "solver.backend",
    "algorithm": "solver.algorithm",
    "time_limit_s": "solver.time_limit_s",
    "keep_going": "solver.keep_going",
    "eur_per_usd": "report.eur_per_usd",
    "top_n": "report.top_n",
    "exclude_bloc_members": "report.exclude_bloc_members",
    "figures": "report.figures",
    "xlsx": "report.xlsx",
}
_LIST_KEYS = {"importer.countries", "basket.sectors", "risk.countries", "risk.priority", "alternatives.friends",
              "ban.products"}
_FLOAT_KEYS = {"cap.pp", "cap.share_limit", "cap.exporter_total_pp", "solver.time_limit_s", "report.eur_per_usd"}


def keyword_overrides(keywords: dict[str, Any]) -> list[str]:
    """Keywords (``importer="NLD", cap_pp=3``) -> ``--set`` override strings (``cap.pp=3.0``).

    Unknown keywords raise ``TypeError`` listing the known ones (``SCENARIO_KEYWORDS``).
    Setting ``importer`` without ``label`` clears the label (the report then names the tokens).
    """
    from optimize.config.scenario import toml_value

    unknown = sorted(set(keywords) - set(SCENARIO_KEYWORDS))
    if unknown:
        raise TypeError(f"unknown scenario keyword(s) {unknown}; known: {', '.join(sorted(SCENARIO_KEYWORDS))}")
    out: list[str] = []
    for name in sorted(keywords):  # sorted: the result never depends on argument order
        value = keywords[name]
        if value is None:
            continue
        key = SCENARIO_KEYWORDS[name]
        if key in _LIST_KEYS:
            value = _tokens(value)
        elif key in _FLOAT_KEYS:
            value = float(value)
        elif key == "basket.products" and not isinstance(value, str):
            value = _tokens(value)
        elif key in ("data.baci", "basket.file"):
            value = str(value)
        elif isinstance(value, dict):
            value = {str(k): float(v) for k, v in value.items()}
        out.append(f"{key}={toml_value(value)}")
    if "importer" in keywords and keywords["importer"] is not None and keywords.get("label") is None:
        out.append('importer.label=""')
    return out


def load_scenario(name_or_path: str | Path | Scenario | None = None, *, overrides: Iterable[str] = (),
                  **keywords: Any) -> Scenario:
    """A validated ``Scenario``: a shipped name (``"kr-3050"``), a TOML path, or an existing Scenario.

    ``name_or_path``: None = ``"default"`` (EU27, CHN/USA/RUS, 5 pp of world exports,
    embedded sample). ``keywords`` map onto scenario keys (see ``SCENARIO_KEYWORDS``),
    e.g. ``importer="NLD"``, ``cap_pp=3`` (percentage points), ``risk=["CHN"]``,
    ``year=2023``, ``baci="BACI_HS22_V202501.zip"``, ``share_limit=0.5`` (0..1).
    ``overrides``: ``--set`` strings (``"cap.basis=importer-market"``) applied after
    the keywords. Raises ``ScenarioError`` naming the key on bad values.
    """
    from optimize.config import scenario as sc

    sets = keyword_overrides(keywords) + list(overrides)
    if isinstance(name_or_path, sc.Scenario):
        if not sets:
            return name_or_path
        raw = sc.apply_overrides(name_or_path.resolved(), sets)
        return sc.validate_scenario(raw, file=f"{name_or_path.name} (overridden)")
    return sc.load_scenario("default" if name_or_path is None else name_or_path, sets)


def list_scenarios() -> list[tuple[str, str]]:
    """(name, one-line description) of every shipped scenario."""
    from optimize.config.scenario import list_scenarios as _list

    return _list()


def load_trade(source: str | Path | pd.DataFrame | TradeData | None = None, *,
               years: int | Iterable[int] | None = None, products: str | Iterable[str] | None = None,
               importers: Any = None, exporters: Any = None, cache: bool = True) -> TradeData:
    """Validated BACI flows as ``TradeData`` (``.flows``: t, i, j, k, v kUSD, q tonnes).

    ``source``: None = the embedded SYNTHETIC sample; a BACI release zip, CSV,
    CSV.gz, parquet or folder (``baci.read_baci``: filters applied while scanning,
    parquet cache); or a pandas DataFrame in BACI layout (same validation, a bad row
    raises ``DataError`` naming it). Filters: ``years``, ``products`` (HS6 codes),
    ``importers``/``exporters`` (ISO3, BACI codes or groups).
    """
    import pandas as pd

    from optimize.data import baci
    from optimize.data.trade import TradeData

    if isinstance(source, TradeData):
        data = source
    elif isinstance(source, pd.DataFrame):
        data = baci.from_dataframe(source, source="DataFrame")
    else:
        return baci.read_baci(source, years=years, products=products, importers=importers, exporters=exporters,
                              cache=cache)
    if all(f is None for f in (years, products, importers, exporters)):
        return data
    from optimize.data.countries import resolve_countries

    f = data.flows
    mask = pd.Series(True, index=f.index)
    if years is not None:
        mask &= f["t"].isin([int(y) for y in ([years] if isinstance(years, int) else years)])
    if products is not None:
        mask &= f["k"].isin(_tokens(products))
    if importers is not None:
        mask &= f["j"].isin(resolve_countries(importers))
    if exporters is not None:
        mask &= f["i"].isin(resolve_countries(exporters))
    from dataclasses import replace

    return replace(data, flows=f.loc[mask].reset_index(drop=True))


def _data_arg(data):
    """Pass paths/TradeData/None through (the pipeline filters while reading); validate DataFrames once."""
    import pandas as pd

    return load_trade(data) if isinstance(data, pd.DataFrame) else data


def run(scenario: str | Path | Scenario | None = None, data: str | Path | pd.DataFrame | TradeData | None = None,
        *, out_dir: str | Path | None = None, save_lp: str | Path | None = None, **keywords: Any) -> RunResult:
    """Run one re-allocation and return its ``RunResult``.

    ``scenario``: shipped name, TOML path or ``Scenario`` (None = ``"default"``).
    ``data``: None = the scenario's ``data.baci`` (empty = embedded SYNTHETIC sample),
    a BACI file path, a BACI-layout DataFrame or ``TradeData``. ``keywords``: scenario
    keys as in ``load_scenario`` (``importer="NLD"``, ``cap_pp=3``, ``risk="CHN"``,
    ``spread="min-hhi"``, ...). ``out_dir``: also write every output there.
    ``save_lp``: also write the LP file.

    The result has ``tables`` (``exposure``, ``products``, ``flows``,
    ``beneficiaries``, ``by_sector``, ``by_stage``, ``concentration``,
    ``single_country``: DataFrames in USD, shares 0..1; ``summary``: dict),
    ``allocation.status`` (``Status``), ``scenario`` (resolved), ``meta``,
    ``write(out_dir)`` and ``summary_md()``. Raises ``InputError`` subclasses on bad
    input, ``InfeasibleError`` (exit 3) or ``SolverError`` (exit 4).
    """
    from optimize.runs import pipeline

    scen = load_scenario(scenario, **keywords)
    if out_dir is not None:
        from optimize.atomic import check_writable

        check_writable(Path(out_dir))  # before any reading or solving
    result = pipeline.run(scen, _data_arg(data), save_lp=save_lp)
    if out_dir is not None:
        result.write(out_dir)
    return result


def figures(result: RunResult, out_dir: str | Path) -> list[Path]:
    """Write the run's figures (exposure, beneficiaries, HHI; PNG + SVG) into ``out_dir``; return the paths."""
    from optimize.output.plots import plot_all

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return plot_all(result.tables, out, synthetic=result.synthetic)


def screen(kind: str, data: str | Path | pd.DataFrame | TradeData | None = None, *,
           importer: str | int | Sequence[str | int] = "EU27", year: int | None = None,
           years: Iterable[int] | None = None, supplier: str | int | None = None, **options: Any) -> pd.DataFrame:
    """A dependency screen as a DataFrame (values kUSD, shares 0..1), one row per product (and year).

    ``kind``: ``"ec"`` (European Commission 2021: extra-bloc HHI > 0.4, extra share
    > 0.5, imports > exports), ``"geodep"`` (CEPII GeoDep, persistence over 3 years)
    or ``"single"`` (one supplier above 50% / 70%, Korea's screen; ``supplier`` tests
    one country, e.g. ``"CHN"``). ``options`` go to ``screens.ec_screen``,
    ``geodep_screen`` or ``single_country_screen`` (e.g. ``thresholds=(0.5, 0.7)``,
    ``stage="intermediate"``, ``min_value_kusd=1000``). ``screens.count_flags(df)``
    counts the flagged rows.
    """
    from optimize.analysis import screens
    from optimize.data.countries import resolve_countries
    from optimize.errors import InputError

    yrs = None if years is None else sorted(int(y) for y in years)
    flows = load_trade(data, years=yrs if yrs else ([year] if year is not None else None)).flows
    codes = resolve_countries(importer)
    if kind == "ec":
        return screens.ec_screen(flows, codes, year=year, **options)
    if kind == "geodep":
        return screens.geodep_screen(flows, codes, years=yrs or ([year] if year is not None else None), **options)
    if kind == "single":
        sup = None if supplier is None else resolve_countries(supplier)[0]
        return screens.single_country_screen(flows, codes, supplier=sup, year=year, **options)
    raise InputError(f"unknown screen kind {kind!r}", field="kind", fix="use 'ec', 'geodep' or 'single'")


def batch_run(scenario: str | Path | Scenario | None = None, *, out_dir: str | Path,
          importers: str | Sequence[str] | None = None, years: Iterable[int] | None = None,
          caps_pp: Iterable[float] | None = None, cap_bases: Iterable[str] = ("world-exports",),
          risk_sets: Iterable[Iterable[str]] | None = None,
          data: str | Path | pd.DataFrame | TradeData | None = None, workers: int = 2,
          dask_address: Any = None, quiet: bool = True, **keywords: Any) -> BatchResult:
    """Run a grid importer x year x cap x cap basis x risk set (``batch.run_batch``), resumable.

    Defaults come from the scenario: its importer, year (0 = latest), ``cap.pp`` and
    risk countries. ``importers``: tokens or ``"EU27,DEU"`` / ``"all-eu"``. Finished
    cells in ``out_dir`` are reused. Returns ``BatchResult`` whose ``table`` has one
    row per cell and risk country plus ``ALL`` (shares 0..1, values USD); it is also
    written to ``out_dir/batch.csv`` and ``batch.parquet``.
    """
    from optimize.runs import batch as b

    scen = load_scenario(scenario, **keywords)
    data = _data_arg(data)
    # default: the scenario's importer as one cell (several tokens = one bloc, as in ``run``)
    imps = b.parse_importers(importers) if importers is not None else (",".join(scen.importer.countries),)
    caps = tuple(float(c) for c in caps_pp) if caps_pp is not None else (float(scen.cap.pp),)
    risk = (tuple(tuple(sorted({t.upper() for t in _tokens(rs)})) for rs in risk_sets) if risk_sets is not None
            else (tuple(sorted({t.upper() for t in scen.risk.countries})),))
    grid = b.Grid(importers=tuple(imps), years=b.resolve_years(scen, list(years) if years else None, data),
                  caps_pp=caps, cap_bases=tuple(cap_bases), risk_sets=risk)
    return b.run_batch(scen, grid, out_dir, data=data, workers=workers, dask_address=dask_address, quiet=quiet)


def sweep_caps(scenario: str | Path | Scenario | None = None, *, caps_pp: Iterable[float],
               out_dir: str | Path | None = None, data: str | Path | pd.DataFrame | TradeData | None = None,
               plot: bool = True, warm: bool = True, **keywords: Any) -> SweepResult:
    """Exposure after re-allocation at each cap (pp) of one scenario (``sweep.sweep``, warm-started HiGHS).

    Returns ``SweepResult``: ``table`` has one row per cap and risk country plus
    ``ALL`` (``share_before``/``share_after`` 0..1, ``after_usd``, ``shifted_usd``,
    ``hhi_after``, ``reduction_pp_per_pp`` = exposure cut in pp of basket imports per
    extra pp of cap). With ``out_dir``: writes ``sweep.csv`` and, with ``plot``,
    ``sweep.png``/``sweep.svg``. ``keywords`` as in ``load_scenario``.
    """
    from optimize.runs.sweep import sweep

    scen = load_scenario(scenario, **keywords)
    return sweep(scen, caps_pp, data=_data_arg(data), out_dir=out_dir, plot=plot, warm=warm)


__all__ = ["SCENARIO_KEYWORDS", "batch_run", "figures", "keyword_overrides", "list_scenarios", "load_scenario",
           "load_trade", "run", "screen", "sweep_caps"]
