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
import pytest

from optimize import api
from optimize.errors import EXIT_INTERRUPTED, EXIT_TERMINATED
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


@pytest.mark.parametrize(("sig", "group", "code"), [(signal.SIGTERM, False, EXIT_TERMINATED),
                                                     (signal.SIGINT, True, EXIT_INTERRUPTED)], ids=["term", "ctrl-c"])
def test_a_signal_ends_the_run_and_its_figure_process(tmp_path, sig, group, code):
    """SIGTERM to the run, or Ctrl-C to its process group (as a terminal sends it), while the figure process
    lives: the run exits with its code at once, the figure process ends too, quietly, and no output is left."""
    data = write_csv(tmp_path / NAME, base_rows())
    out = tmp_path / "out"
    env = {**os.environ, "TRADEOPT_CACHE": str(tmp_path / "cache"), "MPLBACKEND": "Agg",
           "PYTHONPATH": str(Path(CLI_FILE).parent)}
    proc = subprocess.Popen([sys.executable, str(CLI_FILE), "run", "--baci", str(data), "--figures", "--quiet",
                             "--out", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        parent = psutil.Process(proc.pid)
        t_end = time.monotonic() + 60
        children = []
        while not children and time.monotonic() < t_end and proc.poll() is None:
            children = parent.children()
            time.sleep(0.01)
        assert children, "no figure process was started"
        time.sleep(0.2)  # past the instant the run ignores SIGINT while it starts the child (figproc)
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == code, err
        assert "Traceback" not in err, err
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, "the figure process outlived the run"
        assert not out.exists() or not any(p for p in out.iterdir() if not p.name.startswith("."))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_a_figure_process_gone_before_its_job_draws_here(tmp_path):
    """The child ended before it got the job (the send fails or nobody answers): the job given to draw() is
    drawn in this process, the same files as drawn here anyway."""
    result = api.run(None, write_csv(tmp_path / NAME, base_rows()))
    fp = figproc.FigureProcess()
    fp._proc.kill()
    fp._proc.wait()
    fp.draw(result.tables, tmp_path / "gone", synthetic=True, subtitle="s")
    paths = fp.result()
    here = figproc.InProcess()
    with pytest.raises(RuntimeError, match="before draw"):
        here.result()
    here.draw(result.tables, tmp_path / "here", synthetic=True, subtitle="s")
    assert [p.name for p in paths] == [p.name for p in here.result()] and all(p.is_file() for p in paths)
    assert all(p.read_bytes() == (tmp_path / "here" / p.name).read_bytes() for p in paths if p.suffix == ".png")


def test_the_figure_process_gets_only_the_tables_the_figures_draw(tmp_path):
    """The job carries exposure, beneficiaries, by_sector, by_stage, summary and bands, nothing else (the
    products, concentration and flows frames are most of its bytes); drawn from it, the PNGs are the same."""
    import dataclasses

    from optimize.output.plots import plot_all

    tables = api.run(None, write_csv(tmp_path / NAME, base_rows())).tables
    sent = figproc._figure_tables(tables)
    kept = {f.name for f in dataclasses.fields(sent) if getattr(sent, f.name) is not None}
    assert kept <= figproc.FIGURE_TABLES and {"exposure", "beneficiaries", "summary"} <= kept
    full = plot_all(tables, tmp_path / "full", synthetic=True, subtitle="s")
    part = plot_all(sent, tmp_path / "part", synthetic=True, subtitle="s")
    assert [p.read_bytes() for p in full if p.suffix == ".png"] == [p.read_bytes() for p in part if p.suffix == ".png"]
