"""The run facts of one solved cell (``output.facts.RunFacts``), built once from what the run used."""
from __future__ import annotations

from dataclasses import asdict

from optimize.config.resolve import ModelSpec, resolve
from optimize.config.scenario import Scenario
from optimize.data.trade import SYNTHETIC_LABEL
from optimize.output import manifest as _manifest
from optimize.output.facts import RunFacts


def run_facts(prepared, scen: Scenario, instance, allocation) -> RunFacts:
    """``RunFacts`` of a cell: ``prepared`` (``pipeline.Prepared``), its scenario, instance and allocation."""
    from optimize.data.countries import to_iso3

    trade = prepared.trade
    spec = resolve(scen)
    warnings = own_risk_warnings(spec)
    return RunFacts(
        scenario=scen.name, description=scen.description, scenario_resolved=scen.resolved(),
        scenario_toml=scen.to_toml(), data_label=trade.label(), data_source=trade.source,
        synthetic=bool(trade.synthetic), synthetic_label=SYNTHETIC_LABEL if trade.synthetic else "",
        hs_revision=prepared.hs_revision.code, hs_revision_source=prepared.hs_revision.source,
        code_conversions=[c.as_dict() for c in prepared.conversions], release=trade.release,
        year=prepared.year, year_source="data.year" if scen.data.year else "latest year in the data",
        importer=instance.importer, importer_codes=[int(c) for c in instance.importer_codes],
        importer_iso3=[str(s) for s in to_iso3(list(instance.importer_codes))],
        risk_codes=[int(c) for c in spec.risk_codes], risk_iso3=[str(s) for s in to_iso3(list(spec.risk_codes))],
        friends_iso3=[str(s) for s in to_iso3(list(spec.friends))], cap_pp=spec.cap_pp, cap_basis=spec.cap_basis,
        share_limit=scen.cap.share_limit, backend=spec.backend, solver=asdict(allocation.solver),
        status=getattr(allocation.status, "value", str(allocation.status)),
        infeasible_products=list(allocation.infeasible_products), n_products=len(prepared.products),
        versions=_manifest.versions(), input_hashes=dict(prepared.input_sha256),
        notes=list(prepared.notes) + list(allocation.notes) + warnings, warnings=warnings,
        intra_bloc=spec.intra_bloc, self_supply=spec.self_supply)


def own_risk_warnings(spec: ModelSpec) -> list[str]:
    """Settings that are allowed but probably not meant (in ``meta.warnings``: printed once by the CLI, listed in
    summary.md; not logged too, which printed them twice)."""
    own = sorted(set(spec.importer_codes) & set(spec.risk_codes))
    if not own:
        return []
    from optimize.data.countries import to_iso3

    names = ", ".join(str(s) for s in to_iso3(own))
    text = (f"the importer is in its own risk set ({names}): risk countries {names} are also the importer, and "
            "imports from oneself do not exist, so their share is 0; remove them from risk.countries (--risk) "
            "unless this is meant")
    return [text]
