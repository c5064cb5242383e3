"""Bounds and deadlines (issue 22, items 9 and 10): a sweep's cap count and a range's length are bounded,
``--dask-timeout`` is a positive finite number of seconds, ``--dask ADDRESS`` gives up within it whatever
answers on the port, and a ``--dask local`` batch logs no traceback. Servers run on 127.0.0.1 inside the
tests and stop by themselves."""
from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimize.errors import EXIT_INPUT, InputError, ScenarioError
from tests.localhttp import LocalHTTP

ROOT = Path(__file__).resolve().parents[1]


def _one_line_error(res, code: int, *needles: str) -> None:
    assert res.exit_code == code, res.output
    assert res.output.startswith("Error: ") and res.output.count("\n") == 1 and "Fix:" in res.output, res.output
    for n in needles:
        assert n in res.output, res.output


# ------------------------------------------------------------------ sweep and ranges
def test_sweep_over_the_cap_limit_is_refused_before_reading_data(tmp_path):
    from optimize import api
    from optimize.runs.sweep import MAX_SWEEP_CAPS

    missing = tmp_path / "no-such-data.csv"  # the bound comes first: no data read, nothing solved
    with pytest.raises(InputError, match="100,001 caps to sweep") as info:
        api.sweep_caps(caps_pp="0-100:0.001", data=missing)
    assert "Fix:" in str(info.value)
    with pytest.raises(InputError, match=f"{MAX_SWEEP_CAPS + 1:,} caps"):
        api.sweep_caps(caps_pp=[i / 100 for i in range(MAX_SWEEP_CAPS + 1)], data=missing)
    assert MAX_SWEEP_CAPS >= 1001  # 0-100 pp in steps of 0.1 pp stays allowed


def test_sweep_cap_limit_cli_is_exit_2_one_line(cli_main, tmp_path):
    t0 = time.monotonic()
    res = CliRunner().invoke(cli_main, ["sweep", "--caps", "0-100:0.001", "--out", str(tmp_path / "s")])
    _one_line_error(res, EXIT_INPUT, "100,001 caps", "--caps 0-100:0.5")
    assert time.monotonic() - t0 < 20 and not (tmp_path / "s").exists()


def test_a_range_too_long_is_refused_before_expanding():
    from optimize.tokens import MAX_RANGE_VALUES, number_list

    t0 = time.monotonic()
    with pytest.raises(ScenarioError, match="10,000,001 values"):
        number_list("0-1:0.0000001", "caps", field="--caps")
    assert time.monotonic() - t0 < 1.0
    assert len(number_list(f"1-{MAX_RANGE_VALUES // 1000}", "years")) == MAX_RANGE_VALUES // 1000


# ------------------------------------------------------------------ --dask-timeout
needs_dask = pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="needs tradeopt[dask]")


@pytest.mark.parametrize("value", [math.nan, -5, 0, math.inf, 1e300, "two"])
def test_bad_dask_timeout_is_an_input_error(value):
    from optimize.runs.executors import connect_dask

    with pytest.raises(InputError, match="--dask-timeout.*number of seconds") as info:
        connect_dask("tcp://127.0.0.1:9", value, quiet=True)
    assert "1-5" not in str(info.value)


@pytest.mark.parametrize("value", ["nan", "-5", "0", "inf"])
def test_bad_dask_timeout_cli_is_exit_2_one_line(cli_main, tmp_path, value):
    res = CliRunner().invoke(cli_main, ["batch", "--dask", "tcp://127.0.0.1:9", "--dask-timeout", value,
                                        "--out", str(tmp_path / "b"), "--quiet"])
    _one_line_error(res, EXIT_INPUT, "--dask-timeout")
    assert "1-5" not in res.output and not (tmp_path / "b").exists()
    res = CliRunner().invoke(cli_main, ["batch", "--dask-timeout", value, "--out", str(tmp_path / "b"), "--quiet"])
    _one_line_error(res, EXIT_INPUT, "--dask-timeout")  # refused without --dask too
    assert not (tmp_path / "b").exists()


def _hello(handler, server):
    """What a web server answers (a user may point ``--dask`` at one by mistake)."""
    handler.send_response(200)
    handler.end_headers()
    handler.wfile.write(b"hello")


@needs_dask
def test_dask_address_of_an_http_server_gives_up_within_the_timeout():
    from optimize.runs.executors import connect_dask

    with LocalHTTP(_hello) as srv:
        t0 = time.monotonic()
        with pytest.raises(InputError, match="cannot reach the Dask scheduler.*within 1 s"):
            connect_dask(srv.address, 1.0, quiet=True)
        assert time.monotonic() - t0 < 5.0


@needs_dask
def test_dask_address_of_an_http_server_cli_exits_2_promptly(tmp_path):
    with LocalHTTP(_hello) as srv:
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), "batch", "--dask", srv.address,
                               "--dask-timeout", "1", "--out", str(tmp_path / "b"), "--quiet"],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        took = time.monotonic() - t0
    assert proc.returncode == EXIT_INPUT, proc.stderr
    assert proc.stderr.startswith("Error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert took < 30 and not (tmp_path / "b").exists()


@needs_dask
def test_dask_local_batch_logs_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), "batch", "--dask", "local:1", "--caps", "1,2",
                           "--out", str(tmp_path / "b"), "--quiet"],
                          capture_output=True, text=True, timeout=180, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "Combination not supported" not in proc.stderr, proc.stderr
    assert (tmp_path / "b" / "batch.csv").exists()
