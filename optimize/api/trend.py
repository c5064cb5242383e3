"""Across years in the public API: ``trend`` (the scenario's run per year, its headline and the exact
decomposition of each change of the risk share) and ``backtest`` (the cap rule against what trade did).
Values USD, shares 0..1; with ``out_dir`` each writes a folder as the screens do (``optimize.output.folder``:
tables as CSV and Parquet, summary.json with the settings, summary.md, datapackage.json, figures).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimize.api.checks import api_checked

if TYPE_CHECKING:
    from optimize.config.scenario import Scenario
    from optimize.data.trade import TradeData
    from optimize.runs.backtest import BacktestResult
    from optimize.runs.trend import TrendResult


def yearly_source(data) -> str | Path | TradeData | None:
    """What each year's run reads: a path as given (a folder or release zip is read one year at a time);
    several files read once into one ``TradeData`` (``load_trade``: one HS revision, each year once)."""
    if isinstance(data, (list, tuple)):
        if len(data) == 1:
            return data[0]
        from optimize.api.data import load_trade

        return load_trade([str(p) for p in data])
    return data


@api_checked
def trend(scenario: str | Path | Scenario | None = None, data: str | Path | Sequence[str | Path] | TradeData | None
          = None, *, years: str | Iterable[int] | None = None, top: int = 5, out_dir: str | Path | None = None,
          figures: bool = True, overwrite: bool = False, workers: int = 1, dask_address: Any = None,
          dask_timeout: float | None = None, **keywords: Any) -> TrendResult:
    """The scenario's run once per year (``runs.trend.trend``): ``table`` (trend.csv: year, risk,
    share_before, share_after 0..1, total_usd, shifted_usd, hhi_before, hhi_after, cost_usd), the exact
    decomposition of each year-to-year change of the risk share into within-product and composition parts
    (``decomposition``) with the ``top`` contributing products per risk label (``top_products``).

    ``data``: a folder of yearly BACI files, a release zip, several files (a list), one file or TradeData
    (None: the scenario's ``data.baci``); all of one HS revision. ``years``: a list or text
    (``"2017-2024"``; None: every year of the data). Each year equals ``run(..., year=Y)``. ``workers`` > 1:
    the years run on a local process pool of that many workers (batch's pool), each reading its own year.
    ``dask_address``: as in ``batch_run`` (``"local:N"``, a scheduler address or a ``distributed.Client``;
    unreachable: ``InputError`` within ``dask_timeout`` s), each year one task on the cluster.
    ``screens`` (screens.csv): per screen (ec, geodep, single) and year the products flagged, entering,
    leaving, staying and the one-year survival; ``survival`` (screens_survival.csv): multi-year survival.
    ``out_dir``: also write trend.csv, decomposition.csv, decomposition_products.csv, screens.csv,
    screens_survival.csv (and .parquet),
    summary.json, summary.md, datapackage.json and, with ``figures``, figures/trend.png|svg; each year is kept
    there as it finishes (``dataset/``), so a trend interrupted and run again into the folder computes only the
    missing years (``computed``); another scenario's or data's years are replaced only with ``overwrite``.
    """
    from optimize.api import load_scenario
    from optimize.api.analyses import _check_out
    from optimize.runs.trend import trend as run_trend
    from optimize.runs.trendstore import TREND_KEY
    from optimize.tokens import given_years

    scen = load_scenario(scenario, **keywords)
    _check_out(out_dir, overwrite, run_key=TREND_KEY)
    from optimize.runs.executors import dask_session

    with dask_session(dask_address, dask_timeout, quiet=True) as client:  # unreachable: before any data are read
        result = run_trend(scen, yearly_source(data), given_years(years), top=top, workers=workers, client=client,
                           out_dir=out_dir, overwrite=overwrite)
    if out_dir is not None:
        write_trend(result, out_dir, figures=figures, overwrite=overwrite)
    return result


def write_trend(result: TrendResult, out_dir: str | Path, *, figures: bool = True,
                overwrite: bool = False) -> list[Path]:
    """The trend's output folder (``output.folder.write_folder``); returns the paths written."""
    from optimize.output.folder import TABLE_UNITS, write_folder
    from optimize.output.trend import plot_trend, screens_markdown, trend_markdown
    from optimize.runs.trendstore import TREND_KEY, carried

    summary = {"analysis": "trend", "settings": result.settings, "synthetic": result.synthetic,
               "resumed_years": [r.year for r in result.years if r.year not in result.computed],
               "units": TABLE_UNITS, "years": {str(r.year): {k: v for k, v in r.meta.items() if k != "synthetic"}
                                               for r in result.years}}
    tables = {"trend": result.table, "decomposition": result.decomposition,
              "decomposition_products": result.top_products, "screens": result.screens,
              "screens_survival": result.survival}

    def draw(folder: Path) -> list[Path]:
        return plot_trend(result.table, folder / "trend", settings=result.settings, synthetic=result.synthetic)

    text = trend_markdown(result.table, result.decomposition, result.settings, result.synthetic)
    text += screens_markdown(result.screens)
    return write_folder(out_dir, tables, summary, title="trend", synthetic=result.synthetic, overwrite=overwrite,
                        figures=draw if figures else None, texts={"summary.md": text}, run_key=TREND_KEY,
                        files=carried(out_dir))


@api_checked
def backtest(scenario: str | Path | Scenario | None = None,
             data: str | Path | Sequence[str | Path] | TradeData | None = None, *, from_year: int, to_year: int,
             caps_pp: str | Iterable[float] | None = None, cap_bases: str | Iterable[str] | None = None,
             out_dir: str | Path | None = None, figures: bool = True, overwrite: bool = False, workers: int = 1,
             dask_address: Any = None, dask_timeout: float | None = None, **keywords: Any) -> BacktestResult:
    """A backtest of the cap rule (``runs.backtest.backtest``): the scenario's run on ``from_year`` at each
    cap of ``caps_pp`` (pp, list or text ``"1-10"``; None: the scenario's cap) and cap basis of ``cap_bases``
    (list or ``"world-exports,rest-of-world"``; None: the scenario's) against the importer's imports
    in ``to_year``. ``table`` (backtest.csv): per cap ``spearman`` (predicted gain vs realised change per
    non-risk (product, exporter) pair), ``captured_share`` (share of the realised gains that went to pairs the
    model gave a gain), ``predicted_cut`` and ``realised_cut`` of the risk share (0..1); ``block`` (summary.json
    ``backtest``: ``spearman``, ``captured_share``, ``by_cap``, ``best_cap``, ``best_basis``). ``data`` as in ``trend``.
    ``out_dir``: also write backtest.csv, backtest_pairs.csv (and .parquet), summary.json, summary.md,
    datapackage.json and, with ``figures``, figures/backtest.png|svg. ``workers`` and ``dask_address`` as in
    ``trend``: the two years run side by side there.
    """
    from optimize.api import load_scenario
    from optimize.api.analyses import _check_out
    from optimize.runs.backtest import backtest as run_backtest
    from optimize.runs.batch import parse_caps
    from optimize.runs.grid import parse_cap_bases

    scen = load_scenario(scenario, **keywords)
    caps = parse_caps(caps_pp, field="caps_pp") if caps_pp is not None else None
    _check_out(out_dir, overwrite)
    bases = None if cap_bases is None else parse_cap_bases(cap_bases if isinstance(cap_bases, str)
                                                           else ",".join(cap_bases))
    from optimize.runs.executors import dask_session

    with dask_session(dask_address, dask_timeout, quiet=True) as client:  # unreachable: before any data are read
        result = run_backtest(scen, yearly_source(data), int(from_year), int(to_year), caps, bases, workers, client)
    if out_dir is not None:
        from optimize.output.folder import TABLE_UNITS, write_folder
        from optimize.output.trend import backtest_markdown, plot_backtest

        def draw(folder: Path) -> list[Path]:
            return plot_backtest(result.table, result.pairs, folder / "backtest", settings=result.settings,
                                 block=result.block, synthetic=result.synthetic)

        summary = {"analysis": "backtest", "settings": result.settings, "backtest": result.block,
                   "synthetic": result.synthetic, "units": TABLE_UNITS}
        write_folder(out_dir, {"backtest": result.table, "backtest_pairs": result.pairs}, summary, title="backtest",
                     synthetic=result.synthetic, overwrite=overwrite, figures=draw if figures else None,
                     texts={"summary.md": backtest_markdown(result.table, result.block, result.settings,
                                                            result.synthetic)})
    return result
