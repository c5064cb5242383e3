"""Writes cut short (file size limit, full disk) are an ``OutputError`` (exit 5, one line) and leave nothing:
``--save-lp`` / ``run(save_lp=...)`` (HiGHS itself reports success on such a short write, so the file's end line
is checked) and ``sweep`` (its figure write used to be an internal error, exit 1)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import highspy
import pytest

import optimize

ROOT = Path(__file__).resolve().parents[1]
# The child cannot write past 1 KB (EFBIG instead of SIGXFSZ); the LP of the sample is ~30 KB.
_LIMITED = ("import resource, signal, sys\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))\n")


def _child(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", _LIMITED + code], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("suffix", [".lp", ".mps"])
def test_api_short_lp_write_raises_and_leaves_nothing(tmp_path, suffix):
    code = ("import optimize\ntry:\n    optimize.run(importer='NLD', figures=False, save_lp='m" + suffix + "')\n"
            "except optimize.OutputError as e:\n    print('OutputError', e)\nelse:\n    print('OK')\n")
    res = _child(code, tmp_path)
    assert res.stdout.startswith("OutputError"), res.stdout + res.stderr  # used to print OK, 1 KB of ~30 KB kept
    assert "could not write the whole LP" in res.stdout
    assert sorted(os.listdir(tmp_path)) == []  # no truncated file, no temporary file


def test_cli_short_lp_write_is_exit_5_and_leaves_nothing(tmp_path):
    code = ("sys.argv = ['tradeopt', 'run', '--importer', 'NLD', '--no-figures', '--save-lp', 'm.lp', '--out', 'o']\n"
            "from cli import main\nmain()\n")
    res = _child(code, tmp_path)
    assert res.returncode == 5, res.stderr
    assert "could not write the whole LP" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert sorted(os.listdir(tmp_path)) == []  # used to leave 1 KB of m.lp


@pytest.mark.parametrize("suffix", [".lp", ".mps"])
def test_complete_lp_reads_back_with_the_model_size(tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    result = optimize.run(importer="NLD", figures=False, save_lp=path)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    assert h.getNumCol() > 0 and h.getNumRow() > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    assert result.allocation.status is not None


def test_sweep_short_write_is_exit_5_and_leaves_nothing(tmp_path):
    code = ("sys.argv = ['tradeopt', 'sweep', '--importer', 'NLD', '--caps', '0,5', '--out', 'o']\n"
            "from cli import main\nmain()\n")
    res = _child(code, tmp_path)
    assert res.returncode == 5, res.stderr  # used to be "Internal error: OSError: [Errno 27] File too large"
    assert res.stderr.startswith("Error: cannot write") and len(res.stderr.strip().splitlines()) == 1
    assert sorted(os.listdir(tmp_path)) == []
