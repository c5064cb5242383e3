"""Output safety (issue #16) of `data convert`, `--save-lp`, FIFO inputs and SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimize.data.baci import read_baci
from tests.corpus import NAME, base_rows, write_csv

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def runner():
    return CliRunner()


@pytest.mark.parametrize("name, expected", [("flows.2022.csv", "flows.2022.parquet"),
                                            ("flows.2023.csv", "flows.2023.parquet"),
                                            ("x.csv.gz", "x.parquet")])
def test_convert_default_name_keeps_all_but_the_last_suffix(cli_main, runner, tmp_path, name, expected):
    write_csv(tmp_path / name, base_rows(), gz=name.endswith(".gz"))
    r = runner.invoke(cli_main, ["data", "convert", str(tmp_path / name)])
    assert r.exit_code == 0, r.output
    assert (tmp_path / expected).is_file()
    assert len(read_baci(tmp_path / expected, cache=False).flows) == len(base_rows())


def test_convert_never_replaces_an_existing_file_unasked(cli_main, runner, tmp_path):
    src = write_csv(tmp_path / "flows.csv", base_rows())
    out = tmp_path / "flows.parquet"
    out.write_bytes(b"someone's parquet")
    r = runner.invoke(cli_main, ["data", "convert", str(src)])
    assert r.exit_code == 5 and "--overwrite" in r.output and out.read_bytes() == b"someone's parquet", r.output
    r = runner.invoke(cli_main, ["data", "convert", str(src), "--out", str(out)])
    assert r.exit_code == 5 and out.read_bytes() == b"someone's parquet", r.output
    r = runner.invoke(cli_main, ["data", "convert", str(src), "--overwrite"])
    assert r.exit_code == 0 and len(read_baci(out, cache=False).flows) == len(base_rows()), r.output


def test_convert_never_makes_a_folder_read_rows_twice(cli_main, runner, tmp_path):
    folder = tmp_path / "release"
    folder.mkdir()
    write_csv(folder / NAME, base_rows())
    n = len(read_baci(folder, cache=False).flows)
    r = runner.invoke(cli_main, ["data", "convert", str(folder / NAME)])
    assert r.exit_code == 0, r.output
    assert len(read_baci(folder, cache=False).flows) == n  # the folder still reads each row once
    assert (folder / "parquet" / NAME.replace(".csv", ".parquet")).is_file()
    r = runner.invoke(cli_main, ["data", "convert", str(folder / NAME), "--out", str(folder / "BACI_x.parquet")])
    assert r.exit_code == 5 and "twice" in r.output, r.output
    assert len(read_baci(folder, cache=False).flows) == n


@pytest.mark.parametrize("bad", ["model.txt", "no_suffix", "below_a_file/model.lp"])
def test_save_lp_to_unknown_or_unwritable_path_is_exit_5(cli_main, runner, tmp_path, bad):
    (tmp_path / "below_a_file").write_text("a file, not a folder")
    lp = tmp_path / bad
    r = runner.invoke(cli_main, ["run", "--products", "850440", "--no-figures", "--out", str(tmp_path / "o"),
                                 "--save-lp", str(lp)])
    assert r.exit_code == 5, r.output
    assert str(lp) in r.output and "LP written" not in r.output
    assert not (tmp_path / "o").exists()  # refused before solving


def test_save_lp_writes_a_readable_model(cli_main, runner, tmp_path):
    lp = tmp_path / "m.lp"
    r = runner.invoke(cli_main, ["run", "--products", "850440", "--no-figures", "--out", str(tmp_path / "o"),
                                 "--save-lp", str(lp)])
    assert r.exit_code == 0 and "LP written" in r.output, r.output
    assert lp.read_text().lower().lstrip().startswith(("\\", "min", "max", "obj"))
    lp.write_text("mine")  # an existing file is not replaced unasked
    r = runner.invoke(cli_main, ["run", "--products", "850440", "--no-figures", "--out", str(tmp_path / "p"),
                                 "--save-lp", str(lp)])
    assert r.exit_code == 5 and lp.read_text() == "mine", r.output


def _cli(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *args], cwd=kw.pop("cwd", ROOT), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_fifo_input_is_refused_up_front(tmp_path):
    fifo = tmp_path / "BACI_HS22_Y2023_V202501.csv"
    os.mkfifo(fifo)
    for args in (["data", "validate", str(fifo)], ["run", "--baci", str(fifo), "--out", str(tmp_path / "o")]):
        proc = _cli(*args)
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail(f"tradeopt {args[0]} blocked on a FIFO")
        said = out + err
        assert proc.returncode == 2 and "not a regular file" in said and str(fifo) in said, said


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    """SIGTERM while the outputs are being written: exit 143, the temporary folder removed."""
    out = tmp_path / "o"
    proc = _cli("run", "--products", "850440,854143", "--out", str(out), cwd=tmp_path)  # figures: a slow write
    deadline = time.time() + 240
    seen = False
    while time.time() < deadline and proc.poll() is None:
        if any(p.name.startswith(".o.tmp-") for p in tmp_path.iterdir()):
            seen = True
            break
        time.sleep(0.01)
    if not seen:
        proc.kill()
        proc.communicate()
        pytest.skip("the run finished before its temporary folder could be seen")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM and "Terminated" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "temporary folder or partial output left"


def test_a_sigterm_whose_exception_was_lost_still_stops_the_commit(tmp_path):
    """Python drops an exception raised by a signal handler while a finalizer runs (seen in CI: SIGTERM during
    a pyarrow writer's ``__del__``, the run went on and exited 0 with its outputs). The handler also sets
    ``TERMINATION``; the writers check it before anything arrives."""
    from optimize.atomic import atomic_dir, atomic_file
    from optimize.errors import TERMINATION, Terminated

    TERMINATION.set()  # as if the handler ran and its exception was swallowed
    try:
        with pytest.raises(Terminated), atomic_dir(tmp_path / "o") as tmp:
            (tmp / "a.csv").write_text("x\n")
        with pytest.raises(Terminated), atomic_file(tmp_path / "b.csv") as tmp:
            tmp.write_text("x\n")
    finally:
        TERMINATION.clear()
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "an output or a temporary file arrived"


def test_quiet_save_lp_prints_only_the_output_folder(cli_main, tmp_path):
    """-q promises 'Print only the output path' on stdout; the LP line went there too."""
    from click.testing import CliRunner

    out = tmp_path / "o"
    r = CliRunner().invoke(cli_main, ["run", "--products", "850440", "--no-figures", "-q", "--out", str(out),
                                      "--save-lp", str(tmp_path / "m.lp")])
    assert r.exit_code == 0 and r.stdout.strip() == f"Outputs written to {out}", r.stdout
    assert "LP written to" in r.stderr
