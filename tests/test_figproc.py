"""Figures drawn in a process of their own (issue #27 item 5): the same PNG bytes as drawn in-process, and a
SIGTERM still ends `tradeopt run` at once, figure process included, leaving no output folder."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from optimize import api
from optimize.errors import EXIT_TERMINATED
from optimize.output import figproc
from tests.corpus import CLI_FILE, NAME, base_rows, write_csv


def test_figures_from_the_process_equal_the_in_process_ones(tmp_path):
    result = api.run(None, write_csv(tmp_path / NAME, base_rows()))
    figproc.prestart()
    there = result.write(tmp_path / "proc", figures=True)
    assert figproc._prestarted is None  # the prestarted process drew them
    here = result.write(tmp_path / "here", figures=True)  # nothing prestarted: drawn in this process
    pngs = sorted(p.name for p in (Path(there) / "figures").glob("*.png"))
    assert pngs and pngs == sorted(p.name for p in (Path(here) / "figures").glob("*.png"))
    for name in pngs:
        assert (Path(there) / "figures" / name).read_bytes() == (Path(here) / "figures" / name).read_bytes()
    assert (Path(there) / "summary.md").read_text() == (Path(here) / "summary.md").read_text()


def test_sigterm_ends_the_run_and_its_figure_process(tmp_path):
    data = write_csv(tmp_path / NAME, base_rows())
    out = tmp_path / "out"
    env = {**os.environ, "TRADEOPT_CACHE": str(tmp_path / "cache"), "MPLBACKEND": "Agg",
           "PYTHONPATH": str(Path(CLI_FILE).parent)}
    proc = subprocess.Popen([sys.executable, str(CLI_FILE), "run", "--baci", str(data), "--figures", "--quiet",
                             "--out", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        parent = psutil.Process(proc.pid)
        t_end = time.monotonic() + 60
        children = []
        while not children and time.monotonic() < t_end and proc.poll() is None:
            children = parent.children()
            time.sleep(0.01)
        assert children, "no figure process was started"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == EXIT_TERMINATED
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, "the figure process outlived the run"
        assert not out.exists() or not any(p for p in out.iterdir() if not p.name.startswith("."))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
