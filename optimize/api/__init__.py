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

import numbers
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimize.api.analyses import binding, cost, frontier, frontier_figure, screen  # noqa: F401
from optimize.api.checks import api_checked
from optimize.api.data import convert_data, data_info, fetch, load_trade, releases, validate_data  # noqa: F401
from optimize.api.trend import backtest, trend  # noqa: F401
from optimize.config.aliases import ALIASES
from optimize.tokens import split_tokens as _tokens

if TYPE_CHECKING:  # imported lazily at call time to keep ``import optimize`` fast
    import pandas as pd

    from optimize.config.scenario import Scenario
    from optimize.data.trade import TradeData
    from optimize.runs.batch import BatchResult
    from optimize.runs.result import RunResult
    from optimize.runs.sweep import SweepResult

#: Keyword -> dotted scenario key, for ``load_scenario``/``run``/``batch_run`` keywords (one table for
#: the API, the CLI and batch/sweep axes).
SCENARIO_KEYWORDS = ALIASES


@api_checked
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
    from optimize.config.aliases import updates_from_keywords
    from optimize.config.overrides import parse_sets

    updates = updates_from_keywords(keywords)
    updates.update(parse_sets(overrides, sc.Scenario))  # --set strings are applied after the keywords
    if isinstance(name_or_path, sc.Scenario):
        return name_or_path.update(updates, source=f"{name_or_path.name} (overridden)")
    return sc.load_scenario("default" if name_or_path is None else name_or_path, updates)


@api_checked
def scenario_schema() -> str:
    """The JSON Schema of scenario files (text), for editors and validators."""
    from optimize.config.schema import scenario_json_schema

    return scenario_json_schema()


@api_checked
def list_scenarios() -> list[tuple[str, str]]:
    """(name, one-line description) of every shipped scenario."""
    from optimize.config.scenario import list_scenarios as _list

    return _list()


def _data_arg(data):
    """Pass paths/TradeData/None through (the pipeline filters while reading); validate DataFrames once."""
    import pandas as pd

    return load_trade(data) if isinstance(data, pd.DataFrame) else data


@api_checked
def run(scenario: str | Path | Scenario | None = None, data: str | Path | pd.DataFrame | TradeData | None = None,
        *, out_dir: str | Path | None = None, save_lp: str | Path | None = None, overwrite: bool = False,
        **keywords: Any) -> RunResult:
    """Run one re-allocation and return its ``RunResult``.

    ``scenario``: shipped name, TOML path or ``Scenario`` (None = ``"default"``).
    ``data``: None = the scenario's ``data.baci`` (empty = embedded SYNTHETIC sample),
    a BACI file path, a BACI-layout DataFrame or ``TradeData``. ``keywords``: scenario
    keys as in ``load_scenario`` (``importer="NLD"``, ``cap_pp=3``, ``risk="CHN"``,
    ``spread="min-hhi"``, ...). ``out_dir``: also write every output there.
    ``save_lp``: also write the LP file (.lp or .mps). An existing ``out_dir`` holding
    files tradeopt did not write, or an existing ``save_lp`` file, is refused
    (``OutputError``) unless ``overwrite``; files tradeopt did not write are never changed.

    The result has ``tables`` (``exposure``, ``products``, ``flows``,
    ``beneficiaries``, ``by_sector``, ``by_stage``, ``concentration``,
    ``single_country``: DataFrames in USD, shares 0..1; ``summary``: dict),
    ``allocation.status`` (``Status``), ``scenario`` (resolved), ``meta``,
    ``write(out_dir)`` and ``summary_md()``. Raises ``InputError`` subclasses on bad
    input, ``InfeasibleError`` (exit 3) or ``SolverError`` (exit 4).
    """
    from optimize.runs import single

    scen = load_scenario(scenario, **keywords)
    from optimize.atomic import check_out_dir
    from optimize.model.lp import check_lp_path

    if out_dir is not None:  # before any reading or solving
        from optimize.output.manifest import results_key

        check_out_dir(out_dir, overwrite=overwrite, run_key=results_key(scen))
    if save_lp is not None:
        check_lp_path(save_lp, overwrite=overwrite)
    result = single.run(scen, _data_arg(data), save_lp=save_lp)
    if out_dir is not None:
        result.write(out_dir, overwrite=overwrite)
    return result


@api_checked
def figures(result: RunResult, out_dir: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Write the run's figures (exposure, beneficiaries, HHI; PNG + SVG) into ``out_dir``; return the paths.

    ``out_dir`` follows ``run``'s rule (``overwrite``; foreign files never changed)."""
    from optimize.atomic import atomic_dir
    from optimize.output.plots import plot_all

    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        paths = plot_all(result.tables, tmp, synthetic=result.synthetic)
    return [Path(out_dir) / p.relative_to(tmp) for p in paths]


@api_checked
def batch_run(scenario: str | Path | Scenario | None = None, *, out_dir: str | Path,
              importers: str | Sequence[str] | None = None, years: str | Iterable[int] | None = None,
              caps_pp: str | Iterable[float] | None = None, cap_bases: str | Iterable[str] | None = None,
              risk_sets: str | Iterable[Iterable[str]] | None = None,
              data: str | Path | pd.DataFrame | TradeData | None = None, workers: int = 2,
              dask_address: Any = None, joint: bool = False, full_outputs: bool = False, figures: bool = False,
              quiet: bool = True, overwrite: bool = False, dask_timeout: float | None = None,
              per_cell: bool = False, **keywords: Any) -> BatchResult:
    """Run a grid importer x year x cap x cap basis x risk set (``batch.run_batch``), resumable.

    Defaults come from the scenario: its importer, year (0 = latest), ``cap.pp``,
    ``cap.basis`` and risk countries. Axes accept lists or the CLI's text forms:
    ``importers="EU27,DEU"`` / ``"all-eu"`` / ``"@file"``; ``years="2021-2023"``;
    ``caps_pp="0-10:0.5"`` (pp); ``cap_bases="world-exports,rest-of-world"``;
    ``risk_sets="CHN;CHN,RUS"``. Finished cells in ``out_dir`` are reused. Returns
    ``BatchResult`` whose ``table`` has one row per cell and risk country plus ``ALL``
    (shares 0..1, values USD); it is also written to ``out_dir/batch.csv`` and
    ``batch.parquet``, and as the hive-partitioned Parquet dataset ``out_dir/dataset``.

    ``importers="all"``: every importer of the data. ``dask_address``: ``"local"`` /
    ``"local:N"`` (a LocalCluster of N worker processes), a scheduler address or a
    ``distributed.Client``; an unreachable scheduler is an ``InputError`` within
    ``dask_timeout`` seconds (default 10), before any data are read. ``per_cell``:
    solve every cell through the full pipeline (no batched closed form).
    """
    from optimize.runs import batch as b

    scen = load_scenario(scenario, **keywords)
    data = _data_arg(data)
    grid = _batch_grid(scen, importers, years, caps_pp, cap_bases, risk_sets, data)
    # the folder check and the Dask connection: once, in ``run_batch``, before any data are read
    how = b.BatchOptions(workers=workers, dask_address=dask_address, joint=joint, figures=figures, quiet=quiet,
                         outputs="full" if full_outputs else "tables", overwrite=overwrite, fast=not per_cell,
                         dask_timeout_s=dask_timeout)
    return b.run_batch(scen, grid, out_dir, how, data=data)


def _batch_grid(scen, importers, years, caps_pp, cap_bases, risk_sets, data):
    """The ``batch.Grid`` of ``batch_run``'s axes (lists or the CLI's text forms; None = the scenario's)."""
    from optimize.runs import batch as b

    # default: the scenario's importer as one cell (several tokens = one bloc, as in ``run``); each country token
    # is resolved once, by the axis parsers or else by the Grid, and the cells carry its codes
    codes: dict = {}
    if importers is not None:
        imps, codes = b.importer_axis(importers)
    else:
        imps = (",".join(scen.importer.countries),)
    if isinstance(years, (str, numbers.Integral)):  # a text form or one year
        years = b.parse_years(years)
    caps = b.parse_caps(caps_pp, field="caps_pp") if caps_pp is not None else (float(scen.cap.pp),)
    if cap_bases is None:
        bases = (scen.cap.basis,)
    else:
        bases = b.parse_cap_bases(cap_bases if isinstance(cap_bases, str) else ",".join(cap_bases))
    if isinstance(risk_sets, str):
        risk, risk_codes = b.risk_axis(risk_sets)
        codes = {**codes, **risk_codes}
    elif risk_sets is not None:
        risk = tuple(tuple(sorted({t.upper() for t in _tokens(rs)})) for rs in risk_sets)
    else:
        risk = (tuple(sorted({t.upper() for t in scen.risk.countries})),)
    return b.Grid(importers=tuple(imps), years=b.resolve_years(scen, list(years) if years else None, data),
                  caps_pp=caps, cap_bases=bases, risk_sets=risk, codes=tuple(codes.items()))


@api_checked
def sweep_caps(scenario: str | Path | Scenario | None = None, *, caps_pp: str | Iterable[float],
               out_dir: str | Path | None = None, data: str | Path | pd.DataFrame | TradeData | None = None,
               plot: bool = True, warm: bool = True, overwrite: bool = False, **keywords: Any) -> SweepResult:
    """Exposure after re-allocation at each cap (pp) of one scenario (``sweep.sweep``, warm-started HiGHS).

    ``caps_pp``: numbers or the CLI's text form (``"0-10"``, ``"0,1,2"``, ``"0-10:0.5"``).
    Returns ``SweepResult``: ``table`` has one row per cap and risk country plus
    ``ALL`` (``share_before``/``share_after`` 0..1, ``after_usd``, ``shifted_usd``,
    ``hhi_after``, ``reduction_pp_per_pp`` = exposure cut in pp of basket imports per
    extra pp of cap). With ``out_dir``: writes ``sweep.csv|parquet``, summary.json (the settings),
    datapackage.json and, with ``plot``, ``sweep.png``/``sweep.svg`` (``overwrite`` as in ``run``).
    ``keywords`` as in ``load_scenario``.
    """
    from optimize.runs.batch import parse_caps
    from optimize.runs.sweep import sweep

    scen = load_scenario(scenario, **keywords)
    caps = parse_caps(caps_pp, field="caps_pp")
    return sweep(scen, caps, data=_data_arg(data), out_dir=out_dir, plot=plot, warm=warm, overwrite=overwrite)


__all__ = ["SCENARIO_KEYWORDS", "backtest", "batch_run", "binding", "cost", "convert_data", "data_info", "fetch",
           "figures", "frontier", "frontier_figure", "list_scenarios", "load_scenario", "load_trade", "releases", "run",
           "scenario_schema", "screen", "sweep_caps", "trend", "validate_data"]
