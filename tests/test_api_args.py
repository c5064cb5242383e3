"""Every public function refuses arguments of the wrong type or range with a ``TradeoptError`` naming the
argument (never a bare ``TypeError``/``AttributeError`` from deep inside, never a NaN answer), and the CLI
refuses the same values through the same check."""
from __future__ import annotations

import ast
import importlib
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import optimize
from optimize import api
from optimize.errors import InputError, TradeoptError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def result():
    return api.run(figures=False)


def _cases(tmp: Path, result):
    """(call, argument the error must name); each call is refused before any solve."""
    out = str(tmp / "o")
    return [
        (lambda: api.run(scenario=123), "scenario"),
        (lambda: api.run(out_dir=123), "out_dir"),
        (lambda: api.run(unknown_kw=1), "unknown_kw"),
        (lambda: api.run(save_lp=[1]), "save_lp"),
        (lambda: api.run(data=3.5), "data"),
        (lambda: api.run(overwrite="yes"), "overwrite"),
        (lambda: api.run(None, None, None), "run"),  # a third positional argument
        (lambda: api.load_trade(importers=5.5), "importers"),
        (lambda: api.load_trade(exporters=[None]), "exporters"),
        (lambda: api.load_trade(source=object()), "source"),
        (lambda: api.load_trade(years=["2023x", 1.5]), "years"),
        (lambda: api.load_trade(products=7), "products"),
        (lambda: api.load_trade(cache="no"), "cache"),
        (lambda: api.batch_run(out_dir=None), "out_dir"),
        (lambda: api.batch_run(), "batch_run"),  # out_dir missing
        (lambda: api.batch_run(out_dir=out, workers="two"), "workers"),
        (lambda: api.batch_run(out_dir=out, workers=0), "workers"),
        (lambda: api.batch_run(out_dir=out, workers=-1), "workers"),
        (lambda: api.batch_run(out_dir=out, workers=1.5), "workers"),
        (lambda: api.batch_run(out_dir=out, workers=True), "workers"),
        (lambda: api.batch_run(out_dir=out, importers=5.5), "importers"),
        (lambda: api.batch_run(out_dir=out, years=[2023.5]), "years"),
        (lambda: api.batch_run(out_dir=out, risk_sets=[[1]]), "risk_sets"),
        (lambda: api.batch_run(out_dir=out, cap_bases=5), "cap_bases"),
        (lambda: api.batch_run(out_dir=out, caps_pp=["x"]), "caps_pp"),
        (lambda: api.sweep_caps(caps_pp=None), "caps_pp"),
        (lambda: api.sweep_caps(caps_pp={"a": 1}), "caps_pp"),
        (lambda: api.screen("single", importer=None), "importer"),
        (lambda: api.screen(5), "kind"),
        (lambda: api.screen("single", year="2023"), "year"),
        (lambda: api.screen("single", supplier=["CHN"]), "supplier"),
        (lambda: api.figures(None, out), "result"),
        (lambda: api.figures(result, None), "out_dir"),
        (lambda: api.load_scenario(overrides=[123]), "overrides"),
        (lambda: api.load_scenario(overrides="cap.pp=3"), "overrides"),
        (lambda: api.load_scenario(name_or_path=1.0), "name_or_path"),
        (lambda: result.write(123), "out_dir"),
        (lambda: result.write(out, overwrite=None), "overwrite"),
        (lambda: result.write(out, figures="no"), "figures"),
        (lambda: result.write(out, eur_per_usd=math.nan), "eur_per_usd"),
        (lambda: result.write(out, bogus=1), "write"),
        (lambda: api.binding(top=-1), "top"),
        (lambda: api.binding(top=0), "top"),
        (lambda: api.frontier(points="11"), "points"),
        (lambda: api.frontier(points=1), "points"),
        (lambda: api.frontier_figure(None, out), "table"),
        (lambda: api.data_info(123), "path"),
        (lambda: api.validate_data(None), "path"),
        (lambda: api.validate_data("x.csv", single_year=1), "single_year"),
        (lambda: api.convert_data(5), "path"),
        (lambda: api.convert_data("x.csv", year="2023"), "year"),
        (lambda: api.fetch(hs=22), "hs"),
        (lambda: api.cost(scenario=[]), "scenario"),
        (lambda: api.screen("single", supplier=""), "supplier"),
        (lambda: api.screen("single", sectors=True), "sectors"),
        (lambda: api.load_trade(importers=""), "importers"),
        (lambda: api.convert_data("x.csv", comtrade=5), "comtrade"),
        (lambda: api.frontier_figure(result.tables.exposure, out), "table"),
    ]


def test_one_year_or_one_importer_code_is_read_as_a_list_of_one(tmp_path):
    """``years=2022`` / ``importers=999`` are refused as absent from the data (used to be a bare TypeError)."""
    with pytest.raises(TradeoptError, match="2022"):
        api.batch_run(out_dir=tmp_path / "b", years=2022)
    with pytest.raises(TradeoptError, match="2022"):
        api.screen("single", years=2022)
    with pytest.raises(TradeoptError, match="999"):
        api.batch_run(out_dir=tmp_path / "c", importers=999)
    with pytest.raises(TradeoptError, match="2022"):  # was a bare TypeError: 'int' object is not iterable
        api.trend(years=2022)


def test_every_wrong_argument_is_a_tradeopt_error_naming_it(tmp_path, result):
    for call, name in _cases(tmp_path, result):
        with pytest.raises(TradeoptError) as err:
            call()
        assert isinstance(err.value, InputError), (name, err.value)
        assert err.value.field == name, (name, str(err.value))
    assert not (tmp_path / "o").exists()  # nothing was written


@pytest.mark.parametrize("cap", [math.nan, math.inf, -math.inf, -5, 100.5, 1e9])
def test_batch_and_sweep_refuse_caps_outside_0_100(tmp_path, cap):
    with pytest.raises(InputError, match=r"outside \[0, 100\]") as err:
        api.batch_run(out_dir=tmp_path / "b", caps_pp=[cap])
    assert err.value.field == "caps_pp"
    with pytest.raises(InputError, match=r"outside \[0, 100\]"):
        api.sweep_caps(caps_pp=[0, cap])
    assert not (tmp_path / "b").exists()


def test_cli_and_api_refuse_caps_with_one_message(tmp_path, cli_main):
    with pytest.raises(InputError) as err:
        api.batch_run(out_dir=tmp_path / "a", caps_pp="101")
    res = CliRunner().invoke(cli_main, ["batch", "--caps", "101", "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and err.value.message in res.output


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_cli_refuses_workers_below_one(tmp_path, cli_main, workers):
    res = CliRunner().invoke(cli_main, ["batch", "--workers", workers, "--out", str(tmp_path / "b")])
    assert res.exit_code == 2, res.output
    assert "workers must be an integer >= 1" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "b").exists()


def test_cli_refuses_binding_top_below_one(cli_main):
    res = CliRunner().invoke(cli_main, ["analyse", "binding", "--top", "-1"])
    assert res.exit_code == 2 and "top must be an integer >= 1" in res.output


@pytest.mark.parametrize("years", ["0", "0,2023"])
def test_batch_year_zero_is_refused_naming_the_years_present(tmp_path, cli_main, years):
    res = CliRunner().invoke(cli_main, ["batch", "--years", years, "--out", str(tmp_path / "b")])
    assert res.exit_code == 2, res.output
    assert "year 0 is not in the data (years: [2023])" in res.output
    with pytest.raises(InputError, match=r"year 0 is not in the data \(years: \[2023\]\)"):
        api.batch_run(out_dir=tmp_path / "c", years=[0])


def _doc_names() -> tuple[set[str], set[str]]:
    """Dotted ``optimize...`` names docs/api.md uses: (in its prose and tables, in its Python code blocks)."""
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    prose = set(re.findall(r"`(optimize(?:\.\w+)+)", text))
    code: set[str] = set()
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        for node in ast.walk(ast.parse(block)):
            parts = []
            while isinstance(node, ast.Attribute):
                parts.insert(0, node.attr)
                node = node.value
            if parts and isinstance(node, ast.Name) and node.id == "optimize":
                code.add(".".join(["optimize", *parts]))
    return prose, code


def test_every_name_docs_api_uses_imports_as_written():
    prose, code = _doc_names()
    assert "optimize.api.SCENARIO_KEYWORDS" in prose and "optimize.run" in code
    for dotted in sorted(prose | code):  # importing submodules on the way, as ``import a.b.c`` would
        parts = dotted.split(".")
        obj = optimize
        for i, part in enumerate(parts[1:], start=2):
            if not hasattr(obj, part) and hasattr(obj, "__path__"):
                importlib.import_module(".".join(parts[:i]))
            assert hasattr(obj, part), dotted
            obj = getattr(obj, part)
    # after a plain ``import optimize`` (a fresh interpreter), as the docs' code and prose write them
    plain = sorted(code | {"optimize.api.SCENARIO_KEYWORDS", "optimize.api.run"})
    script = "import functools, optimize\n" + "".join(
        f"functools.reduce(getattr, {d.split('.')[1:]!r}, optimize)\n" for d in plain)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
