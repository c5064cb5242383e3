"""The exposure LP written algebraically in Pyomo and solved with HiGHS (appsi_highs).

This is the cross-check of ``lp.build_lp``: it is built from the Instance(s),
not from ``LPArrays``. ``solve_pyomo`` returns an ``LPSolution`` whose x and
reduced costs follow ``build_lp``'s column order (every instance's pairs, then
the shortfall columns in instance/product order), so the engine treats both
backends alike. Row duals are not returned (None).
"""
from __future__ import annotations

import logging
import time
from collections import defaultdict

import numpy as np
import pyomo.environ as pyo

from optimize.model.instance import Instance
from optimize.model.lp import SHORTFALL_PENALTY
from optimize.solve.status import LPSolution, SolverInfo, Status

log = logging.getLogger("tradeopt.solve")


def build_pyomo(instances: list[Instance], *, joint: bool = False,
                exporter_total_pp: float | None = None) -> pyo.ConcreteModel:
    """Sets: pairs (i, n), products (i, p); x[i,n] flows, u[i,p] shortfall (kUSD)."""
    m = pyo.ConcreteModel("tradeopt")
    pairs = [(i, n) for i, inst in enumerate(instances) for n in range(inst.n_pairs)]
    short = [(i, int(p)) for i, inst in enumerate(instances) if inst.shortfall_allowed is not None
             for p in np.flatnonzero(inst.shortfall_allowed)]
    prods = [(i, p) for i, inst in enumerate(instances) for p in range(inst.n_products)]
    m.PAIRS = pyo.Set(initialize=pairs, dimen=2, ordered=True)
    m.SHORT = pyo.Set(initialize=short, dimen=2, ordered=True)
    m.PRODUCTS = pyo.Set(initialize=prods, dimen=2, ordered=True)

    def bounds(_m, i, n):
        inst = instances[i]
        return float(inst.lower()[n]), float(inst.upper_kusd[n])

    m.x = pyo.Var(m.PAIRS, bounds=bounds)
    m.u = pyo.Var(m.SHORT, bounds=lambda _m, i, p: (0.0, float(instances[i].total_kusd[p])))

    members = defaultdict(list)
    for i, n in pairs:
        members[(i, int(instances[i].pair_product[n]))].append(n)

    def total_rule(_m, i, p):
        lhs = sum(_m.x[i, n] for n in members[(i, p)])
        if (i, p) in _m.SHORT:
            lhs = lhs + _m.u[i, p]
        return lhs == float(instances[i].total_kusd[p])

    m.total = pyo.Constraint(m.PRODUCTS, rule=total_rule)

    max_w = max(float(inst.risk_weight.max(initial=0.0)) for inst in instances)
    penalty = SHORTFALL_PENALTY * max(max_w, 1.0)
    m.exposure = pyo.Objective(
        expr=sum(float(instances[i].risk_weight[n]) * m.x[i, n] for i, n in pairs if instances[i].is_risk[n])
        + penalty * sum(m.u[i, p] for i, p in short),
        sense=pyo.minimize,
    )

    growers = [(i, n) for i, n in pairs
               if instances[i].alternatives()[n] and instances[i].cap_kusd[n] > 0]

    def extra(i, n):
        return m.x[i, n] - float(instances[i].x0_kusd[n])

    if joint:
        by_key = defaultdict(list)
        for i, n in ((i, n) for i, n in pairs if instances[i].alternatives()[n]):
            inst = instances[i]
            by_key[(str(inst.products[inst.pair_product[n]]), int(inst.pair_exporter[n]))].append((i, n))
        keys = sorted(by_key)
        m.JOINT = pyo.Set(initialize=range(len(keys)))
        m.joint_cap = pyo.Constraint(m.JOINT, rule=lambda _m, g: sum(extra(i, n) for i, n in by_key[keys[g]])
                                     <= min(float(instances[i].cap_kusd[n]) for i, n in by_key[keys[g]]))
    if exporter_total_pp is not None:
        by_exp = defaultdict(list)
        world = defaultdict(dict)
        for i, n in growers:
            inst = instances[i]
            key = int(inst.pair_exporter[n]) if joint else (i, int(inst.pair_exporter[n]))
            by_exp[key].append((i, n))
            world[key][str(inst.products[inst.pair_product[n]])] = float(inst.world_exports_kusd[n])
        ekeys = sorted(by_exp)
        m.EXPORTERS = pyo.Set(initialize=range(len(ekeys)))
        m.exporter_total = pyo.Constraint(
            m.EXPORTERS, rule=lambda _m, g: sum(extra(i, n) for i, n in by_exp[ekeys[g]])
            <= float(exporter_total_pp) / 100.0 * sum(world[ekeys[g]].values()))
    return m


def solve_pyomo(instances: list[Instance], *, joint: bool = False, exporter_total_pp: float | None = None,
                time_limit_s: float | None = None) -> LPSolution:
    """Build and solve the Pyomo model; x in ``build_lp`` column order."""
    t0 = time.perf_counter()
    m = build_pyomo(instances, joint=joint, exporter_total_pp=exporter_total_pp)
    build_s = time.perf_counter() - t0
    from pyomo.contrib.appsi.solvers import Highs

    opt = Highs()  # the appsi interface (SolverFactory("appsi_highs") wraps it in legacy results)
    if time_limit_s is not None:
        opt.config.time_limit = float(time_limit_s)
    opt.config.stream_solver = log.isEnabledFor(logging.DEBUG)
    opt.config.load_solution = False
    t1 = time.perf_counter()
    res = opt.solve(m)
    solve_s = time.perf_counter() - t1
    tc = res.termination_condition
    from pyomo.contrib.appsi.base import TerminationCondition as TC

    status = {TC.optimal: Status.OPTIMAL, TC.infeasible: Status.INFEASIBLE,
              TC.infeasibleOrUnbounded: Status.INFEASIBLE_OR_UNBOUNDED, TC.unbounded: Status.UNBOUNDED,
              TC.maxTimeLimit: Status.TIME_LIMIT, TC.maxIterations: Status.ITERATION_LIMIT}.get(tc, Status.ERROR)
    from optimize.solve.highs import highs_version

    info = SolverInfo(backend="pyomo", algorithm="highs via pyomo appsi", build_s=build_s, solve_s=solve_s,
                      solver_version=f"pyomo {_pyomo_version()}; {highs_version()}",
                      message=str(tc))
    log.info("pyomo: built in %.3fs, solved in %.3fs, %s", build_s, solve_s, tc)
    if not status.is_ok:
        return LPSolution(status=status, info=info)
    res.solution_loader.load_vars()
    info.objective = float(pyo.value(m.exposure))
    rc = res.solution_loader.get_reduced_costs()
    order = list(m.x.values()) + [m.u[i, p] for i, p in m.SHORT]
    x = np.array([v.value for v in order], dtype=float)
    col_duals = np.array([rc.get(v, 0.0) for v in order], dtype=float)
    return LPSolution(status=status, info=info, x=x, col_duals=col_duals, row_duals=None)


def _pyomo_version() -> str:
    from pyomo.version import version

    return str(version)
