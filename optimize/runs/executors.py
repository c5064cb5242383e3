"""Where batch tasks run: inline, a local process pool, or a dask.distributed cluster.

Every executor yields ``(task, Block)`` pairs to the client, which alone writes outputs. Local pool
workers die with the batch (``prctl(PR_SET_PDEATHSIG)`` on Linux, plus a parent-pid watchdog elsewhere).
On Dask, workers read their year themselves from the scenario's data path (resolved on the client; it must
be readable by every worker: a shared or copied read-only folder) and keep it per process; in-memory data
are scattered once per year to one worker (no broadcast). Task keys carry the run id; lost workers are
retried (``retries``); a task that still fails becomes error rows for its cells.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import closing, contextmanager

from optimize.errors import InputError
from optimize.runs.cells import (
    WORKER_ERROR,
    Block,
    CellOptions,
    Task,
    error_block,
    importer_codes,
    join_blocks,
    make_tasks,
    run_task,
    task_data,
    year_cells,
)

log = logging.getLogger(__name__)

#: Seconds to wait for a Dask scheduler before giving up (``--dask-timeout``), and the longest accepted (a day).
DASK_TIMEOUT_S, MAX_DASK_TIMEOUT_S = 10.0, 86400.0
DASK_RETRIES = 2

# ------------------------------------------------------------------ local pool

_WORKER_DATA: dict = {}


def die_with_parent() -> None:
    """Make this process get SIGKILL when its parent dies (Linux prctl), else watch the parent pid."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch():
        import time

        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="tradeopt-parent-watch", daemon=True).start()


def _init_worker(data_by_year: dict) -> None:
    """Pool initializer: die with the batch; the per-year task data (inherited under fork); one thread each."""
    global _WORKER_DATA
    die_with_parent()
    _WORKER_DATA = data_by_year
    # One process per core: BLAS and Arrow thread pools in every worker would oversubscribe the
    # cores (idle OpenBLAS threads spin). (Dask's nanny sets the same limits.)
    import pyarrow as pa
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    pa.set_cpu_count(1)


def _pool_task(task: Task, options: CellOptions) -> Block:
    return run_task(_WORKER_DATA[task.year], task, options)


def _pool(workers: int, data_by_year: dict) -> ProcessPoolExecutor:
    import multiprocessing as mp

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(data_by_year,))


def _drain(pool: ProcessPoolExecutor, pending: dict) -> Iterator[tuple]:
    """``(label, result)`` of the ``pending`` futures (future -> label) as they finish; on an error or an
    interrupt (Ctrl-C, SIGTERM) the workers end at once, without waiting for running tasks."""
    try:
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield pending.pop(fut), fut.result()
    except BaseException:
        for fut in list(pending):
            fut.cancel()
        procs = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.kill()
        for p in procs:
            p.join(timeout=5)
        raise
    pool.shutdown(wait=True)


def iter_local(tasks: Sequence[Task], data_by_year: dict, options: CellOptions,
               workers: int) -> Iterator[tuple[Task, Block]]:
    """Tasks inline (``workers`` <= 1) or on a forked process pool; ``data_by_year``: ``cells.task_data``."""
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield task, run_task(data_by_year[task.year], task, options)
        return
    pool = _pool(workers, data_by_year)
    yield from _drain(pool, {pool.submit(_pool_task, t, options): t for t in tasks})


def run_year(scenario, year: int, grid, options: CellOptions, done: frozenset) -> tuple:
    """Read ``year`` here (0: the data's latest year), expand ``grid``'s importers with the year's data
    (``cells.year_cells``) and run its cells not in ``done`` by the batched closed form, one task per
    (basis, risk set). Returns (year, every cell key of the year, the block). Runs on a pool or Dask worker."""
    from optimize.runs import pipeline

    _YEAR_CACHE.clear()
    prepared = pipeline.prepare_year(scenario, year)
    got = int(prepared.year)
    cells = year_cells(grid, got, importer_codes(prepared))
    todo = [c for c in cells if c.key not in done]
    data = task_data(prepared, True) if todo else None
    del prepared  # a fast task keeps only the year's row arrays
    block = join_blocks([run_task(data, t, options) for t in make_tasks(todo, options, True)])
    return got, tuple(c.key for c in cells), block


def _pool_year(year: int, grid, options: CellOptions, done: frozenset) -> tuple:
    return run_year(_WORKER_DATA["scenario"], year, grid, options, done)


def _year_jobs(grid, done: dict[int, frozenset]) -> list[tuple[int, str, frozenset]]:
    """(year or 0 for the latest, label, its finished cell keys) per year task; ``done``: year -> cell keys."""
    return [(int(y), f"year-{y or 'latest'}", done.get(int(y), frozenset()) if y else frozenset().union(*done.values()))
            for y in grid.years or (0,)]


def iter_local_years(grid, scenario, options: CellOptions, done: dict[int, frozenset],
                     workers: int) -> Iterator[tuple[Task, Block, tuple]]:
    """``grid`` by year on a local pool, each worker reading its years (``run_year``); inline with one
    worker or one year. ``done``: year -> finished cell keys. Yields ``(task, block, every cell key of
    the year)``."""
    jobs = _year_jobs(grid, done)
    if workers <= 1 or len(jobs) <= 1:
        for year, label, mine in jobs:
            got, keys, block = run_year(scenario, year, grid, options, mine)
            yield Task(label, "year", got, ()), block, keys
        return
    pool = _pool(workers, {"scenario": scenario})  # inherited under fork (a scenario does not pickle)
    pending = {pool.submit(_pool_year, year, grid, options, mine): label for year, label, mine in jobs}
    for label, (got, keys, block) in _drain(pool, pending):
        yield Task(label, "year", got, ()), block, keys


# ------------------------------------------------------------------ dask


@contextmanager
def _adaptive_malloc():
    """Workers started inside get ``MALLOC_TRIM_THRESHOLD_`` only if the user's environment had it.

    Dask's nanny sets it to 65536 by default, which also fixes glibc's mmap threshold: every large
    array is then mapped and unmapped anew (page faults); a year's work ran 10-25 % slower in such
    a worker (docs/batch.md). The nanny also writes it into this process's ``os.environ``, so a
    cluster started earlier here would pass it on: the user's value is put back while workers start."""
    import dask

    from optimize.runs import USER_MALLOC_TRIM

    key = "MALLOC_TRIM_THRESHOLD_"
    saved = os.environ.get(key)
    _put_env(key, USER_MALLOC_TRIM)
    try:
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{key}": None}):
            yield
    finally:
        _put_env(key, saved)


def _put_env(key: str, value: str | None) -> None:
    """Set ``os.environ[key]``, or unset it for None."""
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


def dask_timeout_seconds(value) -> float:
    """``--dask-timeout`` / ``dask_timeout`` (s): None -> ``DASK_TIMEOUT_S``; else in (0, ``MAX_DASK_TIMEOUT_S``]."""
    from optimize.args import seconds

    return seconds(value, "--dask-timeout", DASK_TIMEOUT_S, MAX_DASK_TIMEOUT_S)


def connect_dask(spec, timeout_s: float | None = None, quiet: bool = False):
    """A ``distributed.Client`` for ``spec``: ``local`` / ``local:N`` starts a LocalCluster of N
    single-thread worker processes (default 2); an address connects within ``timeout_s`` seconds
    (``dask_timeout_seconds``: None = ``DASK_TIMEOUT_S``).

    No scheduler answering there is an ``InputError`` (exit 2) after at most ``timeout_s`` + 1 s.
    Returns ``(client, owned)``: ``owned`` = this call made the client (and cluster); the caller closes it.
    """
    if hasattr(spec, "submit"):
        return spec, False
    seconds = dask_timeout_seconds(timeout_s)
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # distributed is an optional extra
        from optimize.errors import missing_extra

        raise missing_extra("dask", "running on a dask cluster (--dask)", exc) from exc
    text = str(spec).strip()
    if text == "local" or text.startswith("local:"):
        n_text = text.partition(":")[2] or "2"
        if not n_text.isdigit() or int(n_text) < 1:
            raise InputError(f"--dask {text!r}: the worker count must be a positive integer", field="--dask",
                             fix="write local or local:N, e.g. local:2")
        with _adaptive_malloc():
            cluster = LocalCluster(n_workers=int(n_text), threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
        client = Client(cluster)
        client._tradeopt_cluster = cluster  # closed with the client by ``close_dask``
    else:
        client = _client_within(Client, text, seconds)
    if not quiet:
        link = getattr(client, "dashboard_link", None)
        print(f"Dask dashboard: {link}" if link else "Dask: no dashboard", file=sys.stderr, flush=True)
    return client, True


def _client_within(client_type, address: str, seconds: float):
    """``client_type(address)`` made in a helper thread, given up after ``seconds`` (+1 s grace) whatever
    answers on the port (distributed's own timeout does not cover a server that accepts and never speaks
    its protocol). A client that connects after the deadline is closed by the helper thread."""
    box: dict = {}
    gave_up = threading.Event()

    def connect() -> None:
        try:
            client = client_type(address, timeout=f"{seconds}s")
        except BaseException as exc:  # noqa: BLE001  (reported by the caller, or dropped after giving up)
            box["error"] = exc
            return
        if gave_up.is_set():
            client.close()
        box["client"] = client

    helper = threading.Thread(target=connect, name="tradeopt-dask-connect", daemon=True)
    helper.start()
    helper.join(seconds + 1.0)
    if "client" in box:
        return box["client"]
    gave_up.set()
    exc = box.get("error")
    why = f"{type(exc).__name__}: {str(exc)[:200]}" if exc is not None else "no Dask answer"
    raise InputError(f"cannot reach the Dask scheduler at {address!r} within {seconds:g} s ({why})", field="--dask",
                     fix="start it with `dask scheduler`, check the address (tcp://HOST:8786), that nothing else "
                         "listens on that port, and the firewall, or raise --dask-timeout") from None


def _import_work_modules() -> None:
    """On a worker: import what a task needs (pandas, Arrow, the model), so the first task does not."""
    import pyarrow.dataset  # noqa: F401

    import optimize.data.baci  # noqa: F401
    import optimize.data.filters  # noqa: F401
    import optimize.model.batched  # noqa: F401
    import optimize.runs.cells  # noqa: F401
    import optimize.runs.pipeline  # noqa: F401


def warm_workers(client) -> None:
    """Start the imports of every worker now, without waiting: one fire-and-forget task pinned to each
    worker, so they overlap the client's read of the data (``client.run(..., wait=False)`` accepts only
    coroutines: it made every worker log a traceback)."""
    from distributed import fire_and_forget

    try:
        for address in client.scheduler_info().get("workers", {}):
            fire_and_forget(client.submit(_import_work_modules, pure=False, workers=[address],
                                          allow_other_workers=False, key=f"tradeopt-warm-{address}"))
    except Exception as exc:  # noqa: BLE001  (an optimisation only: a task imports what it needs anyway)
        log.debug("could not warm the Dask workers: %s", exc)


def close_dask(client) -> None:
    cluster = getattr(client, "_tradeopt_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


@contextmanager
def dask_session(spec, timeout_s: float | None = None, quiet: bool = False, warm: bool = False) -> Iterator:
    """``connect_dask(spec, timeout_s, quiet)`` for the block (None without ``spec``; ``warm``: ``warm_workers``),
    closed after it when this call made it (``close_dask``): the one way batch and trend connect to Dask."""
    dask_timeout_seconds(timeout_s)  # a bad value is refused with or without a Dask address
    client, owned = connect_dask(spec, timeout_s, quiet) if spec is not None else (None, False)
    if warm and client is not None:
        warm_workers(client)
    try:
        yield client
    finally:
        if owned:
            close_dask(client)


_YEAR_CACHE: dict = {}


def _dask_task(scenario, year: int, task: Task, options: CellOptions, digest: str, data=None) -> Block:
    """On a worker: the year's task data (scattered, or read here once per process and digest), then the task."""
    if data is None:
        key = (digest, int(year), task.kind)
        data = _YEAR_CACHE.get(key)
        if data is None:
            from optimize.runs import pipeline

            _YEAR_CACHE.clear()  # one year at a time per worker process: memory independent of the grid
            data = task_data(pipeline.prepare_year(scenario, year), task.kind == "fast")
            _YEAR_CACHE[key] = data
    return run_task(data, task, options)


def iter_dask(client, tasks: Sequence[Task], scenario, options: CellOptions, digest: str, run_id: str,
              scattered: dict | None = None, retries: int = DASK_RETRIES) -> Iterator[tuple[Task, Block]]:
    """Submit every task (keys ``tradeopt-<run id>-<task id>``), yield results as they finish.

    ``scattered``: year -> a future of that year's data (in-memory data); else workers read.
    """
    futures = {client.submit(_dask_task, scenario, t.year, t, options, digest, (scattered or {}).get(t.year),
                             key=f"tradeopt-{run_id}-{t.task_id}", pure=False, retries=retries): t for t in tasks}
    with closing(_as_finished(client, futures)) as finished:
        for task, fut in finished:
            try:
                block = fut.result()
            except Exception as exc:  # a lost worker after the retries, or a bug in the task  # noqa: BLE001
                log.warning("task %s failed on the cluster: %s", task.task_id, exc)
                block = error_block(task.cells, f"{WORKER_ERROR}{type(exc).__name__}: {exc}")
            yield task, block


def _as_finished(client, futures: dict) -> Iterator[tuple]:
    """(what each of ``futures`` was submitted for, the future) as they finish; those not finished are
    cancelled on the cluster when the caller stops early (an error, a break, the generator closed)."""
    from distributed import as_completed

    try:
        for fut in as_completed(list(futures)):
            yield futures.pop(fut), fut
    finally:
        if futures:
            client.cancel(list(futures))


def iter_dask_years(client, grid, scenario, options: CellOptions, digest: str, run_id: str,
                    done: dict[int, frozenset], retries: int = DASK_RETRIES) -> Iterator[tuple[Task, Block, tuple]]:
    """``grid`` by year on the cluster when its year or importers are known only from the data: one task per
    year (or one for the latest year) that reads, expands and runs the year on a worker. Yields
    ``(task, block, every cell key of the year)``; a year that fails after the retries is an error."""
    from optimize.errors import TradeoptError

    futures = {client.submit(run_year, scenario, year, grid, options, mine, key=f"tradeopt-{run_id}-{label}-{digest}",
                             pure=False, retries=retries): label for year, label, mine in _year_jobs(grid, done)}
    with closing(_as_finished(client, futures)) as finished:
        for label, fut in finished:
            try:
                year, keys, block = fut.result()
            except TradeoptError:
                raise
            except Exception as exc:  # noqa: BLE001  (lost workers after the retries: the cells are unknown)
                raise TradeoptError(f"{label} failed on the cluster: {type(exc).__name__}: {exc}",
                                    fix="re-run the batch: finished cells are kept and only the rest run") from exc
            yield Task(label, "year", year, ()), block, keys
