"""Batch runs over a grid of cells (importer x year x cap x cap basis x risk set), resumable.

The grid and its parsers are in ``grid``; tasks (groups of cells) and the blocks
of rows they return in ``cells``; the closed-form backend in ``model.batched``; where
tasks run in ``executors``; the folder's lock, content key and Parquet dataset in
``resume``. Only this client process writes into the output folder:

- ``dataset/cells`` and ``dataset/risk``: hive-partitioned (year, cap_basis)
  Parquet tables, appended part by part as tasks finish (the resume record);
- ``batch.csv`` / ``batch.parquet``: the per-risk-country rows of the grid's cells
  (``TABLE_COLUMNS``; shares 0..1, values USD);
- ``cells/<key>/``: every report file of a cell, only with ``outputs="full"``.

A re-run computes only the cells without a finished row of the same content key
(scenario, cell options and data identity).
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from optimize.atomic import (
    atomic_write_bytes,
    check_out_dir,
    claim_dir,
    contained,
    recording,
)
from optimize.config.scenario import Scenario
from optimize.progress import progress_disabled
from optimize.runs import resume
from optimize.runs.cells import (  # noqa: F401  (re-exported)
    BAND_RISK_COLUMNS,
    CELL_COLUMNS,
    TABLE_COLUMNS,
    Block,
    CellOptions,
    Task,
    make_tasks,
    run_task,
    task_data,
)
from optimize.runs.grid import (  # noqa: F401  (re-exported)
    ALL_IMPORTERS,
    CAP_BASES,
    BatchOptions,
    Cell,
    Grid,
    expand_all,
    importer_axis,
    importer_tokens,
    parse_cap_bases,
    parse_caps,
    parse_importers,
    parse_risk_sets,
    parse_years,
    raise_every_absent_year,
    resolve_many,
    risk_axis,
)
from optimize.runs.resume import scenario_hash  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from optimize.runs.result import OutputFiles

log = logging.getLogger(__name__)
#: Everything a batch writes in its folder (``atomic.claim_dir``): tables, data package, dataset, cells; each file
#: is recorded in the folder's manifest as it is written (``atomic.recording``), so only those are tradeopt's.
BATCH_OWNS = ("batch.csv", "batch.parquet", "datapackage.json", "cells/", "dataset/")
#: The ``ownership.run_key`` of a batch folder (a batch resumes or replaces its own results by content key).
BATCH_KEY = "batch"
#: Flush finished rows to a dataset part at least this often (seconds), every this many cells, or every this many
#: cells' full-output folders (each flush: one manifest update for its folders, one for its parts).
FLUSH_S, FLUSH_CELLS, FLUSH_FOLDERS = 5.0, 5000, 32


@dataclass
class BatchResult:
    """The assembled table, and which cells this call computed or found finished."""

    table: pd.DataFrame
    out_dir: Path
    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cells: pd.DataFrame | None = None  # one row per cell (CELL_COLUMNS)
    run_id: str = ""
    synthetic: bool = False  # computed from tradeopt's embedded SYNTHETIC sample


def assemble(risk: pd.DataFrame) -> pd.DataFrame:
    """The per-risk-country table (TABLE_COLUMNS), sorted by the cell axes and risk (ALL last)."""
    extra = [c for c in ("share_after_alone", *BAND_RISK_COLUMNS) if c in risk and risk[c].notna().any()]
    df = risk.reindex(columns=list(TABLE_COLUMNS) + extra)
    if df.empty:
        return df.reset_index(drop=True)
    df["year"] = df["year"].astype("int64")
    df["cap_pp"] = df["cap_pp"].astype(float)
    df["cap_basis"] = df["cap_basis"].astype(str)
    df["_all"] = df["risk"] == "ALL"
    df = df.sort_values(["importer", "year", "cap_basis", "cap_pp", "risk_set", "_all", "risk"], kind="stable")
    return df.drop(columns="_all").reset_index(drop=True)


def prepare_years(scenario, years: Sequence[int], data=None) -> dict:
    """``pipeline.prepare`` once per year (reads and selects the data once, shared by all cells);
    no years = the scenario's year, or the latest year of the data (one read)."""
    from optimize.runs import pipeline

    if not years:
        prepared = pipeline.prepare(scenario, data)
        return {int(prepared.year): prepared}
    return {int(y): pipeline.prepare_year(scenario, y, data) for y in sorted(set(int(y) for y in years))}


def resolve_years(scenario, years: Sequence[int] | None, data=None) -> tuple[int, ...]:
    """The given years, or the scenario's year; () when that is 0 (the latest year of the data, which
    ``run_batch`` learns on its one read of the data). A given year 0 is no year of any data: ``ScenarioError``
    naming the years ``data`` (None: the scenario's) hold (other absent years are refused when read)."""
    if years:
        given = tuple(sorted(set(int(y) for y in years)))
        if 0 in given:
            from optimize.errors import ScenarioError
            from optimize.runs import pipeline

            present = pipeline.data_years(scenario, data)
            raise ScenarioError(f"year 0 is not in the data (years: {present})", field="years",
                                fix=f"give years among {present}, or no years for the latest")
        return given
    return (int(scenario.data.year),) if scenario.data.year else ()


def _task_data(prepared: dict, years: Sequence[int], fast: bool) -> dict:
    """Year -> what the year's tasks are sent (``cells.task_data``), emptying ``prepared`` as it goes so a
    year's full selection is freed once its task data exist."""
    out = {y: task_data(prepared.pop(y), fast) for y in years}
    prepared.clear()
    return out


def _absolute_paths(scenario):
    """Scenario with data and basket paths made absolute (workers may run in another folder)."""
    paths = {"data.baci": scenario.data.baci, "basket.file": scenario.basket.file}
    return scenario.update({key: str(Path(path).expanduser().resolve()) for key, path in paths.items()
                            if path and Path(path).expanduser().exists()}, source=scenario.name)


@contextmanager
def _sigterm_as_interrupt():
    """SIGTERM raises KeyboardInterrupt (like Ctrl-C) while the batch runs, so cleanup runs too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@dataclass(frozen=True)
class _Run:
    """One batch run as the client plans it: what, where, how and under which content key."""

    scenario: Scenario  # data and basket paths absolute (workers may run in another folder)
    grid: Grid
    out: Path
    data: object | None  # in-memory TradeData/DataFrame, or None (the scenario's data path, read where cells run)
    options: CellOptions
    workers: int
    client: object | None  # a distributed.Client, or None (local)
    digest: str  # the content key (``resume.scenario_hash``)
    run_id: str

    @property
    def use_fast(self) -> bool:
        """The closed-form backend runs the cells (``CellOptions.fast``, neither joint nor full outputs)."""
        return self.options.fast and not self.options.joint and self.options.outputs != "full"


@dataclass
class _Plan:
    """The cells of a run (None: known only where the years are read), the ones to run, and the stream of
    ``(task, block, every cell key of the task's year)`` that runs them."""

    cells: list[Cell] | None
    todo: list[Cell] | None
    stream: Iterator[tuple[Task, Block, tuple[str, ...]]]


def _plan(run: _Run, done_by_year: dict[int, frozenset]) -> _Plan:
    """Where the cells run and what they are sent (``executors``): per year on the workers when the
    closed form runs and the workers read the data themselves, else planned here by task."""
    from optimize.runs import executors

    grid, client = run.grid, run.client
    unknown = not grid.years or ALL_IMPORTERS in grid.importers  # the latest year / every importer: known once read
    if run.use_fast and run.data is None and client is not None and unknown:
        # Dask, batched closed form: each worker reads its year (the latest when none is given), learns its
        # importers and runs the year's cells; the client never holds the data
        return _Plan(None, None, executors.iter_dask_years(client, grid, run.scenario, run.options, run.digest,
                                                           run.run_id, done_by_year))
    if run.use_fast and run.data is None and client is None and run.workers > 1 and len(grid.years) > 1:
        # local pool, batched closed form, several years: each worker reads and runs its years
        return _Plan(None, None, executors.iter_local_years(grid, run.scenario, run.options, done_by_year,
                                                            run.workers))
    return _task_plan(run, frozenset().union(*done_by_year.values()))


def _task_plan(run: _Run, done_keys: frozenset) -> _Plan:
    """Cells of the grid (read on this client when the year or the importers are known only from the data),
    the ones to run, grouped into tasks on the executors."""
    from optimize.runs import executors
    from optimize.runs.cells import importer_codes, year_cells

    grid, client, prepared = run.grid, run.client, None
    if not grid.years or ALL_IMPORTERS in grid.importers:
        prepared = prepare_years(run.scenario, grid.years, run.data)
        cells = [c for y in sorted(prepared) for c in year_cells(grid, y, importer_codes(prepared[y]))]
    else:
        cells = grid.cells()
    todo = [c for c in cells if c.key not in done_keys]
    stream = iter(())
    if todo:
        n_exec = len(client.scheduler_info().get("workers", {})) if client is not None else run.workers
        tasks = make_tasks(todo, run.options, run.use_fast, chunks=max(1, n_exec))
        years = sorted({t.year for t in tasks})
        if client is not None:
            scattered = None
            if run.data is not None or prepared is not None:
                # in-memory data, or a year the client read already (every importer / the latest year): each
                # year's task data (the row arrays for fast tasks) once, to one worker, no broadcast; else the
                # workers read the path themselves
                payload = _task_data(prepared or prepare_years(run.scenario, years, run.data), years, run.use_fast)
                scattered = {y: client.scatter(payload.pop(y), hash=False) for y in years}
            stream = executors.iter_dask(client, tasks, run.scenario, run.options, run.digest, run.run_id, scattered)
        else:
            payload = _task_data(prepared or prepare_years(run.scenario, years, run.data), years, run.use_fast)
            stream = executors.iter_local(tasks, payload, run.options, run.workers)
    return _Plan(cells, todo, ((t, b, ()) for t, b in stream))


class _Writer:
    """Buffers blocks and appends them to the dataset (and full-output folders) from the client."""

    def __init__(self, out: Path, digest: str, run_id: str, overwrite: bool = False):
        self.out, self.digest, self.run_id, self.overwrite = out, digest, run_id, overwrite
        self.risk: list[pd.DataFrame] = []
        self.cells: list[pd.DataFrame] = []
        self.files: dict[str, OutputFiles] = {}  # cell key -> its full outputs, made in memory where it ran
        self.n_buffered, self.seq, self.last = 0, 0, time.monotonic()

    def add(self, block: Block) -> None:
        self.files.update(block.files)
        self.risk.append(block.risk)
        self.cells.append(block.cells)
        self.n_buffered += len(block.cells)
        if (len(self.files) >= FLUSH_FOLDERS or self.n_buffered >= FLUSH_CELLS
                or time.monotonic() - self.last >= FLUSH_S):
            self.flush()

    def flush(self) -> None:
        """The buffered cell folders (each written once; one manifest update for all), then the rows' parts:
        a finished row always has its complete folder."""
        if self.files:
            with recording(self.out, {f"cells/{key}/": None for key in self.files}):
                for key, files in self.files.items():
                    files.write(contained(self.out / "cells", key), overwrite=self.overwrite)
        if self.cells:
            resume.write_parts(self.out, {"risk": pd.concat(self.risk, ignore_index=True),
                                          "cells": pd.concat(self.cells, ignore_index=True)},
                               self.digest, self.run_id, self.seq)
            self.seq += 1
        self.risk, self.cells, self.files, self.n_buffered, self.last = [], [], {}, 0, time.monotonic()


def run_batch(scenario, grid: Grid, out_dir: str | os.PathLike, how: BatchOptions | None = None, *,
              data=None) -> BatchResult:
    """Run every cell of ``grid`` not already finished in ``out_dir``, as ``how`` says (None:
    ``BatchOptions()``); write the dataset and ``batch.csv``.

    ``scenario``: the base ``Scenario`` (cells override importer, year, cap and risk
    set). ``data``: a ``TradeData``/DataFrame instead of ``scenario.data.baci``.
    ``out_dir`` must be new, empty or a batch folder of tradeopt (its ``manifest.json``);
    else ``OutputError`` unless ``how.overwrite`` (``atomic.claim_dir``; foreign files never changed).
    """
    from optimize.config.resolve import resolve
    from optimize.errors import DataError
    from optimize.model.kernel import CLOSED_FORM
    from optimize.runs import executors, pipeline

    t_start, how = time.perf_counter(), how or BatchOptions()
    executors.dask_timeout_seconds(how.dask_timeout_s)  # a bad value is refused with or without a Dask address
    check_out_dir(out_dir, overwrite=how.overwrite, run_key=BATCH_KEY)  # refuse before connecting or reading
    # an unreachable scheduler fails before any data are read or folder claimed
    with executors.dask_session(how.dask_address, how.dask_timeout_s, how.quiet, warm=True) as client:
        out = claim_dir(out_dir, owns=BATCH_OWNS, overwrite=how.overwrite, run_key=BATCH_KEY)
        run_id = resume.new_run_id()
        lock = resume.acquire_lock(out, run_id)
        try:
            with _sigterm_as_interrupt():
                options = CellOptions(outputs=how.outputs, figures=how.figures, joint=how.joint,
                                      fast=how.fast and CLOSED_FORM.supports(resolve(scenario).features))
                resume.remove_stale(out)
                run = _make_run(scenario, grid, out, data, how.workers, client, options, run_id)
                try:
                    return _run_locked(run, how.quiet, t_start, how.overwrite)
                except DataError as exc:  # name every absent year of the grid, not only the first one read
                    raise_every_absent_year(exc, run.grid.years, lambda: pipeline.data_years(run.scenario, run.data))
        finally:
            resume.release_lock(lock)


def _make_run(scenario, grid, out, data, workers, client, options, run_id) -> _Run:
    """The ``_Run`` of ``run_batch``'s arguments: a data path goes into the scenario (read where the cells
    run; Dask workers read it themselves), paths made absolute, the content key computed."""
    if isinstance(data, (str, os.PathLike)):
        scenario = scenario.update({"data.baci": str(data)}, source=scenario.name)
        data = None
    scenario = _absolute_paths(scenario)
    return _Run(scenario, grid, out, data, options, workers, client, resume.scenario_hash(scenario, options, data),
                run_id)


def _synthetic(run: _Run) -> bool:
    """In-memory TradeData/frame: its flag; else the scenario's file (none: the embedded synthetic sample)."""
    return bool(getattr(run.data, "synthetic", False)) if run.data is not None else not run.scenario.data.baci


def _write_tables(run: _Run, table: pd.DataFrame) -> pd.DataFrame:
    """``batch.csv``, ``batch.parquet`` and ``datapackage.json`` of the assembled ``table``, made in memory and
    each written once, recorded (size, SHA-256) around the writes (``atomic.recording``); returns ``table``."""
    from optimize.output.datapackage import PACKAGE_FILE, data_provenance, datapackage_text
    from optimize.output.tablefile import table_bytes

    out, scenario, data, synthetic = run.out, run.scenario, run.data, _synthetic(run)
    package = datapackage_text({"batch.csv": table, "batch.parquet": table}, name=f"tradeopt-batch-{scenario.name}",
                               title=f"tradeopt batch of scenario '{scenario.name}'", synthetic=synthetic,
                               about=data_provenance(synthetic=synthetic,
                                                     data_label=getattr(data, "source", None) or scenario.data.baci))
    files = {**dict(zip(("batch.csv", "batch.parquet"), table_bytes(table), strict=True)),
             PACKAGE_FILE: package.encode()}
    with recording(out, files):
        for name, blob in files.items():
            atomic_write_bytes(out / name, blob)
    return table


def _run_locked(run: _Run, quiet: bool, t_start: float, overwrite: bool = False) -> BatchResult:
    """The run inside its locked folder: plan, run, append each block, assemble the tables."""
    out, digest, run_id = run.out, run.digest, run.run_id
    resume.tidy_dataset(out, digest, replace=overwrite)  # another batch's results: only with overwrite
    finished_before = resume.finished(out, digest)
    done_by_year = ({int(y): frozenset(keys) for y, keys in finished_before.groupby("year")["cell_key"]}
                    if len(finished_before) else {})
    done_keys = frozenset().union(*done_by_year.values())
    plan = _plan(run, done_by_year)
    if not quiet:
        log.info("batch %s: %s cells, %d finished before%s (scenario %s%s)", run_id,
                 "?" if plan.cells is None else len(plan.cells), len(done_keys),
                 "" if plan.todo is None else f", {len(plan.todo)} to run", digest,
                 ", batched closed form" if run.use_fast else "")
    computed: list[str] = []
    wanted: set[str] = set() if plan.cells is None else {c.key for c in plan.cells}
    writer = _Writer(out, digest, run_id, overwrite)
    from tqdm import tqdm

    try:
        with tqdm(total=None if plan.todo is None else len(plan.todo), desc="cells", unit="cell",
                  disable=progress_disabled(quiet), dynamic_ncols=True) as bar:
            for task, block, keys in plan.stream:
                wanted.update(keys)
                writer.add(block)
                computed += list(block.cells["cell_key"])
                bar.update(len(block.cells))
                log.info("task %s: %d cells", task.task_id, len(block.cells))
    finally:
        writer.flush()  # what finished is kept, also on Ctrl-C / SIGTERM
    skipped = sorted(done_keys & wanted)
    done = resume.finished(out, digest)
    done = done.loc[done["cell_key"].isin(wanted)].reset_index(drop=True) if len(done) else done
    table = _write_tables(run, assemble(resume.read_risk(out, done)))
    return BatchResult(table=table, out_dir=out, computed=computed, skipped=skipped,
                       seconds=time.perf_counter() - t_start, cells=done, run_id=run_id, synthetic=_synthetic(run))
