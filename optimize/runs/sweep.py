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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from optimize.config.resolve import resolve

log = logging.getLogger(__name__)


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
    caps = sorted({float(c) for c in caps_pp})
    if out_dir is not None:  # preflight: exit 5 before anything is read or solved
        from optimize.atomic import check_out_dir

        check_out_dir(out_dir, overwrite=overwrite)
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

        with atomic_dir(out_dir, overwrite=overwrite) as tmp:
            table.to_csv(tmp / "sweep.csv", index=False, lineterminator="\n")
            if plot:
                from optimize.output.plots import plot_sweep

                figs = [Path(out_dir) / p.relative_to(tmp)
                        for p in plot_sweep(table, tmp / "sweep", synthetic=bool(prepared.trade.synthetic))]
    return SweepResult(table=table, warm=use_warm, solve_s=times, seconds=time.perf_counter() - t_start,
                       figures=figs)


def _warm_sweep(prepared, caps, cell, inst0, scen0, opts):
    """One HiGHS model, bounds changed per cap, then the engine's separable tie-break."""
    import highspy

    from optimize.model import lp as lpmod
    from optimize.runs import pipeline
    from optimize.model import tiebreak
    from optimize.model.engine import Allocation
    from optimize.errors import SolverError
    from optimize.solve.highs import highs_version, make_highs
    from optimize.solve.status import SolverInfo, Status

    lp = lpmod.build_lp([inst0])
    h = make_highs(lp, verbose=False)
    h.setOptionValue("solver", "simplex")
    rows, times = [], []
    n_pairs = inst0.n_pairs
    idx = np.arange(n_pairs, dtype=np.int32)
    for cap in caps:
        scen = scen0 if cap == caps[0] else pipeline.cell_scenario(prepared.scenario, cap_pp=cap, **cell)
        inst = inst0 if cap == caps[0] else pipeline.build_cell_instance(prepared, resolve(scen))
        if inst.n_pairs != n_pairs or not np.array_equal(inst.pair_exporter, inst0.pair_exporter):
            raise SolverError("pairs changed between caps in a sweep", fix="report this as a bug")
        if cap != caps[0]:
            h.changeColsBounds(n_pairs, idx, np.ascontiguousarray(inst.lower(), dtype=float),
                               np.ascontiguousarray(inst.upper_kusd, dtype=float))
        t0 = time.perf_counter()
        h.run()
        times.append(time.perf_counter() - t0)
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"HiGHS stopped with {h.modelStatusToString(h.getModelStatus())} at cap {cap:g} pp",
                              fix="run the cap on its own with `tradeopt run --cap` to see the details")
        sol = h.getSolution()
        x = np.asarray(sol.col_value, dtype=float)
        xi = lp.pair_values(x, 0)
        shortfall = lp.shortfall_values(x, 0, inst.n_products)
        risk_after = np.bincount(inst.pair_product, weights=np.where(inst.is_risk, xi, 0.0),
                                 minlength=inst.n_products)
        nonrisk_after = np.maximum(inst.total_kusd - shortfall - risk_after, 0.0)
        x_after = tiebreak.distribute(inst, nonrisk_after, risk_after, risk_split=opts.risk_split,
                                      spread=opts.spread, priority=opts.priority)
        marginal = None
        if sol.dual_valid:
            rc = lp.pair_values(np.asarray(sol.col_dual, dtype=float), 0)
            marginal = np.where(inst.alternatives() & (inst.cap_kusd > 0), np.maximum(-rc, 0.0), 0.0)
            marginal[np.abs(marginal) < 1e-9] = 0.0
        info = SolverInfo(backend="highs", algorithm="simplex (warm start)",
                          iterations=int(h.getInfo().simplex_iteration_count), solve_s=times[-1],
                          objective=float(inst.risk_weight @ x_after), solver_version=highs_version())
        alloc = Allocation(instance=inst, x_after_kusd=x_after, status=Status.OPTIMAL, solver=info,
                           shortfall_kusd=shortfall if inst.shortfall_allowed is not None else None,
                           cap_marginal=marginal)
        tables = pipeline.cell_tables(prepared, scen, inst, alloc)
        rows += _rows(cap, tables)
    return rows, times


def solve_times(prepared, caps_pp: Iterable[float], **cell) -> dict[str, float]:
    """Seconds of HiGHS ``run()`` summed over the caps: warm-started model vs a new model per cap."""
    from optimize.model import lp as lpmod
    from optimize.runs import pipeline
    from optimize.solve.highs import make_highs

    caps = sorted({float(c) for c in caps_pp})
    insts = [pipeline.build_cell_instance(prepared, resolve(pipeline.cell_scenario(prepared.scenario, cap_pp=c, **cell)))
             for c in caps]
    cold = 0.0
    for inst in insts:
        h = make_highs(lpmod.build_lp([inst]), verbose=False)
        h.setOptionValue("solver", "simplex")
        t0 = time.perf_counter()
        h.run()
        cold += time.perf_counter() - t0
    h = make_highs(lpmod.build_lp([insts[0]]), verbose=False)
    h.setOptionValue("solver", "simplex")
    idx = np.arange(insts[0].n_pairs, dtype=np.int32)
    warm = 0.0
    for i, inst in enumerate(insts):
        if i:
            h.changeColsBounds(inst.n_pairs, idx, np.ascontiguousarray(inst.lower(), dtype=float),
                               np.ascontiguousarray(inst.upper_kusd, dtype=float))
        t0 = time.perf_counter()
        h.run()
        warm += time.perf_counter() - t0
    return {"cold_s": cold, "warm_s": warm, "speedup": cold / warm if warm > 0 else float("nan"), "caps": len(caps)}


__all__ = ["SweepResult", "solve_times", "sweep"]
