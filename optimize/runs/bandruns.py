"""Low / central / high bands of a run (``bands.enabled``; docs/cost.md "Bands"): the run re-solved at each
other cap of ``bands.caps``, each variant's headline taken from its solve alone (no result tables)."""
from __future__ import annotations

from optimize.errors import InfeasibleError, SolverError
from optimize.runs.pipeline import Prepared, solve_allocation, solve_cell
from optimize.runs.result import RunResult


def _variant_headline(prepared: Prepared, cap_pp: float, sigmas) -> dict:
    """The headline figures of ``prepared``'s scenario re-solved at ``cap_pp``: from the solve alone
    (``bands.solved_headline``) for the CES cost, from the cell's tables for the unit-value cost.
    ``sigmas``: the central run's (``sigma.run_sigmas``), used when the products are the same."""
    from optimize.analysis import bands
    from optimize.analysis.sigma import run_sigmas

    scen = prepared.scenario
    if scen.cost.method != "ces":
        return bands.headline(solve_cell(prepared, cap_pp=cap_pp).tables)
    _, instance, allocation = solve_allocation(prepared, cap_pp=cap_pp)
    if list(sigmas["k"]) != [str(k) for k in instance.products]:
        sigmas = run_sigmas(instance.products, prepared.hs_revision.code, scen.cost.elasticities)
    return bands.solved_headline(instance, allocation.x_after_kusd, prepared.countries, sigmas,
                                 scen.cost.prior_lambda)


def add_bands(prepared: Prepared, result: RunResult) -> None:
    """Re-solve ``result``'s scenario at each other cap of ``bands.caps`` and put the bands of its
    headlines into ``result.tables`` (``bands`` table, ``bands_block``; ``optimize.analysis.bands``)."""
    from dataclasses import replace as dc_replace

    from optimize.analysis import bands
    from optimize.analysis.armington import PRIOR_LAMBDA_BAND
    from optimize.analysis.sigma import run_sigmas

    scen = result.scenario
    base = dc_replace(prepared, scenario=scen)
    sigmas = run_sigmas(result.instance.products, prepared.hs_revision.code, scen.cost.elasticities)
    variants, notes = [], []
    for cap in sorted(set(float(c) for c in scen.bands.caps) - {float(scen.cap.pp)}):
        try:
            variants.append(_variant_headline(base, cap, sigmas))
        except (InfeasibleError, SolverError) as exc:  # a band end that cannot be solved is named, not hidden
            notes.append(f"bands: cap {cap:g} pp not solved ({exc.message})")
    table = bands.band_table(bands.headline(result.tables), variants)
    result.tables.bands = table
    result.tables.bands_block = bands.band_block(table, scen.bands.caps,
                                                 [PRIOR_LAMBDA_BAND[0], scen.cost.prior_lambda, PRIOR_LAMBDA_BAND[1]])
    result.meta = dc_replace(result.meta, notes=[*result.meta.notes, *notes])
