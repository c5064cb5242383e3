"""Named optimisation steps: build the LP, solve it, break ties deterministically.

``reallocate(instances, options)`` returns one ``Allocation`` per instance, in the
same order. The engine is where a solve's non-optimal status becomes an exception
(``solve.status.raise_for_status``): an ``Allocation``'s status is always ok.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from optimize.config.caps import PP_FIX, pp_problem
from optimize.config.resolve import Features, ModelSpec, solver_features
from optimize.errors import InfeasibleError, SolverError, TradeoptError
from optimize.model import lp as lpmod
from optimize.model import tiebreak
from optimize.model.instance import Instance, spec_instance
from optimize.solve.highs import HighsModel, highs_version, solve_highs
from optimize.solve.status import LPSolution, SolverInfo, Status, raise_for_status
from optimize.vocab import plural


@dataclass(frozen=True)
class EngineOptions:
    """How to solve and how to choose among the many exposure-optimal solutions.

    risk_split: "proportional" (default; every risk supplier of a product cut by
    the same fraction), "priority" (``priority`` order, first cut first) or
    "weights" (highest risk weight cut first).
    spread: "proportional" (default; every alternative uses the same fraction of
    its cap), "min-hhi" (water-filling, minimum HHI per product), "min-cost" (the
    lowest CES cost, ``optimize.model.mincost``; prior weight ``prior_lambda``) or
    "vertex" (the plain LP solution).
    """

    backend: str = "highs"  # "highs" | "pyomo"
    algorithm: str = "auto"  # "auto" | "simplex" | "ipm" | "pdlp"
    risk_split: str = "proportional"
    priority: tuple[int, ...] = ()  # BACI codes, first cut first
    spread: str = "proportional"
    prior_lambda: float = 0.1  # new-supplier prior of the min-cost spread (scenario cost.prior_lambda)
    joint: bool = False  # share each exporter's cap across importers (coupled LP)
    exporter_total_pp: float | None = None  # per-exporter total extra across products <= pp% of its total exports
    time_limit_s: float | None = None
    keep_going: bool = False  # report infeasible products and continue with the rest
    save_lp: str | None = None  # write the LP (MPS/LP file) without changing the result

    @property
    def features(self) -> Features:
        """What these settings ask of a backend (``kernel.LP.merges``/``warm_start`` read it)."""
        return solver_features(backend=self.backend, spread=self.spread, risk_split=self.risk_split,
                               exporter_total_pp=self.exporter_total_pp)

    @classmethod
    def of(cls, spec: ModelSpec, save_lp: str | None = None) -> EngineOptions:
        """The options of a resolved spec (risk split, spread, solver settings); ``save_lp``: write the LP."""
        return cls(backend=spec.backend, algorithm=spec.algorithm, risk_split=spec.risk_split, priority=spec.priority,
                   spread=spec.spread, prior_lambda=spec.prior_lambda, exporter_total_pp=spec.exporter_total_pp,
                   time_limit_s=spec.time_limit_s, keep_going=spec.keep_going, save_lp=save_lp)


@dataclass
class Allocation:
    """Flows after re-allocation for one instance (kUSD), plus how they were found."""

    instance: Instance
    x_after_kusd: np.ndarray  # (N,) flows after, same pair order as the instance
    status: Status
    solver: SolverInfo
    shortfall_kusd: np.ndarray | None = None  # (P,) unmet demand per product (export bans), else None
    #: (N,) exposure (kUSD) removed per extra kUSD of cap; 0 where the cap does not bind
    cap_marginal: np.ndarray | None = None
    #: hs6 codes dropped/relaxed under keep_going, with reasons in notes
    infeasible_products: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


log = logging.getLogger("tradeopt.engine")
BACKENDS = ("highs", "pyomo")


def lp_merges(f: Features, joint_importers: int = 1) -> bool:
    """Non-risk columns may be merged per product (``lp.merge_nonrisk``, exact): HiGHS, a separable
    model (no coupling rows) and a tie-break that spreads the merged value."""
    return f.backend == "highs" and f.spread != "vertex" and not f.coupled and joint_importers <= 1


def lp_warm_start(f: Features) -> bool:
    """One HiGHS model re-solved after bound changes gives each cap's exact result (``WarmStart``):
    the merged LP without a share limit (its infeasible products change the bounds per cap)."""
    return lp_merges(f) and not f.share_limit


def _check_options(options: EngineOptions) -> None:
    from optimize.errors import ScenarioError

    if options.backend not in BACKENDS:
        raise ScenarioError(f"unknown backend {options.backend!r}", field="backend", fix="use 'highs' or 'pyomo'")
    if options.risk_split not in tiebreak.RISK_SPLITS:
        raise ScenarioError(f"unknown risk split {options.risk_split!r}", field="risk_split",
                            fix=f"use one of {', '.join(tiebreak.RISK_SPLITS)}")
    if options.spread not in tiebreak.SPREADS:
        raise ScenarioError(f"unknown spread {options.spread!r}", field="spread",
                            fix=f"use one of {', '.join(tiebreak.SPREADS)}")
    problem = None if options.exporter_total_pp is None else pp_problem(options.exporter_total_pp, "exporter_total_pp")
    if problem:
        raise ScenarioError(problem, field="exporter_total_pp", fix=PP_FIX)


def _share_policy(instances: list[Instance],
                  keep_going: bool) -> tuple[list[Instance], list[list[str]], list[list[str]]]:
    """Products where the share limit cannot hold: raise, or (keep_going) drop the limit for them."""
    out, bad_lists, notes = [], [], []
    for inst in instances:
        bad = inst.share_infeasible
        if bad is None or not bad.any():
            out.append(inst), bad_lists.append([]), notes.append([])
            continue
        codes = [str(k) for k in inst.products[bad]]
        if not keep_going:
            shown = ", ".join(codes[:10]) + (f" (+{len(codes) - 10} more)" if len(codes) > 10 else "")
            raise InfeasibleError(
                f"{inst.importer} {inst.year}: the supplier-share limit {inst.meta.get('share_limit')} cannot hold for "
                f"{plural(len(codes), 'product')}: {shown} (today's flows of non-risk suppliers already exceed it, or "
                "all suppliers together cannot reach the total within it)",
                fix="raise share_limit (cap.share_limit), raise the cap (cap.pp), or run with keep_going "
                    "(solver.keep_going / --keep-going) to solve these without the limit")
        relax = bad[inst.pair_product]
        out.append(replace(inst, upper_kusd=np.where(relax, inst.upper_base_kusd, inst.upper_kusd)))
        bad_lists.append(codes)
        notes.append([f"share limit infeasible, solved without it: {', '.join(codes)}"])
    return out, bad_lists, notes


def reallocate(instances: list[Instance], options: EngineOptions | None = None) -> list[Allocation]:
    """Minimise weighted risk imports for each instance (or jointly); see EngineOptions.

    Steps (each timed, logger "tradeopt.engine"): build -> solve -> tie-break -> assemble.
    """
    options = options or EngineOptions()
    _check_options(options)
    if not instances:
        return []
    instances, infeasible, notes = _share_policy(list(instances), options.keep_going)

    t0 = time.perf_counter()
    # Separable model solved by HiGHS: merge each product's non-risk columns (exact; see lp.merge_nonrisk).
    merged = lp_merges(options.features, len(instances) if options.joint else 1)
    lp_instances = [lpmod.merge_nonrisk(inst) for inst in instances] if merged else instances
    lp = lpmod.build_lp(lp_instances, joint=options.joint, exporter_total_pp=options.exporter_total_pp)
    built = _Built(lp, instances, lp_instances, merged, time.perf_counter() - t0)
    log.info("build: %d rows x %d cols (%d coupling rows%s) in %.3fs", lp.n_rows, lp.n_cols, lp.n_coupling_rows,
             ", non-risk columns merged per product" if merged else "", built.build_s)
    if options.save_lp:
        path = lpmod.write_lp(lp, options.save_lp)
        log.info("build: LP written to %s", path)

    sol = _solve(lp, instances, options, built.build_s)
    x = sol.x
    tiebreak.check_rows(lp, x)

    t2 = time.perf_counter()
    if built.coupled and options.spread != "vertex":
        x = _second_stage(lp, x, instances, options)
    log.info("tie-break: risk split %s, spread %s in %.3fs", options.risk_split, options.spread,
             time.perf_counter() - t2)
    results = _assemble(built, sol, x, options, infeasible, notes)
    log.info("assemble: %d allocation(s)", len(results))
    return results


@dataclass(frozen=True)
class _Built:
    """An LP as built for ``instances`` (``lp_instances``: the same, merged when ``merged``)."""

    lp: lpmod.LPArrays
    instances: list[Instance]
    lp_instances: list[Instance]
    merged: bool
    build_s: float

    @property
    def coupled(self) -> bool:
        return self.lp.n_coupling_rows > 0  # joint with one importer has no coupling rows: separable


def _assemble(built: _Built, sol: LPSolution, x: np.ndarray, options: EngineOptions,
              infeasible: list[list[str]], notes: list[list[str]]) -> list[Allocation]:
    """One ``Allocation`` per instance from the LP's values ``x``: flows after by the tie-break rules."""
    lp, results = built.lp, []
    for i, inst in enumerate(built.instances):
        lp_inst = built.lp_instances[i]
        xi = lp.pair_values(x, i)
        shortfall = lp.shortfall_values(x, i, inst.n_products)
        risk_after = np.bincount(lp_inst.pair_product, weights=np.where(lp_inst.is_risk, xi, 0.0),
                                 minlength=inst.n_products)
        x_after = flows_after(inst, xi, shortfall, risk_after, options, built.coupled)
        fixed = inst.lower() == inst.upper_kusd
        x_after = np.where(fixed, inst.upper_kusd, x_after)  # fixed pairs (bans) keep their bound bit for bit
        marginal = None
        if sol.col_duals is not None:
            marginal = cap_marginal(inst, lp_inst, lp.pair_values(sol.col_duals, i), built.merged)
        info = replace(sol.info, build_s=built.build_s, objective=float(inst.risk_weight @ x_after),
                       solver_version=sol.info.solver_version or highs_version())
        results.append(Allocation(
            instance=inst, x_after_kusd=x_after, status=sol.status, solver=info,
            shortfall_kusd=shortfall if inst.shortfall_allowed is not None else None,
            cap_marginal=marginal, infeasible_products=infeasible[i], notes=list(notes[i]),
        ))
    return results


def instance_of(spec: ModelSpec, rows) -> Instance:
    """The ``Instance`` of one cell: ``instance.spec_instance`` of the year's rows (``kernel.YearRows``)."""
    return spec_instance(rows.arrays, spec, rows.year, rows.products)


def solve_cells(problem) -> Iterator[tuple[Instance, Allocation]]:
    """Each cell of ``problem`` (``kernel.Problem``: importer g at cap c is cell g * C + c) as (instance,
    allocation), in cell order: the importers of a cap as one coupled LP when ``joint``; an importer's caps
    on one ``WarmStart`` when ``warm`` and its features allow it (``kernel.LP.warm_start``); else one
    ``reallocate`` per cell."""
    if problem.joint:
        yield from _joint_cells(problem)
        return
    for spec in problem.specs:
        options = EngineOptions.of(spec, problem.save_lp)
        warm = WarmStart(options) if problem.warm and lp_warm_start(spec.features) else None
        for cap_pp in problem.caps_pp:
            inst = instance_of(replace(spec, cap_pp=float(cap_pp)), problem.rows)
            yield inst, warm.reallocate(inst) if warm is not None else reallocate([inst], options)[0]


def _built_or_error(spec: ModelSpec, rows) -> Instance | TradeoptError:
    try:
        return instance_of(spec, rows)
    except TradeoptError as exc:
        return exc


def _joint_cells(problem) -> list[tuple[Instance | None, Allocation | TradeoptError]]:
    """The cells of ``problem``, the importers of each cap solved as one coupled LP, in cell order; a cell
    whose instance cannot be built is (None, its error) and the others are solved without it."""
    options = replace(EngineOptions.of(problem.specs[0], problem.save_lp), joint=True)
    by_cap = []
    for cap_pp in problem.caps_pp:
        built = [_built_or_error(replace(spec, cap_pp=float(cap_pp)), problem.rows) for spec in problem.specs]
        ok = [b for b in built if isinstance(b, Instance)]
        allocations = iter(reallocate(ok, options))
        by_cap.append([(b, next(allocations)) if isinstance(b, Instance) else (None, b) for b in built])
    return [by_cap[c][g] for g in range(len(problem.specs)) for c in range(len(problem.caps_pp))]


class WarmStart:
    """The LP backend's warm start (``kernel.LP.warm_start``): one HiGHS model of a cell's merged LP,
    re-solved from the previous basis after the column bounds change (a new cap); each result is
    assembled as ``reallocate``'s, so it equals a fresh run."""

    def __init__(self, options: EngineOptions):
        if not lp_warm_start(options.features):
            raise SolverError("a warm start needs the merged separable LP on HiGHS", fix="report this as a bug")
        self.options = options
        self.model: HighsModel | None = None
        self.first: _Built | None = None

    def reallocate(self, instance: Instance) -> Allocation:
        """The allocation of ``instance`` (the same pairs as the first one; only bounds may differ)."""
        t0 = time.perf_counter()
        lp_inst = lpmod.merge_nonrisk(instance)
        if self.first is None:
            lp = lpmod.build_lp([lp_inst])
            self.first = _Built(lp, [instance], [lp_inst], True, time.perf_counter() - t0)
            self.model = HighsModel(lp, algorithm="simplex", verbose=False, label="warm start")
        else:
            first = self.first.lp_instances[0]
            if not (np.array_equal(lp_inst.pair_exporter, first.pair_exporter)
                    and np.array_equal(lp_inst.pair_product, first.pair_product)):
                raise SolverError("the pairs changed between warm-started solves", fix="report this as a bug")
            self.model.set_col_bounds(np.arange(lp_inst.n_pairs, dtype=np.int32), lp_inst.lower(),
                                      lp_inst.upper_kusd)
        sol = self.model.run()
        raise_for_status(sol.status, what=f"the warm-started LP of {instance.importer}", detail=sol.info.message,
                         fix_infeasible="run the cell on its own (`tradeopt run`) to see the details",
                         fix="run the cell on its own (`tradeopt run`) to see the details")
        sol = replace(sol, info=replace(sol.info, algorithm=f"{sol.info.algorithm} (warm start)"))
        built = replace(self.first, instances=[instance], lp_instances=[lp_inst])
        return _assemble(built, sol, sol.x, self.options, [[]], [[]])[0]


def _solve(lp, instances: list[Instance], options: EngineOptions, build_s: float) -> LPSolution:
    """First stage with the chosen backend; a non-optimal status raises here (exit 3 or 4)."""
    t1 = time.perf_counter()
    if options.backend == "pyomo":
        from optimize.model.algebraic import solve_pyomo

        sol = solve_pyomo(instances, joint=options.joint, exporter_total_pp=options.exporter_total_pp,
                          time_limit_s=options.time_limit_s)
    else:
        sol = solve_highs(lp, algorithm=options.algorithm, time_limit_s=options.time_limit_s, build_s=build_s)
    log.info("solve: %s %s in %.3fs, status %s", sol.info.backend, sol.info.algorithm, time.perf_counter() - t1,
             sol.status.value)
    raise_for_status(sol.status, what=f"the LP over {len(instances)} instance(s)", detail=sol.info.message,
                     fix_infeasible="relax the share limit (cap.share_limit), the exporter total "
                                    "(cap.exporter_total_pp) or bans (ban.products), or run with keep_going "
                                    "(--keep-going)",
                     fix="raise time_limit_s (solver.time_limit_s) or try algorithm='simplex' (solver.algorithm)")
    return sol


def _second_stage(lp, x: np.ndarray, instances: list[Instance], options: EngineOptions) -> np.ndarray:
    sol = tiebreak.second_stage(lp, x, instances, time_limit_s=options.time_limit_s)
    raise_for_status(sol.status, what="the tie-break stage 2 LP", detail=sol.info.message,
                     fix_infeasible="use spread='vertex' for coupled models (report this as a bug)",
                     fix="raise time_limit_s (solver.time_limit_s) or use spread='vertex' for coupled models")
    x2 = sol.x[:lp.n_cols]
    tiebreak.check_rows(lp, x2)
    return x2


def flows_after(inst: Instance, xi: np.ndarray, shortfall: np.ndarray, risk_after: np.ndarray,
                 options: EngineOptions, coupled: bool) -> np.ndarray:
    """(N,) flows after (kUSD) from the LP's pair values and per-product risk totals, by the tie-break rules."""
    if coupled and options.spread == "vertex":
        return xi.copy()
    if coupled or options.spread == "vertex":  # xi in the instance's own pair order (no merged columns)
        return tiebreak.split_risk(inst, risk_after, options.risk_split, options.priority) \
            + np.where(inst.is_risk, 0.0, xi)
    nonrisk_after = np.maximum(inst.total_kusd - shortfall - risk_after, 0.0)
    return tiebreak.distribute(inst, nonrisk_after, risk_after, risk_split=options.risk_split,
                               spread=options.spread, priority=options.priority, prior_lambda=options.prior_lambda)


def cap_marginal(inst: Instance, lp_inst: Instance, rc: np.ndarray, merged: bool) -> np.ndarray:
    """(N,) exposure removed per extra kUSD of cap, from the pair columns' reduced costs."""
    if merged:  # every alternative of a product shares its merged column's reduced cost
        rc_by_product = np.zeros(inst.n_products)
        m = ~lp_inst.is_risk
        rc_by_product[lp_inst.pair_product[m]] = rc[m]
        rc = np.where(inst.is_risk, 0.0, rc_by_product[inst.pair_product])
    marginal = np.where(inst.alternatives() & (inst.cap_kusd > 0), np.maximum(-rc, 0.0), 0.0)
    marginal[np.abs(marginal) < 1e-9] = 0.0
    return marginal
