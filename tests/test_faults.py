"""Faults: runs and batches killed mid-way (all-or-nothing outputs, resumable), infeasible and failing
solves (exit 3/4, what to relax, --keep-going per-product reasons), unwritable or full output disks (exit 5
before anything is read or solved)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from optimize.errors import EXIT_INFEASIBLE, EXIT_OUTPUT, EXIT_SOLVER
from tests.corpus import CLI_FILE, NAME, base_rows, check_complete_run_dir, files_below, leftovers, write_csv

EU = {251, 276, 528}  # importers of the corpus table that are EU members



@pytest.fixture()
def data(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TRADEOPT_CACHE", str(tmp_path / "cache"))
    return write_csv(tmp_path / NAME, base_rows())


# ------------------------------------------------------------------ killed runs and batches
def _start(args: list[str], cwd: Path, env_cache: Path) -> subprocess.Popen:
    env = {**os.environ, "TRADEOPT_CACHE": str(env_cache), "MPLBACKEND": "Agg"}
    return subprocess.Popen([sys.executable, str(CLI_FILE), *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _wait_for(cond, proc: subprocess.Popen, timeout_s: float = 60.0) -> bool:
    """Poll ``cond()`` every 10 ms while ``proc`` runs; True when it held before the process ended."""
    t_end = time.monotonic() + timeout_s
    while time.monotonic() < t_end and proc.poll() is None:
        if cond():
            return True
        time.sleep(0.01)
    return False


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []


def test_killed_run_leaves_complete_outputs_or_none(tmp_path):
    """SIGKILL `tradeopt run` early, while the output folder is being written, and just after: the output
    folder is always absent or complete (old or new run); a re-run completes and clears the leftovers."""
    out = tmp_path / "out"
    args = ["run", "--out", str(out), "--quiet"]  # embedded sample, with figures: a long write phase
    tmp_of = lambda: [p for p in tmp_path.glob(".out.tmp-*")]  # noqa: E731
    seen_caps = set()
    for cap, kill_when in ((2.0, "early"), (3.0, "writing"), (4.0, "writing+0.3s")):
        proc = _start(args + ["--cap", str(cap)], tmp_path, tmp_path / "cache")
        try:
            if kill_when == "early":
                time.sleep(0.3)
            else:
                assert _wait_for(lambda: bool(tmp_of()), proc), "the run ended before writing started"
                if kill_when.endswith("s"):
                    time.sleep(0.3)
        finally:
            _kill(proc)
        assert proc.returncode == -signal.SIGKILL
        if out.exists():
            summary = check_complete_run_dir(out)
            seen_caps.add(summary["cap_pp"])
        assert [p.name for p in _visible(tmp_path)] in ([], ["out"]), "a half-written folder is visible"
    assert seen_caps <= {2.0, 3.0, 4.0}
    res = subprocess.run([sys.executable, str(CLI_FILE), *args, "--cap", "1", "--no-figures"], cwd=tmp_path,
                         env={**os.environ, "TRADEOPT_CACHE": str(tmp_path / "cache")}, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert check_complete_run_dir(out)["cap_pp"] == 1.0
    assert not (out / "figures").exists()  # the new run replaced the folder whole
    assert leftovers(tmp_path / "cache") == [] and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _complete_cell(cell: Path) -> bool:
    for f in ("summary.json", "exposure.csv", "products.csv", "manifest.json"):
        assert (cell / f).is_file(), f"{cell.name} lacks {f}"
    json.loads((cell / "summary.json").read_text(encoding="utf-8"))
    return True


def _finished_rows(out: Path) -> set[str]:
    parts = sorted((out / "dataset" / "cells").glob("year=*/cap_basis=*/part-*.parquet"))
    return set(pd.concat([pd.read_parquet(p, columns=["cell_key"]) for p in parts])["cell_key"]) if parts else set()


def test_killed_batch_keeps_finished_cells_and_resumes(tmp_path, cli_main):
    """SIGKILL a batch mid-way: every visible cell folder is complete; a re-run computes only the rest."""
    out = tmp_path / "b"
    cells = out / "cells"
    args = ["batch", "--caps", "0-7", "--workers", "1", "--quiet", "--full-outputs", "--out", str(out)]
    proc = _start(args, tmp_path, tmp_path / "cache")
    try:
        # kill while a cell folder is being written, once two cells have finished
        started = _wait_for(lambda: len(_visible(cells)) >= 2 and any(cells.glob(".*.tmp-*")), proc)
    finally:
        _kill(proc)
    finished = _visible(cells)
    rows = _finished_rows(out)
    print(f"killed={started} with {len(finished)} finished cell folders, {len(rows)} finished rows")
    if started:
        assert 2 <= len(finished) < 8
    for cell in finished:
        _complete_cell(cell)
    assert rows <= {c.name for c in finished}  # a finished row always has its complete folder
    assert not (out / "batch.csv").exists() or len(rows) == 8
    res = CliRunner().invoke(cli_main, args)
    assert res.exit_code == 0, res.output
    assert f"{8 - len(rows)} cell{'' if 8 - len(rows) == 1 else 's'} computed, {len(rows)} already finished, 8 in the " \
        "grid" in res.output
    done = _visible(cells)
    assert len(done) == 8 and all(_complete_cell(c) for c in done)
    table = pd.read_csv(out / "batch.csv")
    assert sorted(table["cap_pp"].unique()) == [float(c) for c in range(8)]
    assert not table["status"].astype(str).str.startswith("error").any()
    assert leftovers(out) == []


# ------------------------------------------------------------------ infeasible and failing solves
def test_share_limit_no_product_can_meet_exits_3_with_what_to_relax(data, tmp_path, cli_main):
    """Six exporters share each product: a 5 % supplier-share limit cannot hold for any product."""
    out = tmp_path / "out"
    res = CliRunner().invoke(cli_main, ["run", "--baci", str(data), "--set", "cap.share_limit=0.05",
                                        "--no-figures", "--out", str(out)])
    assert res.exit_code == EXIT_INFEASIBLE, res.output
    assert "850440" in res.output and "854143" in res.output
    assert "cap.share_limit" in res.output and "--keep-going" in res.output
    assert not out.exists()


def test_keep_going_reports_each_infeasible_product_with_its_reason(data, tmp_path, cli_main):
    out = tmp_path / "out"
    res = CliRunner().invoke(cli_main, ["run", "--baci", str(data), "--set", "cap.share_limit=0.05",
                                        "--keep-going", "--no-figures", "--quiet", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "2 products could not meet every limit" in res.output
    summary = check_complete_run_dir(out)
    assert sorted(summary["infeasible_products"]) == ["850440", "854143"]
    products = pd.read_csv(out / "products.csv", dtype={"k": str}, keep_default_na=False)
    assert products.set_index("k")["note"].str.contains("share limit").all()
    # solved without the limit: totals kept per product
    assert products["total_after_usd"].to_numpy() == pytest.approx(products["total_usd"].to_numpy())


def test_partly_infeasible_keeps_the_feasible_products_limited(tmp_path, monkeypatch, cli_main):
    """A limit one product can meet and one cannot: only the bad one is relaxed and reported."""
    monkeypatch.setenv("TRADEOPT_CACHE", str(tmp_path / "cache"))
    rows = base_rows()
    # 854143: CHN supplies everything to the EU and JPN is the only other exporter: two suppliers cannot
    # stay within 40 % each; 850440 has six suppliers, none above 24 % -> the limit holds there
    rows = [r for r in rows if r[3] == "850440" or (r[1] == "156" and int(r[2]) in EU)]
    rows.append(["2023", "392", "842", "854143", "1000", "1"])
    data = write_csv(tmp_path / NAME, rows)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli_main, ["run", "--baci", str(data), "--risk", "CHN", "--set", "cap.share_limit=0.4",
                                        "--cap", "100", "--keep-going", "--no-figures", "--quiet", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert check_complete_run_dir(out)["infeasible_products"] == ["854143"]
    products = pd.read_csv(out / "products.csv", dtype={"k": str}, keep_default_na=False).set_index("k")
    assert products.loc["850440", "note"] == "" and "share limit" in products.loc["854143", "note"]
    flows = pd.read_parquet(out / "flows.parquet")
    ok = flows[flows["k"] == "850440"]
    assert (ok["after_usd"] <= 0.4 * ok["after_usd"].sum() * (1 + 1e-9) + 1e-6).all()


def test_export_ban_without_alternative_reports_shortfall(tmp_path, monkeypatch, cli_main):
    """China is the only supplier of 854143 anywhere and is banned: the whole EU import is a shortfall."""
    monkeypatch.setenv("TRADEOPT_CACHE", str(tmp_path / "cache"))
    rows = [r for r in base_rows() if r[3] == "850440" or r[1] == "156"]
    data = write_csv(tmp_path / NAME, rows)
    banned_kusd = sum(float(r[4]) for r in rows if r[3] == "854143" and int(r[2]) in EU)  # hand oracle
    out = tmp_path / "out"
    res = CliRunner().invoke(cli_main, ["run", "--baci", str(data), "--risk", "CHN", "--set", "ban.country=CHN",
                                        "--set", 'ban.products=["854143"]', "--no-figures", "--quiet",
                                        "--out", str(out)])
    assert res.exit_code == 0, res.output
    products = pd.read_csv(out / "products.csv", dtype={"k": str}, keep_default_na=False).set_index("k")
    assert products.loc["854143", "shortfall_usd"] == pytest.approx(banned_kusd * 1000.0)
    assert "export ban" in products.loc["854143", "note"] and products.loc["850440", "note"].startswith("frozen")
    assert products.loc["850440", "shortfall_usd"] == pytest.approx(0.0, abs=1e-3)


def test_solver_time_limit_exits_4_naming_the_key(data, tmp_path, cli_main):
    out = tmp_path / "out"
    res = CliRunner().invoke(cli_main, ["run", "--baci", str(data), "--set", "solver.time_limit_s=1e-9",
                                        "--no-figures", "--out", str(out)])
    assert res.exit_code == EXIT_SOLVER, res.output
    assert "time_limit" in res.output and "solver.time_limit_s" in res.output
    assert not out.exists()


# ------------------------------------------------------------------ unwritable output
_EXTRA = {"run": ["--no-figures"], "batch": ["--caps", "1"], "sweep": ["--caps", "0,1", "--no-figures"]}

@pytest.mark.parametrize("command", ["run", "batch", "sweep"])
def test_output_under_a_regular_file_exits_5_before_reading(command, data, tmp_path, cli_main):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    args = [command, "--baci", str(data), "--out", str(blocker / "out")]
    res = CliRunner().invoke(cli_main, args + _EXTRA[command])
    assert res.exit_code == EXIT_OUTPUT, res.output
    assert f"{tmp_path / 'file.txt'} is a file, not a folder" in res.output and "Fix:" in res.output
    assert files_below(tmp_path / "cache") == []  # the data were not even read
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("command", ["run", "batch", "sweep"])
def test_full_disk_exits_5_before_reading(command, data, tmp_path, monkeypatch, cli_main):
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=0))
    out = tmp_path / "out"
    args = [command, "--baci", str(data), "--out", str(out)]
    res = CliRunner().invoke(cli_main, args + _EXTRA[command])
    assert res.exit_code == EXIT_OUTPUT, res.output
    assert "free" in res.output and "Fix:" in res.output
    assert not out.exists() and leftovers(tmp_path) == []
    assert files_below(tmp_path / "cache") == []  # the data were not even read


def test_infeasible_cell_in_a_batch_is_recorded_and_the_rest_continue(data, tmp_path, cli_main):
    """A share limit infeasible in every cell: each cell's status names the error; the batch still ends (exit 0)."""
    out = tmp_path / "b"
    res = CliRunner().invoke(cli_main, ["batch", "--baci", str(data), "--years", "2023", "--caps", "1,2",
                                        "--set", "cap.share_limit=0.05", "--workers", "1", "--quiet",
                                        "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "2 error rows" in res.output
    table = pd.read_csv(out / "batch.csv")
    assert len(table) == 2 and table["status"].str.startswith("error: InfeasibleError").all()
    assert table["status"].str.contains("share_limit|share limit").all()
