"""Cap sweep: exposure per risk country against the cap (pp), re-using one HiGHS model.

The pairs of an instance do not depend on the cap; only the upper bounds of the
alternative pairs (``x0 + cap``) do. So the LP is passed to HiGHS once, and for
each further cap only the changed column bounds are sent (``changeColsBounds``)
before ``run()`` again: a warm start from the previous optimal basis. The
per-product optimum is then split exactly as ``engine.reallocate`` does
(``tiebreak.distribute``), so each cap's result equals a fresh single run.
Coupled models (exporter totals), the Pyomo backend, ``vertex`` spread and
share limits fall back to a fresh ``pipeline.solve_cell`` per cap.

Table: one row per cap and risk country (plus ``ALL``): share_before,
share_after (0..1), after_usd, and ``reduction_pp_per_pp`` (exposure reduction,
percentage points of basket imports, per extra pp of cap from the previous cap).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from optimize.config.resolve import resolve
from optimize.errors import SolverError
from optimize.solve.status import raise_for_status
from optimize.vocab import CSV_FLOAT_FORMAT

log = logging.getLogger(__name__)

#: Most caps one sweep solves (one LP solve each): 0-100 pp in steps of 0.1 pp.
MAX_SWEEP_CAPS = 1001


@dataclass
class SweepResult:
    """Sweep table plus timings (seconds) and whether the warm start was used."""

    table: pd.DataFrame
    warm: bool
    solve_s: list[float] = field(default_factory=list)  # per cap: HiGHS run() time (or whole cell when cold)
    seconds: float = 0.0
    figures: list[Path] = field(default_factory=list)


def _rows(cap_pp: float, tables) -> list[dict]:
    exp = tables.exposure
    return [{"cap_pp": float(cap_pp), "risk": str(r["iso3"]), "share_before": float(r["share_before"]),
             "share_after": float(r["share_after"]), "before_usd": float(r["before_usd"]),
             "after_usd": float(r["after_usd"]), "shifted_usd": float(tables.summary["shifted_usd"]),
             "hhi_after": float(tables.summary["hhi_after"])} for r in exp.to_dict("records")]


def _finish(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows).sort_values(["risk", "cap_pp"], kind="stable").reset_index(drop=True)
    d_share = df.groupby("risk", sort=False)["share_after"].diff()
    d_cap = df.groupby("risk", sort=False)["cap_pp"].diff()
    df["reduction_pp_per_pp"] = -d_share * 100.0 / d_cap
    return df


def _warm_ok(scen, opts, inst) -> bool:
    return (opts.backend == "highs" and opts.exporter_total_pp is None and not opts.joint
            and opts.spread != "vertex" and not scen.cap.share_limit and not opts.keep_going
            and (inst.share_infeasible is None or not inst.share_infeasible.any()))


def sweep(scenario, caps_pp: Iterable[float], *, data=None, prepared=None, importer: str | Sequence[str] | None = None,
          risk: Sequence[str] | None = None, cap_basis: str | None = None, warm: bool = True,
          out_dir: str | Path | None = None, plot: bool = True, overwrite: bool = False) -> SweepResult:
    """Solve one scenario at each cap in ``caps_pp`` (pp); warm-started HiGHS where possible.

    ``prepared``: a ``pipeline.Prepared`` to reuse (else ``pipeline.prepare(scenario, data)``).
    With ``out_dir``: writes ``sweep.csv`` and, with ``plot``, ``sweep.png``/``.svg`` as one
    atomic folder (``atomic.atomic_dir``: content tradeopt did not write is refused unless
    ``overwrite``, and never changed).
    """
    from optimize.runs import pipeline

    t_start = time.perf_counter()
    caps = _checked_caps(caps_pp)
    key = None
    if out_dir is not None:  # preflight: exit 5 before anything is read or solved
        from optimize.atomic import check_out_dir
        from optimize.output.manifest import results_key
        from optimize.ownership import run_key

        base = scenario if scenario is not None else prepared.scenario
        key = run_key("sweep", results_key(base.resolved()), caps, importer, risk, cap_basis)
        check_out_dir(out_dir, overwrite=overwrite, run_key=key)
    if prepared is None:
        prepared = pipeline.prepare(scenario, data)
    cell = {"importer": importer, "risk": None if risk is None else list(risk), "cap_basis": cap_basis}
    scen0 = pipeline.cell_scenario(prepared.scenario, cap_pp=caps[0], **cell)
    inst0 = pipeline.build_cell_instance(prepared, resolve(scen0))
    opts = pipeline.engine_options(resolve(scen0))
    use_warm = warm and _warm_ok(scen0, opts, inst0)
    rows: list[dict] = []
    times: list[float] = []
    if not use_warm:
        for cap in caps:
            t0 = time.perf_counter()
            res = pipeline.solve_cell(prepared, cap_pp=cap, **cell)
            times.append(time.perf_counter() - t0)
            rows += _rows(cap, res.tables)
    else:
        rows, times = _warm_sweep(prepared, caps, cell, inst0, scen0, opts)
    table = _finish(rows)
    figs: list[Path] = []
    if out_dir is not None:
        from optimize.atomic import atomic_dir

        with atomic_dir(out_dir, overwrite=overwrite, run_key=key) as tmp:
            table.to_csv(tmp / "sweep.csv", index=False, lineterminator="\n", float_format=CSV_FLOAT_FORMAT)
            if plot:
                from optimize.data.countries import to_iso3
                from optimize.output.plots import plot_sweep
                from optimize.output.settings import run_settings, settings_caption

                meta = {"scenario_resolved": scen0.resolved(), "importer": inst0.importer, "year": prepared.year,
                        "hs_revision": prepared.hs_revision.code, "hs_revision_source": prepared.hs_revision.source,
                        "data_label": prepared.trade.label(),
                        "importer_iso3": [str(c) for c in to_iso3(list(inst0.importer_codes))]}
                caption = settings_caption(run_settings(meta)).replace(f"cap {scen0.cap.pp:g} pp", "cap swept, pp")
                figs = [Path(out_dir) / p.relative_to(tmp)
                        for p in plot_sweep(table, tmp / "sweep", synthetic=bool(prepared.trade.synthetic),
                                            subtitle=caption)]
    return SweepResult(table=table, warm=use_warm, solve_s=times, seconds=time.perf_counter() - t_start,
                       figures=figs)


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


def _warm_sweep(prepared, caps, cell, inst0, scen0, opts):
    """One HiGHS model, bounds changed per cap, then the engine's separable tie-break."""
    from optimize.model import lp as lpmod
    from optimize.runs import pipeline
    from optimize.solve.highs import HighsModel

    lp = lpmod.build_lp([inst0])
    model = HighsModel(lp, algorithm="simplex", verbose=False, label="sweep")
    rows, times = [], []
    n_pairs = inst0.n_pairs
    idx = np.arange(n_pairs, dtype=np.int32)
    for cap in caps:
        scen = scen0 if cap == caps[0] else pipeline.cell_scenario(prepared.scenario, cap_pp=cap, **cell)
        inst = inst0 if cap == caps[0] else pipeline.build_cell_instance(prepared, resolve(scen))
        if inst.n_pairs != n_pairs or not np.array_equal(inst.pair_exporter, inst0.pair_exporter):
            raise SolverError("pairs changed between caps in a sweep", fix="report this as a bug")
        if cap != caps[0]:
            model.set_col_bounds(idx, inst.lower(), inst.upper_kusd)
        sol = model.run()
        times.append(sol.info.solve_s)
        raise_for_status(sol.status, what=f"the sweep LP at cap {cap:g} pp", detail=sol.info.message,
                         fix_infeasible="run the cap on its own with `tradeopt run --cap` to see the details",
                         fix="run the cap on its own with `tradeopt run --cap` to see the details")
        rows += _rows(cap, _warm_tables(prepared, scen, inst, lp, sol, opts))
    return rows, times


def _warm_tables(prepared, scen, inst, lp, sol, opts):
    """The engine's separable post-solve steps on a warm-started solution, then the tables."""
    from optimize.model.engine import Allocation, cap_marginal, flows_after
    from optimize.runs import pipeline

    xi = lp.pair_values(sol.x, 0)
    shortfall = lp.shortfall_values(sol.x, 0, inst.n_products)
    risk_after = np.bincount(inst.pair_product, weights=np.where(inst.is_risk, xi, 0.0), minlength=inst.n_products)
    x_after = flows_after(inst, xi, shortfall, risk_after, opts, coupled=False)
    marginal = None if sol.col_duals is None else cap_marginal(inst, inst, lp.pair_values(sol.col_duals, 0), False)
    info = replace(sol.info, algorithm=f"{sol.info.algorithm} (warm start)",
                   objective=float(inst.risk_weight @ x_after))
    alloc = Allocation(instance=inst, x_after_kusd=x_after, status=sol.status, solver=info,
                       shortfall_kusd=shortfall if inst.shortfall_allowed is not None else None,
                       cap_marginal=marginal)
    return pipeline.cell_tables(prepared, scen, inst, alloc)


__all__ = ["MAX_SWEEP_CAPS", "SweepResult", "sweep"]
