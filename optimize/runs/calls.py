"""The planners across years (trend, backtest) on batch's executors: one task per year, each a whole
call ``fn(scenario, data, *job)`` that reads its year where it runs and returns what the planner keeps.

Inline with one worker or one job; on batch's local process pool (``executors._pool``: forked workers,
one thread each, that inherit the scenario and the data and die with this process) with ``workers`` > 1;
on a Dask cluster with ``client`` (keys ``tradeopt-<label>-<run id>-<n>``, retried as batch's tasks; a
data path is read by the workers themselves, in-memory data are scattered once). Results are yielded as
the tasks finish; an error or an interrupt ends the other tasks.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path


def calls_as_done(fn: Callable, scen, data, jobs: Sequence[tuple], workers: int = 1, client=None,
                  label: str = "call") -> Iterator:
    """``fn(scen, data, *job)`` of each of ``jobs``, yielded as they finish (see the module docstring)."""
    if client is not None:
        yield from _on_dask(fn, scen, data, jobs, client, label)
    elif workers > 1 and len(jobs) > 1:
        from optimize.runs.executors import _drain, _pool

        pool = _pool(min(int(workers), len(jobs)), {"calls": (fn, scen, data)})
        yield from (got for _, got in _drain(pool, {pool.submit(_pool_call, tuple(job)): i
                                                    for i, job in enumerate(jobs)}))
    else:
        yield from (fn(scen, data, *job) for job in jobs)


def _pool_call(job: tuple):
    """A pool task: the call the pool's workers inherited, on ``job``."""
    from optimize.runs import executors

    fn, scen, data = executors._WORKER_DATA["calls"]
    return fn(scen, data, *job)


def _on_dask(fn: Callable, scen, data, jobs: Sequence[tuple], client, label: str) -> Iterator:
    import uuid

    from optimize.runs.executors import DASK_RETRIES, _as_finished

    sent = data if isinstance(data, (str, Path)) or data is None else client.scatter(data, broadcast=False)
    run_id = uuid.uuid4().hex[:8]
    futures = {client.submit(fn, scen, sent, *job, key=f"tradeopt-{label}-{run_id}-{i}", pure=False,
                             retries=DASK_RETRIES): i for i, job in enumerate(jobs)}
    with closing(_as_finished(client, futures)) as finished:  # as batch's iter_dask: cancel the rest at once
        yield from (fut.result() for _, fut in finished)
