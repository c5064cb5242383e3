"""Work units of a batch and what they return: tidy row blocks, never files.

A *task* is a set of cells solved together: a ``fast`` task computes every
(importer, cap) of one year, cap basis and risk set with the batched closed form
(``model.batched``); a ``cells`` task runs the pipeline per cell (or one coupled LP
for a joint group). Every task returns a ``Block`` (the per-risk-country rows
and the per-cell rows as DataFrames, plus the report files of ``--full-outputs``
as bytes); only the batch client writes them. A cell's input, infeasibility or
solver error becomes its error row.
"""
from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from optimize.errors import TradeoptError
from optimize.runs.grid import Cell

if TYPE_CHECKING:
    from optimize.runs.result import OutputFiles

#: Columns of the per-risk-country table (``BatchResult.table``, ``batch.csv``).
TABLE_COLUMNS = ("importer", "year", "cap_pp", "cap_basis", "risk_set", "risk", "share_before", "share_after",
                 "before_usd", "after_usd", "shifted_usd", "hhi_before", "hhi_after", "status", "cell_key")
#: Columns of the per-cell table (one row per cell; the ALL-risk figures and the basket total).
CELL_COLUMNS = ("importer", "year", "cap_pp", "cap_basis", "risk_set", "cell_key", "status", "basket_usd",
                "risk_before_usd", "risk_after_usd", "share_before", "share_after", "shifted_usd", "hhi_before",
                "hhi_after", "cost_usd", "cost_pct", "cost_coverage", "n_products", "seconds", "worker")
#: Columns of the cost (USD, % of the basket, share of the shifted value priced): NaN when not priced.
COST_COLUMNS = ("cost_usd", "cost_pct", "cost_coverage")
#: Band columns (``bands.enabled``): per risk row, and per cell (its ALL row's and the cost's).
BAND_RISK_COLUMNS = ("share_after_low", "share_after_high")
BAND_CELL_COLUMNS = ("share_after_low", "share_after_high", "cost_low_usd", "cost_high_usd")
WORKER_ERROR = "error: worker: "  # status prefix of cells whose task failed on the executor (retried on resume)


@dataclass(frozen=True)
class CellOptions:
    """What each cell produces and how it is solved.

    ``outputs``: "tables" (default: rows in the batch dataset only) or "full"
    (also every report file of ``RunResult.write`` per cell). ``joint``: the
    importers of a (year, cap, basis, risk set) group are solved as one coupled
    LP, and each row also carries the stand-alone result. ``fast``: eligible
    scenarios use the batched closed form.
    """

    outputs: str = "tables"
    figures: bool = False
    joint: bool = False
    fast: bool = True


@dataclass(frozen=True)
class Task:
    """Cells solved together; ``task_id`` is unique within a run."""

    task_id: str
    kind: str  # "fast" | "cells"
    year: int
    cells: tuple[Cell, ...]


@dataclass
class Block:
    """What a task returns: ``risk`` rows (TABLE_COLUMNS), ``cells`` rows (CELL_COLUMNS), report files."""

    risk: pd.DataFrame
    cells: pd.DataFrame
    files: dict[str, OutputFiles] = field(default_factory=dict)  # cell key -> its report files, made in memory


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _cells_from_risk(risk: pd.DataFrame, basket: Sequence[float], n_products: Sequence[int],
                     seconds: float, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-cell rows from the ALL rows of ``risk`` (one per cell, in order); ``extra``: per cell (same order)
    its cost columns (``COST_COLUMNS``, NaN when absent) and band columns (``BAND_CELL_COLUMNS``, if any)."""
    a = risk.loc[risk["risk"] == "ALL"].reset_index(drop=True)
    extra = pd.DataFrame(index=a.index) if extra is None else extra.reset_index(drop=True)
    out = a[["importer", "year", "cap_pp", "cap_basis", "risk_set", "cell_key", "status"]].copy()
    out["basket_usd"] = pd.Series(basket, dtype=float).to_numpy()
    out["risk_before_usd"] = a["before_usd"].to_numpy(float)
    out["risk_after_usd"] = a["after_usd"].to_numpy(float)
    for col in ("share_before", "share_after", "shifted_usd", "hhi_before", "hhi_after"):
        out[col] = a[col].to_numpy(float)
    for col in COST_COLUMNS:
        out[col] = extra[col].to_numpy(float) if col in extra else float("nan")
    out["n_products"] = pd.Series(n_products, dtype="int64").to_numpy()
    out["seconds"] = float(seconds) / max(len(out), 1)
    out["worker"] = worker_name()
    bands = [c for c in BAND_CELL_COLUMNS if c in extra]
    for col in bands:
        out[col] = extra[col].to_numpy(float)
    return out[list(CELL_COLUMNS) + bands]


def error_block(cells: Sequence[Cell], message: str) -> Block:
    """One ALL row per cell with NaN values and ``message`` as status."""
    nan = float("nan")
    risk = pd.DataFrame([{"importer": c.importer, "year": c.year, "cap_pp": c.cap_pp, "cap_basis": c.cap_basis,
                          "risk_set": c.risk_label, "risk": "ALL", "share_before": nan, "share_after": nan,
                          "before_usd": nan, "after_usd": nan, "shifted_usd": nan, "hhi_before": nan,
                          "hhi_after": nan, "status": message[:300], "cell_key": c.key} for c in cells],
                        columns=list(TABLE_COLUMNS))
    return Block(risk=risk, cells=_cells_from_risk(risk, [nan] * len(cells), [0] * len(cells), 0.0))


def _error_message(exc: BaseException) -> str:
    return f"error: {type(exc).__name__}: {exc}"


# ------------------------------------------------------------------ fast tasks


def run_fast(year, task: Task) -> Block:
    """Every cell of ``task`` (one year, basis, risk set) by the closed-form backend
    (``analysis.batchcost.fast_cells``: ``kernel.CLOSED_FORM.solve`` -> ``analysis.exposure.cell_metrics``,
    with the CES cost and bands of ``year.cost``); ``year``: the year's ``yeararrays.YearArrays``."""
    from optimize.analysis.batchcost import fast_cells
    from optimize.data.countries import to_iso3

    t0 = time.perf_counter()
    cells, first = task.cells, task.cells[0]
    by_importer = {c.importer: c for c in cells}  # the codes each cell carries from its grid (resolved once there)
    importers = sorted(by_importer)
    risk_codes = list(first.risk_codes)
    codes = [by_importer[imp].importer_codes for imp in importers]
    bad = {imp: c.importer_error for imp, c in by_importer.items() if c.importer_error}
    long, caps_pp = fast_cells(year, codes, risk_codes, first.cap_basis, sorted({c.cap_pp for c in cells}),
                               [str(s) for s in to_iso3(risk_codes)] + ["ALL"])
    # keep the cells asked for (a resumed batch may need only some of the importer x cap product)
    index = {(imp, float(cap_pp)): g * len(caps_pp) + c for g, imp in enumerate(importers)
             for c, cap_pp in enumerate(caps_pp)}
    want = pd.DataFrame({"cell": [index[(c.importer, float(c.cap_pp))] for c in cells],
                         "importer": [c.importer for c in cells], "year": task.year,
                         "cap_pp": [c.cap_pp for c in cells], "cap_basis": first.cap_basis,
                         "risk_set": first.risk_label, "cell_key": [c.key for c in cells],
                         "error": [bad.get(c.importer) or f"error: ScenarioError: {c.importer} imports none of "
                                   f"the requested products in {c.year}" for c in cells]})
    risk = want.merge(long, on="cell", how="left", validate="one_to_many")
    ok = risk["n_products"] > 0
    cell_cols = [c for c in (*COST_COLUMNS, *BAND_CELL_COLUMNS) if c in risk]
    value_cols = ["share_before", "share_after", "before_usd", "after_usd", "shifted_usd", "hhi_before", "hhi_after",
                  *cell_cols]
    risk[value_cols] = risk[value_cols].where(ok)
    risk["status"] = risk["error"].where(~ok, "optimal")
    risk = risk.loc[ok | (risk["risk"] == "ALL")].reset_index(drop=True)  # error cells: one ALL row
    per_cell = risk.loc[risk["risk"] == "ALL"]
    basket = per_cell["basket_usd"].where(per_cell["n_products"] > 0)
    risk = risk[list(TABLE_COLUMNS) + [c for c in BAND_RISK_COLUMNS if c in risk]]
    return Block(risk=risk, cells=_cells_from_risk(risk, basket, per_cell["n_products"], time.perf_counter() - t0,
                                                   per_cell[cell_cols]))


# ------------------------------------------------------------------ pipeline cells


def _cell_rows(cell: Cell, tables, alone=None) -> list[dict]:
    """Result rows of one cell from its ResultTables (exposure per risk country + ALL).

    ``alone``: the stand-alone ResultTables of the same importer (joint mode).
    """
    summary = tables.summary
    from optimize.analysis.batchcost import band_values

    band = band_values(tables)
    alone_after = (dict(zip(alone.exposure["iso3"].astype(str), alone.exposure["share_after"].astype(float),
                            strict=True))
                   if alone is not None else {})
    rows = []
    for rec in tables.exposure.to_dict("records"):
        row = {
            "importer": cell.importer, "year": cell.year, "cap_pp": cell.cap_pp, "cap_basis": cell.cap_basis,
            "risk_set": cell.risk_label, "risk": str(rec["iso3"]),
            "share_before": float(rec["share_before"]), "share_after": float(rec["share_after"]),
            "before_usd": float(rec["before_usd"]), "after_usd": float(rec["after_usd"]),
            "shifted_usd": float(summary["shifted_usd"]),
            "hhi_before": float(summary["hhi_before"]), "hhi_after": float(summary["hhi_after"]),
            "status": str(summary.get("status", "optimal")), "cell_key": cell.key,
        }
        if alone is not None:
            row["share_after_alone"] = alone_after.get(row["risk"], float("nan"))
        row.update(band.get(("exposure_after", row["risk"]), {}))
        rows.append(row)
    return rows


class _Collector:
    """Rows and files of pipeline cells, turned into one Block."""

    def __init__(self):
        self.rows: list[dict] = []
        self.basket: list[float] = []
        self.n_products: list[int] = []
        self.extra: list[dict] = []
        self.files: dict[str, OutputFiles] = {}

    def add(self, cell: Cell, make, options: CellOptions) -> None:
        from optimize.analysis.batchcost import cell_extra

        try:
            rows, result, tables = make()
            if options.outputs == "full" and result is not None:
                self.files[cell.key] = result.render(figures=options.figures)  # in memory; the client writes
            self.rows += rows
            self.basket.append(float(tables.summary["total_usd"]))
            self.n_products.append(int(tables.summary["n_products"]))
            self.extra.append(cell_extra(tables))
        except TradeoptError as exc:
            self.rows += error_block([cell], _error_message(exc)).risk.to_dict("records")
            self.basket.append(float("nan"))
            self.n_products.append(0)
            self.extra.append({})

    def block(self, seconds: float) -> Block:
        extra = [c for c in ("share_after_alone", *BAND_RISK_COLUMNS) if any(c in r for r in self.rows)]
        risk = pd.DataFrame(self.rows, columns=list(TABLE_COLUMNS) + extra)
        return Block(risk=risk, cells=_cells_from_risk(risk, self.basket, self.n_products, seconds,
                                                       pd.DataFrame(self.extra)), files=self.files)


def run_cells(prepared, task: Task, options: CellOptions) -> Block:
    """Each cell through ``pipeline.solve_cell`` (or one joint group)."""
    from optimize.runs import pipeline
    from optimize.runs.bandruns import add_bands

    t0 = time.perf_counter()
    if options.joint:
        return _run_joint_group(prepared, task.cells, options, t0)
    col = _Collector()
    for cell in task.cells:
        def make(cell=cell):
            result = pipeline.solve_cell(prepared, importer=cell.importer, cap_pp=cell.cap_pp,
                                         cap_basis=cell.cap_basis, risk=list(cell.risk_set), known=known_codes(cell))
            if result.scenario.bands.enabled:
                add_bands(prepared, result)
            return _cell_rows(cell, result.tables), result, result.tables
        col.add(cell, make, options)
    return col.block(time.perf_counter() - t0)


def known_codes(cell: Cell) -> dict[str, tuple[int, ...]]:
    """The BACI codes ``cell`` carries from its grid (resolved once there), by scenario key; a key whose
    codes the cell lacks (an unknown importer, a cell made without its grid) is left to ``resolve``."""
    known = {"risk.countries": cell.risk_codes} if cell.risk_codes or not cell.risk_set else {}
    return {**known, "importer.countries": cell.importer_codes} if cell.importer_codes else known


def _reraise(exc: BaseException):
    raise exc


def _run_joint_group(prepared, cells: Sequence[Cell], options: CellOptions, t0: float) -> Block:
    """The importers of ``cells`` (same year, cap, basis, risk set) as one coupled LP (``kernel.LP.solve`` of
    a joint ``Problem``); rows also carry ``share_after_alone`` (the same importer solved on its own)."""
    from optimize.config.resolve import resolve
    from optimize.model.kernel import LP, Problem
    from optimize.runs import pipeline

    scens, col = [], _Collector()
    for cell in cells:
        try:
            scens.append((cell, pipeline.cell_scenario(prepared.scenario, known_codes(cell), importer=cell.importer,
                                                       cap_pp=cell.cap_pp, cap_basis=cell.cap_basis,
                                                       risk=list(cell.risk_set))))
        except TradeoptError as exc:
            col.add(cell, lambda exc=exc: _reraise(exc), options)
    if not scens:
        return col.block(time.perf_counter() - t0)
    rows = pipeline.year_rows(prepared)
    specs = tuple(resolve(scen) for _, scen in scens)
    joint = LP.solve(Problem(specs, (specs[0].cap_pp,), rows, joint=True, totals=False))
    for (cell, scen), spec, part in zip(scens, specs, joint, strict=True):
        def make(cell=cell, scen=scen, spec=spec, solved=part.solved[0]):
            instance, allocation = solved
            if instance is None:
                raise allocation  # the cell's instance could not be built (its error)
            ((alone_inst, alone),) = next(iter(LP.solve(Problem((spec,), (spec.cap_pp,), rows, totals=False)))).solved
            joint_tables = pipeline.cell_tables(prepared, scen, instance, allocation)
            alone_tables = pipeline.cell_tables(prepared, scen, alone_inst, alone)
            return _cell_rows(cell, joint_tables, alone_tables), None, joint_tables
        col.add(cell, make, options)
    return col.block(time.perf_counter() - t0)


def year_cells(grid, year: int, importer_codes) -> list:
    """The cells of ``grid`` in ``year``; the token ``ALL`` stands for every single-country importer with
    flows in that year's selection (``importer_codes``)."""
    from dataclasses import replace

    from optimize.runs.grid import expand_all

    return expand_all(replace(grid, years=(int(year),)), sorted(int(c) for c in importer_codes)).cells()


def importer_codes(prepared) -> list[int]:
    """The BACI codes of the importers with flows in the year's selection of ``prepared``."""
    return sorted(int(c) for c in pd.unique(prepared.flows["j"]))


def join_blocks(blocks: Sequence[Block]) -> Block:
    """One block of ``blocks`` (rows in order; report files merged)."""
    if not blocks:
        return Block(risk=pd.DataFrame(columns=list(TABLE_COLUMNS)), cells=pd.DataFrame(columns=list(CELL_COLUMNS)))
    return Block(risk=pd.concat([b.risk for b in blocks], ignore_index=True),
                 cells=pd.concat([b.cells for b in blocks], ignore_index=True),
                 files={k: v for b in blocks for k, v in b.files.items()})


def task_data(prepared, fast: bool):
    """What a task of the year ``prepared`` (``pipeline.Prepared``) is sent: the ``yeararrays.YearArrays`` of
    its flows for fast tasks, else ``prepared`` without the flows of other years."""
    from dataclasses import replace

    if fast:
        from optimize.model.yeararrays import year_arrays

        year = year_arrays(prepared.flows)
        return replace(year, cost=cost_inputs(prepared, year.hs6))
    return replace(prepared, trade=replace(prepared.trade, flows=prepared.flows.iloc[:0]))


def cost_inputs(prepared, hs6):
    """The fast cells' ``yeararrays.CostInputs`` of the year ``prepared`` (its scenario's sigmas for the codes
    ``hs6``, prior weight, band caps when ``bands.enabled``); None when ``cost.method`` is not ``ces``."""
    from optimize.analysis.sigma import run_sigmas
    from optimize.model.yeararrays import CostInputs

    scen = prepared.scenario
    if scen.cost.method != "ces":
        return None
    sigmas = run_sigmas([str(k) for k in hs6], prepared.hs_revision.code, scen.cost.elasticities)
    caps = tuple(float(c) for c in scen.bands.caps) if scen.bands.enabled else ()
    return CostInputs(sigmas=sigmas.reset_index(drop=True), prior_lambda=float(scen.cost.prior_lambda),
                      band_caps_pp=caps)


def run_task(data, task: Task, options: CellOptions) -> Block:
    """Run one task on ``data`` (the year's ``task_data``)."""
    if task.kind == "fast":
        return run_fast(data, task)
    return run_cells(data, task, options)


#: A fast task's importers are split over the executors only from this many caps on (``make_tasks``).
SPLIT_MIN_CAPS = 4


def make_tasks(todo: Sequence[Cell], options: CellOptions, fast: bool, chunks: int = 1) -> list[Task]:
    """Cells grouped into tasks.

    ``fast``: one task per (year, basis, risk set), all caps inside; split into ``chunks``
    chunks of importers of about equal size only when the group has ``SPLIT_MIN_CAPS``
    caps or more (each chunk repeats the year's per-row work: with few caps that work
    dominates and a split only adds a process). Else one task per cell, or per
    (year, basis, cap, risk set) when joint.
    """
    tasks: list[Task] = []
    if fast:
        groups: dict[tuple, list[Cell]] = {}
        for c in todo:
            groups.setdefault((c.year, c.cap_basis, c.risk_set), []).append(c)
        for (year, basis, rs), cells in sorted(groups.items()):
            imps = sorted({c.importer for c in cells})
            many_caps = len({c.cap_pp for c in cells}) >= SPLIT_MIN_CAPS
            n = max(1, min(int(chunks), len(imps))) if many_caps else 1
            for part in range(n):
                mine = set(imps[part::n])
                sel = tuple(sorted(c for c in cells if c.importer in mine))
                tasks.append(Task(f"{year}-{basis}-{'+'.join(rs)}-f{part}", "fast", int(year), sel))
        return tasks
    if not options.joint:
        return [Task(c.key, "cells", c.year, (c,)) for c in todo]
    jg: dict[tuple, list[Cell]] = {}
    for c in todo:
        jg.setdefault((c.year, c.cap_basis, c.cap_pp, c.risk_set), []).append(c)
    return [Task(f"joint-{g[0].key}", "cells", g[0].year, tuple(sorted(g))) for _, g in sorted(jg.items())]
