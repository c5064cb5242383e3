"""Output safety (issue #16): tradeopt never deletes or replaces what it did not write.

Each case puts a user's files where tradeopt writes and checks, by reading the
bytes back, that they survive; the old code swapped whole folders and failed these.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

import optimize
from optimize import atomic
from optimize.errors import OutputError, ScenarioError
from optimize.ownership import leftover_name
from tests.corpus import snapshot

OWNER_FILE = "manifest.json"


def owned_files(folder):
    return atomic.owned_files(folder)  # looked up when called: on the old code this test fails, not the import

FAST = ["--products", "850440,854143", "--no-figures", "--quiet"]


@pytest.fixture(scope="module")
def result():
    """One solved run on the embedded sample (two products), written by the tests below."""
    return optimize.run(products="850440,854143", figures=False)


@pytest.fixture()
def runner():
    return CliRunner()




def precious(tmp_path: Path) -> tuple[Path, dict]:
    folder = tmp_path / "precious"
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.txt").write_text("four years of work\n")
    (folder / "sub" / "data.bin").write_bytes(bytes(range(256)))
    return folder, snapshot(folder)


def beside(path: Path) -> list[str]:
    """Hidden temporary siblings tradeopt may have left beside ``path``."""
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}."))


# ---------------------------------------------------------------- run --out


def test_run_refuses_folder_with_foreign_files(cli_main, runner, tmp_path):
    folder, before = precious(tmp_path)
    r = runner.invoke(cli_main, ["run", *FAST, "--out", str(folder)])
    assert r.exit_code == 5, r.output
    assert str(folder) in r.output and "thesis.txt" in r.output and "--overwrite" in r.output
    assert snapshot(folder) == before and beside(folder) == []


def test_run_overwrite_adds_files_and_keeps_foreign(cli_main, runner, tmp_path):
    folder, before = precious(tmp_path)
    r = runner.invoke(cli_main, ["run", *FAST, "--out", str(folder), "--overwrite"])
    assert r.exit_code == 0, r.output
    after = snapshot(folder)
    assert {k: after[k] for k in before} == before
    listed = owned_files(folder)
    assert listed and "summary.json" in listed and "thesis.txt" not in listed
    assert all((folder / f).is_file() for f in listed)  # the manifest lists exactly what was written
    assert set(after) - set(before) == listed | {OWNER_FILE}


def test_overwrite_refuses_a_foreign_file_in_the_way(cli_main, runner, tmp_path):
    folder, _ = precious(tmp_path)
    (folder / "summary.md").write_text("my own notes\n")
    before = snapshot(folder)
    r = runner.invoke(cli_main, ["run", *FAST, "--out", str(folder), "--overwrite"])
    assert r.exit_code == 5 and "summary.md" in r.output, r.output
    assert snapshot(folder) == before


def test_run_twice_replaces_only_tradeopt_files(cli_main, runner, tmp_path):
    out = tmp_path / "out"
    assert runner.invoke(cli_main, ["run", *FAST, "--xlsx", "--out", str(out)]).exit_code == 0
    assert (out / "results.xlsx").is_file()
    assert runner.invoke(cli_main, ["run", *FAST, "--out", str(out)]).exit_code == 0  # ours only: replaced whole
    assert not (out / "results.xlsx").exists() and "results.xlsx" not in owned_files(out)
    (out / "notes.txt").write_text("mine")
    assert runner.invoke(cli_main, ["run", *FAST, "--xlsx", "--out", str(out)]).exit_code == 5
    assert runner.invoke(cli_main, ["run", *FAST, "--xlsx", "--out", str(out), "--overwrite"]).exit_code == 0
    assert runner.invoke(cli_main, ["run", *FAST, "--out", str(out), "--overwrite"]).exit_code == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "results.xlsx").exists()  # the earlier run's file, no longer made: removed
    assert beside(out) == []


def test_symlinked_out_is_followed_not_replaced(cli_main, runner, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    for _ in range(2):
        r = runner.invoke(cli_main, ["run", *FAST, "--out", str(link)])
        assert r.exit_code == 0, r.output
        assert link.is_symlink() and os.readlink(link) == str(real)
        assert (real / "summary.json").is_file()


def test_out_holding_the_baci_input_is_refused(cli_main, runner, tmp_path):
    from tests.corpus import NAME, base_rows, write_csv

    folder = tmp_path / "release"
    folder.mkdir()
    write_csv(folder / NAME, base_rows())
    before = snapshot(folder)
    r = runner.invoke(cli_main, ["run", "--baci", str(folder / NAME), "--out", str(folder), "--no-figures",
                                 "--importer", "FRA", "--risk", "CHN", "--products", "850440"])
    assert r.exit_code == 5 and NAME in r.output, r.output
    assert snapshot(folder) == before


def test_out_current_directory_is_refused(cli_main, runner, tmp_path, monkeypatch):
    (tmp_path / "work.txt").write_text("keep")
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli_main, ["run", *FAST, "--out", "."])
    assert r.exit_code == 5 and "work.txt" in r.output, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work.txt"]


# ---------------------------------------------------------------- scenario name


@pytest.mark.parametrize("name", ["/abs/dir", "../../dir", ".", "..", "a\\b", "a\x00b", "a\nb", "x" * 101])
def test_scenario_name_is_one_plain_component(name):
    from optimize.config.tomlio import toml_value

    with pytest.raises(ScenarioError) as err:
        optimize.load_scenario("default", overrides=[f"name={toml_value(name)}"])
    assert err.value.field == "name"


def test_scenario_file_with_bad_name_exits_2_and_touches_nothing(cli_main, runner, tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "x.txt").write_text("x")
    scen = tmp_path / "evil.toml"
    scen.write_text(f'name = "{victim.as_posix()}"\n')
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli_main, ["run", "--scenario", str(scen), *FAST])
    assert r.exit_code == 2 and "evil.toml" in r.output and "name" in r.output, r.output
    assert (victim / "x.txt").read_text() == "x" and not (tmp_path / "tradeopt-out").exists()
    nul = tmp_path / "nul.toml"
    nul.write_text('name = "a\\u0000b"\n')
    r = runner.invoke(cli_main, ["run", "--scenario", str(nul), *FAST])
    assert r.exit_code == 2 and "nul.toml" in r.output, r.output


# ---------------------------------------------------------------- API, sweep, single files


def test_api_write_and_run_follow_the_rule(result, tmp_path):
    folder, before = precious(tmp_path)
    with pytest.raises(OutputError, match="overwrite"):
        result.write(folder)
    with pytest.raises(OutputError, match="thesis.txt"):
        optimize.run(products="850440", out_dir=folder, figures=False)
    assert snapshot(folder) == before
    result.write(folder, overwrite=True)
    after = snapshot(folder)
    assert {k: after[k] for k in before} == before and "summary.json" in after


def test_sweep_refuses_foreign_then_keeps_it(tmp_path):
    folder, before = precious(tmp_path)
    with pytest.raises(OutputError):
        optimize.sweep_caps(caps_pp=[1, 2], products="850440", out_dir=folder, plot=False)
    assert snapshot(folder) == before
    res = optimize.sweep_caps(caps_pp=[1, 2], products="850440", out_dir=folder, plot=False, overwrite=True)
    after = snapshot(folder)
    assert {k: after[k] for k in before} == before and "sweep.csv" in after and len(res.table)


def test_screen_out_folder_keeps_foreign_files(cli_main, runner, tmp_path):
    """A screen's folder follows run's rule: a foreign file refuses the folder (exit 5) unless --overwrite,
    and is never changed; a foreign file in the way of a table is refused even then."""
    out = tmp_path / "screen"
    out.mkdir()
    (out / "notes.txt").write_text("my notes\n")
    r = runner.invoke(cli_main, ["screen", "single", "--out", str(out)])
    assert r.exit_code == 5 and "--overwrite" in r.output and sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    r = runner.invoke(cli_main, ["screen", "single", "--out", str(out), "--overwrite"])
    assert r.exit_code == 0 and (out / "screen_single.csv").read_text().startswith('"k",'), r.output
    assert (out / "notes.txt").read_text() == "my notes\n"
    (out / "screen_ec.csv").write_text("mine\n")
    r = runner.invoke(cli_main, ["screen", "ec", "--out", str(out), "--overwrite"])
    assert r.exit_code == 5 and (out / "screen_ec.csv").read_text() == "mine\n", r.output


def test_analyse_out_folder_is_checked_before_solving(cli_main, runner, tmp_path):
    out = tmp_path / "cost"
    out.mkdir()
    (out / "cost.csv").write_text("mine\n")
    r = runner.invoke(cli_main, ["analyse", "cost", "--set", "basket.products=['850440']", "--out", str(out)])
    assert r.exit_code == 5 and (out / "cost.csv").read_text() == "mine\n", r.output
    r = runner.invoke(cli_main, ["analyse", "cost", "--out", str(tmp_path / "cost.csv")])
    assert r.exit_code == 2 and "-o cost" in r.output  # a file name: the folder form is named


def test_write_failure_mid_file_is_exit_5_and_keeps_old_content(cli_main, runner, tmp_path, monkeypatch):
    """A disk that fills up half-way through the CSV: old folder intact, no file cut mid-row, exit 5 (not 1)."""
    from optimize.output import folder

    out = tmp_path / "screen"
    assert runner.invoke(cli_main, ["screen", "single", "--out", str(out)]).exit_code == 0
    before = snapshot(out)

    def half_then_full(path, data):  # the table's bytes, cut where the disk filled up
        Path(path).write_bytes(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(folder, "write_recorded", half_then_full)
    r = runner.invoke(cli_main, ["screen", "single", "--out", str(out), "--overwrite"])
    assert r.exit_code == 5 and "No space left" in r.output, r.output
    assert snapshot(out) == before and beside(out) == []


def test_atomic_dir_failure_leaves_foreign_and_old_files(tmp_path):
    folder, before = precious(tmp_path)
    with pytest.raises(RuntimeError), atomic.atomic_dir(folder, overwrite=True) as tmp:
        (tmp / "a.csv").write_text("x")
        raise RuntimeError("boom")
    assert snapshot(folder) == before and beside(folder) == []


def test_atomic_file_refuses_a_symlink(tmp_path):
    """A single-file output never replaces a symlink nor its target (a file tradeopt cannot prove it wrote)."""
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    with pytest.raises(OutputError, match="is a symlink"), atomic.atomic_file(link, overwrite=True) as tmp:
        tmp.write_text("new")
    assert link.is_symlink() and real.read_text() == "old" and beside(link) == []


# ---------------------------------------------------------------- batch root


def test_batch_root_refuses_foreign_files_and_resumes_its_own(tmp_path):
    folder, before = precious(tmp_path)
    with pytest.raises(OutputError, match="thesis.txt"):
        optimize.batch_run(out_dir=folder, importers="FRA", caps_pp=[1], products="850440", workers=1)
    assert snapshot(folder) == before
    out = tmp_path / "batch"
    first = optimize.batch_run(out_dir=out, importers="FRA", caps_pp=[1], products="850440", workers=1)
    second = optimize.batch_run(out_dir=out, importers="FRA", caps_pp=[1], products="850440", workers=1)
    assert len(first.computed) == 1 and second.skipped == first.computed
    owned = owned_files(out)
    assert {"batch.csv", "batch.parquet", "datapackage.json"} <= owned
    assert any(o.startswith("dataset/cells/") for o in owned)  # each part, by its hash; not the folder
    res = optimize.batch_run(out_dir=folder, importers="FRA", caps_pp=[1], products="850440", workers=1,
                             overwrite=True)
    after = snapshot(folder)
    assert {k: after[k] for k in before} == before and (res.out_dir / "batch.csv").is_file()
    assert json.loads((folder / OWNER_FILE).read_text())["tool"] == "tradeopt"


def test_leftover_temp_file_of_a_killed_write_is_not_foreign(tmp_path):
    out = atomic.claim_dir(tmp_path / "b", owns=("batch.csv", "cells/"))
    with atomic.recording(out, {"batch.csv": b"a,b\n"}):
        (out / "batch.csv").write_bytes(b"a,b\n")
    dead = leftover_name("batch.csv", "tmp", 999999999, "0123456789")  # no such process
    (out / dead).write_text("half")  # a batch killed while writing batch.csv
    assert atomic.check_out_dir(out) == out
    (out / leftover_name("thesis.txt", "tmp", os.getpid(), "0123456789")).write_text("a live writer's")
    with pytest.raises(OutputError):
        atomic.check_out_dir(out)


def test_user_files_named_like_a_dead_writers_leftover_are_kept(tmp_path):
    """A name of the leftover pattern without tradeopt's check (typed by a user) is never deleted: neither
    inside the output folder (swapped or merged) nor beside it (``remove_stale`` of the folder)."""
    out = tmp_path / "out"
    with atomic.atomic_dir(out, run_key="k") as d:
        (d / "a.csv").write_text("1\n")
    host = atomic._HOST
    inside = out / f".notes.tmp-{host}-999999999-0123456789abcdef"
    beside = tmp_path / f".out.old-{host}-999999998-0123456789abcdef"
    inside.write_text("mine")
    beside.mkdir()
    (beside / "thesis.tex").write_text("mine too")
    with pytest.raises(OutputError, match="notes"):  # a file tradeopt did not write
        atomic.check_out_dir(out, run_key="k")
    with atomic.atomic_dir(out, run_key="k", overwrite=True) as d:
        (d / "a.csv").write_text("2\n")
    assert inside.read_text() == "mine" and (beside / "thesis.tex").read_text() == "mine too"
    assert (out / "a.csv").read_text() == "2\n"
    made = tmp_path / leftover_name("out", "old", 999999997, "0123456789")  # a killed writer's
    made.mkdir()
    assert atomic.remove_stale(out) == [made] and not made.exists() and beside.exists()


def test_no_write_below_a_folder_a_batch_holds(tmp_path):
    """A live batch lock (another process: the parent of this one) guards the folders below it too."""
    batch = tmp_path / "batch"
    (batch / "dataset").mkdir(parents=True)
    lock = {"host": socket.gethostname(), "pid": os.getppid(), "run_id": "x"}
    (batch / ".tradeopt-batch.lock").write_text(json.dumps(lock))
    for write in (lambda: atomic.atomic_dir(batch / "dataset", overwrite=True).__enter__(),
                  lambda: atomic.check_out_file(batch / "dataset" / "x.parquet", overwrite=True)):
        with pytest.raises(OutputError, match="is writing into"):
            write()
    assert sorted(p.name for p in (batch / "dataset").iterdir()) == []


@pytest.mark.parametrize("part", ["../x", "/etc", "a/../../x"])
def test_derived_paths_stay_under_their_root(tmp_path, part):
    with pytest.raises(OutputError, match="leaves its folder"):
        atomic.contained(tmp_path / "root", part)
    assert atomic.contained(tmp_path / "root", "plain") == (tmp_path / "root" / "plain").resolve()
