"""`pip install .` into a fresh venv: no top-level `cli`, one version everywhere, py.typed, no pycountry import.

The venv gets the package itself (`pip install --no-deps .`, built by pip in isolation) and
sees this interpreter's site-packages *after* its own for the dependencies, so the test
takes seconds instead of reinstalling pandas, scipy and pyarrow.
"""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _run(args, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env,
                          check=False)


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    env_dir = root / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root).stdout.strip())
    # dependencies from this interpreter, appended after the venv's own site-packages
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    res = _run([py, "-m", "pip", "install", "--no-deps", "-q", ROOT], root)
    assert res.returncode == 0, res.stderr[-3000:]
    return env_dir


def test_installed_package_has_one_version_and_no_top_level_cli(fresh_venv, tmp_path):
    py, exe = fresh_venv / "bin" / "python", fresh_venv / "bin" / "tradeopt"
    res = _run([py, "-c", "import cli"], tmp_path)
    assert res.returncode != 0 and "No module named 'cli'" in res.stderr
    probe = ("import importlib.metadata as m, pathlib, optimize, optimize.cli; "
             "print(optimize.__version__); print(m.version('tradeopt')); "
             "print(pathlib.Path(optimize.__file__).parent); print(optimize.cli.__file__)")
    res = _run([py, "-c", probe], tmp_path)
    assert res.returncode == 0, res.stderr
    version, meta_version, pkg_dir, cli_file = res.stdout.split()
    assert version == meta_version
    assert Path(pkg_dir).is_relative_to(fresh_venv), "imported the checkout, not the installed package"
    assert Path(cli_file).parent == Path(pkg_dir)
    assert (Path(pkg_dir) / "py.typed").is_file()
    out = _run([exe, "--version"], tmp_path)
    assert out.returncode == 0 and out.stdout.split()[-1] == version, out.stdout + out.stderr
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{version}"' in pyproject
    # pycountry is not a runtime dependency: the CLI and a run import nothing from it
    res = _run([py, "-c", "import sys, optimize.cli, optimize.api; print('pycountry' in sys.modules)"], tmp_path)
    assert res.stdout.strip() == "False", res.stderr
    meta = _run([py, "-c", "import importlib.metadata as m; print(m.requires('tradeopt'))"], tmp_path).stdout
    assert "pycountry" in meta and "extra == \"tables\"" in meta.replace("'", '"')
    assert not [r for r in eval(meta) if r.startswith(("pycountry", "openpyxl", "dask")) and "extra" not in r]


def test_installed_run_writes_described_datapackage(fresh_venv, tmp_path):
    """The wheel bundles docs/outputs.md, the one source of the datapackage.json field descriptions."""
    py = fresh_venv / "bin" / "python"
    code = ("import json, optimize; optimize.run(importer='NLD', figures=False, out_dir='out'); "
            "pkg = json.load(open('out/datapackage.json')); "
            "print(all(f['description'] for r in pkg['resources'] for f in r['schema']['fields']))")
    res = _run([py, "-c", code], tmp_path)
    assert res.returncode == 0 and res.stdout.strip().endswith("True"), res.stderr[-2000:]


def test_checkout_version_matches_pyproject():
    import optimize

    assert f'version = "{optimize.__version__}"' in (ROOT / "pyproject.toml").read_text()
    assert sys.version_info >= (3, 10)


@pytest.mark.parametrize("extra", ["xlsx", "dask"])
def test_missing_extra_names_it(extra, monkeypatch, tmp_path):
    from optimize.errors import InputError

    for mod in ("openpyxl", "openpyxl.styles", "openpyxl.utils", "distributed"):
        monkeypatch.setitem(sys.modules, mod, None)  # import now raises ImportError
    with pytest.raises(InputError) as exc:
        if extra == "xlsx":
            from optimize.output.xlsx import write_xlsx

            write_xlsx({}, {}, tmp_path / "r.xlsx")
        else:
            from optimize.runs.executors import connect_dask

            connect_dask("tcp://127.0.0.1:1", 1.0, quiet=True)
    assert f"tradeopt[{extra}]" in str(exc.value) and exc.value.exit_code == 2
