"""The run figures drawn in a separate process while the parent writes the tables (issue #27).

A process of its own (a fresh interpreter started with ``subprocess``, running this module:
it never re-imports the caller's ``__main__`` as multiprocessing's spawn would), never a thread:
a SIGTERM or Ctrl-C in the parent raises there at once, and leaving the ``with`` block ends the
child (terminate, then kill) before the atomic output folder it draws into is removed. The child
imports matplotlib as it starts, then waits for its one job on a pipe, so `tradeopt run` starts
it first (``prestart``) and those imports overlap the read and the solve. Without a prestarted
child (the Python API) the figures are drawn in-process, as before. Either way the files are
``plots.plot_all``'s (the same PNG bytes).
"""
from __future__ import annotations

import atexit
import dataclasses
import os
import signal
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path

#: Seconds the child gets to end after SIGTERM before it is killed.
_END_TIMEOUT_S = 5.0
_prestarted: FigureProcess | None = None


def _serve(job_fd: int, result_fd: int) -> None:
    """Child: import the plotting code, draw the one job received; sends ("ok", [paths]) or ("error", exc)."""
    jobs, results = Connection(job_fd, writable=False), Connection(result_fd, readable=False)
    from optimize.output.plots import plot_all

    try:
        tables, fig_dir, synthetic, subtitle = jobs.recv()
    except EOFError:
        return  # the parent ended (or needed no figures): nothing to draw
    try:
        results.send(("ok", [str(p) for p in plot_all(tables, Path(fig_dir), synthetic=synthetic,
                                                        subtitle=subtitle)]))
    except Exception as exc:  # handed to the parent, which raises it as if drawn in-process
        try:
            results.send(("error", exc))
        except Exception:  # an exception that does not pickle: its type and text
            results.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


class FigureProcess:
    """``with FigureProcess() as fp: fp.draw(...); ...; paths = fp.result()``; leaving the block ends the child."""

    def __init__(self) -> None:
        self._job: tuple | None = None  # set by draw, before anything is sent: result() may draw it here
        self._finished = False
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None  # inherited: Ctrl-C reaches
        try:  # the whole group, and the parent ends this child itself (a KeyboardInterrupt here only adds noise)
            self._proc = subprocess.Popen([sys.executable, "-m", "optimize.output.figproc", str(job_r), str(res_w)],
                                          pass_fds=(job_r, res_w), env=env, stdin=subprocess.DEVNULL)
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
            os.close(job_r)
            os.close(res_w)
        self._jobs, self._results = Connection(job_w, readable=False), Connection(res_r, writable=False)

    def __enter__(self) -> FigureProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def alive(self) -> bool:
        return self._proc.poll() is None and not self._jobs.closed

    def draw(self, tables, fig_dir: Path, *, synthetic: bool, subtitle: str) -> None:
        """Start drawing ``plots.plot_all(tables, fig_dir, ...)`` in the child."""
        self._job = (tables, str(fig_dir), synthetic, subtitle)
        try:  # only the tables the figures draw: not the flows, products and concentration (most of the bytes)
            self._jobs.send((_figure_tables(tables), str(fig_dir), synthetic, subtitle))
        except OSError:  # the child is gone: result() draws in-process
            pass

    def result(self) -> list[Path]:
        """The figure paths once drawn; the child's exception when it failed (drawn here when it is gone)."""
        try:
            kind, payload = self._results.recv()
        except (EOFError, OSError):
            self.close()
            return draw_here(*_given(self._job))
        self._finished = True
        self.close()
        if kind == "error":
            raise payload
        return [Path(p) for p in payload]

    def close(self) -> None:
        """Wait for a child that sent its result to exit; end one that still works (SIGTERM, then SIGKILL)."""
        self._jobs.close()
        self._results.close()
        if self._finished:
            try:
                self._proc.wait(_END_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(_END_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


class InProcess:
    """The same interface, drawing in this process when ``result`` is called (no prestarted child)."""

    def __init__(self) -> None:
        self._job: tuple | None = None

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def draw(self, tables, fig_dir: Path, *, synthetic: bool, subtitle: str) -> None:
        self._job = (tables, str(fig_dir), synthetic, subtitle)

    def result(self) -> list[Path]:
        return draw_here(*_given(self._job))


def _given(job: tuple | None) -> tuple:
    if job is None:
        raise RuntimeError("figures: result() was asked before draw() (a bug in tradeopt)")
    return job


#: The tables ``plots.plot_all`` reads; the rest of a ``ResultTables`` is not sent to the figure process.
FIGURE_TABLES = frozenset({"exposure", "beneficiaries", "by_sector", "by_stage", "summary", "bands"})


def _figure_tables(tables):
    """``tables`` with only ``FIGURE_TABLES`` (the others None) when it is a dataclass: what the child unpickles
    is a few small frames, not the products, concentration and flows tables."""
    if not dataclasses.is_dataclass(tables):
        return tables
    return dataclasses.replace(tables, **{f.name: None for f in dataclasses.fields(tables)
                                          if f.name not in FIGURE_TABLES and f.init})


def draw_here(tables, fig_dir, synthetic: bool, subtitle: str) -> list[Path]:
    """``plots.plot_all`` in this process."""
    from optimize.output.plots import plot_all

    return plot_all(tables, Path(fig_dir), synthetic=synthetic, subtitle=subtitle)


def prestart(figures: bool = True) -> None:
    """Start the figure process now when ``figures`` (its imports then overlap the run); ``figure_drawer``
    hands it out once."""
    global _prestarted
    if figures and os.name == "posix" and (_prestarted is None or not _prestarted.alive()):  # pipes by fd
        _prestarted = FigureProcess()


def figure_drawer() -> FigureProcess | InProcess:
    """The prestarted figure process when one is still waiting (handed out once), else ``InProcess``."""
    global _prestarted
    proc, _prestarted = _prestarted, None
    return proc if proc is not None and proc.alive() else InProcess()


@atexit.register
def _end_prestarted() -> None:
    if _prestarted is not None:
        _prestarted.close()


if __name__ == "__main__":
    try:
        _serve(int(sys.argv[1]), int(sys.argv[2]))
    except BrokenPipeError:  # the parent ended while this one drew: nobody to tell
        pass
    sys.stderr.flush()
    os._exit(0)  # the figures are written and closed: skip tearing down matplotlib and pandas (the parent waits)
