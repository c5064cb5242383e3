"""Cap sweep: exposure per risk country against the cap (pp), re-using one HiGHS model.

The caps are the cells of one ``kernel.Problem`` (one importer x the caps) solved by
``kernel.LP.solve``; exposure comes from ``exposure.cell_metrics`` of its ``CellTotals``
(no result tables, no CES cost: the sweep does not report them). The pairs of an instance
do not depend on the cap, only the alternatives' upper bounds do; when the LP offers a
warm start for the cell's features (``kernel.LP.warm_start``) its caps share one
``engine.WarmStart``: HiGHS gets the LP once and, per further cap, only the changed
column bounds before it runs again from the previous basis. Its results are assembled as
``engine.reallocate``'s, so each cap equals a fresh single run.

Table: one row per cap and risk country (plus ``ALL``): share_before,
share_after (0..1), after_usd, and ``reduction_pp_per_pp`` (exposure reduction,
percentage points of basket imports, per extra pp of cap from the previous cap).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from optimize.config.resolve import resolve
from optimize.model.kernel import LP, Problem

log = logging.getLogger(__name__)

#: Most caps one sweep solves (one LP solve each): 0-100 pp in steps of 0.1 pp.
MAX_SWEEP_CAPS = 1001
_VALUES = ("share_before", "share_after", "before_usd", "after_usd", "shifted_usd", "hhi_after")


@dataclass
class SweepResult:
    """Sweep table plus timings (seconds) and whether the warm start was used."""

    table: pd.DataFrame
    warm: bool
    solve_s: list[float] = field(default_factory=list)  # per cap: HiGHS run() time (or whole cell when cold)
    seconds: float = 0.0
    figures: list[Path] = field(default_factory=list)
    synthetic: bool = False  # the data are the embedded synthetic sample


def _rows(caps_pp: list[float], parts, countries: pd.DataFrame) -> list[dict]:
    """The sweep's rows: exposure per risk country and ``ALL`` at each cap (``exposure.cell_metrics`` of the
    LP's ``parts``, cell c = cap c: the numbers ``metrics.compute_tables`` reports, without the tables and the
    cost the sweep does not show)."""
    from optimize.analysis.exposure import cell_metrics, long_table
    from optimize.analysis.metrics import ALL_RISK, country_labels

    m = cell_metrics(parts)
    iso3, _ = country_labels(m.risk_codes, countries)
    long = long_table(m, [*(str(s) for s in iso3), ALL_RISK])
    return [{"cap_pp": float(caps_pp[int(r["cell"])]), "risk": str(r["risk"]), **{c: float(r[c]) for c in _VALUES}}
            for r in long.to_dict("records")]


def _finish(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows).sort_values(["risk", "cap_pp"], kind="stable").reset_index(drop=True)
    d_share = df.groupby("risk", sort=False)["share_after"].diff()
    d_cap = df.groupby("risk", sort=False)["cap_pp"].diff()
    df["reduction_pp_per_pp"] = -d_share * 100.0 / d_cap
    return df


def sweep(scenario, caps_pp: Iterable[float], *, data=None, prepared=None, warm: bool = True,
          out_dir: str | Path | None = None, plot: bool = True, overwrite: bool = False) -> SweepResult:
    """Solve one scenario (its importer, risk set and cap basis) at each cap in ``caps_pp`` (pp); warm-started
    HiGHS where possible.

    ``prepared``: a ``pipeline.Prepared`` to reuse, its scenario swept (else ``pipeline.prepare(scenario, data)``).
    With ``out_dir``: writes ``sweep.csv|parquet``, summary.json (settings), datapackage.json and, with
    ``plot``, ``sweep.png``/``.svg`` as one atomic folder (``atomic.atomic_dir``: content tradeopt did
    not write is refused unless ``overwrite``, and never changed).
    """
    from optimize.runs import pipeline

    t_start = time.perf_counter()
    caps_pp = _checked_caps(caps_pp)  # sorted, distinct
    key = None
    if out_dir is not None:  # preflight: exit 5 before anything is read or solved
        base = scenario if scenario is not None else prepared.scenario
        key = _preflight(base, out_dir, overwrite, caps_pp)
    if prepared is None:
        prepared = pipeline.prepare(scenario, data)
    scen0 = pipeline.cell_scenario(prepared.scenario, cap_pp=caps_pp[0])
    table, times, facts, use_warm = _solve_caps(prepared, scen0, caps_pp, warm)
    figs: list[Path] = []
    if out_dir is not None:
        figs = _write(out_dir, table, facts, caps_pp, plot=plot, overwrite=overwrite, run_key=key)
    return SweepResult(table=table, warm=use_warm, solve_s=times, seconds=time.perf_counter() - t_start,
                       figures=figs, synthetic=bool(facts.synthetic))


def _preflight(base, out_dir, overwrite: bool, caps_pp: list[float]) -> str:
    """The sweep's run key (``ownership.run_key``) once ``out_dir`` is checked (``atomic.check_out_dir``)."""
    from optimize.atomic import check_out_dir
    from optimize.output.manifest import results_key
    from optimize.ownership import run_key

    key = run_key("sweep", results_key(base), caps_pp)
    check_out_dir(out_dir, overwrite=overwrite, run_key=key)
    return key


def _solve_caps(prepared, scen0, caps_pp: list[float], warm: bool) -> tuple[pd.DataFrame, list[float], object, bool]:
    """The sweep's table, per-cap seconds, the first cap's run facts and whether the caps were warm-started:
    the caps are the cells of one ``kernel.Problem`` (``scen0``'s importer x ``caps_pp``), ``LP.solve``d."""
    from optimize.runs import pipeline
    from optimize.runs.facts import run_facts

    spec0 = resolve(scen0)
    use_warm = warm and LP.warm_start(spec0.features)
    times: list[float] = []
    facts = []  # the first cap's run facts (the figure's caption)

    def parts():  # the LP's cells, one per cap, timed; passed on without their pair-level result
        t0 = time.perf_counter()
        for part in LP.solve(Problem((spec0,), tuple(caps_pp), pipeline.year_rows(prepared), warm=warm)):
            ((instance, allocation),) = part.solved
            times.append(allocation.solver.solve_s if use_warm else time.perf_counter() - t0)
            facts[:] = facts or [run_facts(prepared, scen0, instance, allocation)]
            yield replace(part, solved=())
            t0 = time.perf_counter()

    table = _finish(_rows(caps_pp, parts(), prepared.countries))
    return table, times, facts[0], use_warm


def _write(out_dir, table: pd.DataFrame, facts, caps_pp: list[float], *, plot: bool, overwrite: bool,
           run_key: str | None) -> list[Path]:
    """The sweep's folder through the screens' writer (``output.folder.write_folder``): sweep.csv|parquet,
    summary.json (the run's settings, the caps swept in pp), datapackage.json and sweep.png|svg; returns
    the figures."""
    from optimize.output.folder import analysis_summary, write_folder

    summary = analysis_summary("sweep", facts, {"cap": f"swept, pp of {facts.cap_basis}", "caps_pp": caps_pp})
    synthetic = bool(facts.synthetic)

    def figures(folder: Path) -> list[Path]:
        from optimize.output.plots import plot_sweep
        from optimize.output.settings import settings_caption

        return plot_sweep(table, folder / "sweep", synthetic=synthetic, subtitle=settings_caption(summary["settings"]))

    written = write_folder(out_dir, {"sweep": table}, summary, title="sweep", synthetic=synthetic,
                           overwrite=overwrite, figures=figures if plot else None, figures_in="", run_key=run_key)
    return [p for p in written if p.suffix in (".png", ".svg")]


def _checked_caps(caps_pp: Iterable[float]) -> list[float]:
    """The distinct caps (pp), sorted; ``InputError`` when there are none or more than ``MAX_SWEEP_CAPS``."""
    from optimize.errors import InputError

    caps = sorted({float(c) for c in caps_pp})
    if not caps:
        raise InputError("no caps to sweep", field="caps_pp",
                         fix="pass at least one cap in pp, e.g. caps_pp=[1, 5, 10]")
    if len(caps) > MAX_SWEEP_CAPS:
        raise InputError(f"{len(caps):,} caps to sweep; a sweep solves at most {MAX_SWEEP_CAPS:,}", field="caps_pp",
                         fix="use a step of at least 0.1 pp over 0-100 (e.g. --caps 0-100:0.5, 201 caps) "
                             f"or split the range into sweeps of at most {MAX_SWEEP_CAPS:,} caps")
    return caps


__all__ = ["MAX_SWEEP_CAPS", "SweepResult", "sweep"]
