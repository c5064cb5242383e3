"""The CLI's scenario options come from one table (config/aliases.py) and the schema: each option sets the
same scenario key as the API keyword of the same name, and what an error exits with is errors.exit_status."""
from __future__ import annotations

import signal

import click
import pytest
from click.testing import CliRunner

import optimize
from optimize.config.aliases import ALIASES, AXES, CLI_OPTIONS, literal_choices
from optimize.config.scenario import Scenario

#: (command-line arguments, the same setting as API keywords), written out by hand for every table entry
GIVEN = {
    "baci": (["--baci", "some/BACI_HS22_V202501.zip"], {"baci": "some/BACI_HS22_V202501.zip"}),
    "intra_bloc": (["--intra-bloc", "exclude"], {"intra_bloc": "exclude"}),
    "year": (["--year", "2022"], {"year": 2022}),
    "importer": (["--importer", "NLD,BEL"], {"importer": ["NLD", "BEL"]}),
    "risk": (["--risk", "CHN,RUS"], {"risk": ["CHN", "RUS"]}),
    "friends": (["--friends", "JPN,KOR"], {"friends": ["JPN", "KOR"]}),
    "cap_pp": (["--cap", "2.5"], {"cap_pp": 2.5}),
    "cap_basis": (["--cap-basis", "rest-of-world"], {"cap_basis": "rest-of-world"}),
    "products": (["--products", "850440,854143"], {"products": "850440,854143"}),
    "sectors": (["--sector", "crm", "--sector", "ict"], {"sectors": ["crm", "ict"]}),
    "backend": (["--backend", "pyomo"], {"backend": "pyomo"}),
    "eur_per_usd": (["--eur-per-usd", "0.9"], {"eur_per_usd": 0.9}),
    "elasticities": (["--elasticities", "my/sigma.csv"], {"elasticities": "my/sigma.csv"}),
    "bands": (["--bands"], {"bands": True}),
    "xlsx": (["--xlsx"], {"xlsx": True}),
    "figures": (["--no-figures"], {"figures": False}),
    "keep_going": (["--keep-going"], {"keep_going": True}),
}


def _scenario_from(args: list[str]) -> Scenario:
    """The scenario a command decorated with every table option makes of ``args``."""
    from optimize.cli_options import scenario_options

    got = []

    @click.command()
    @scenario_options(*(k for k in CLI_OPTIONS if k not in ("baci", "intra_bloc")))
    def probe(scenario):
        got.append(scenario)

    res = CliRunner().invoke(probe, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return got[0]


def test_the_table_covers_the_test_and_names_scenario_keywords():
    assert set(GIVEN) == set(CLI_OPTIONS)
    assert set(CLI_OPTIONS) <= set(ALIASES)
    for dotted, _ in AXES.values():
        assert dotted in ALIASES.values()


@pytest.mark.parametrize("keyword", sorted(GIVEN))
def test_each_option_sets_the_key_of_its_api_keyword(keyword):
    args, keywords = GIVEN[keyword]
    via_cli = _scenario_from(args).resolved()
    via_api = optimize.load_scenario("default", **keywords).resolved()
    assert via_cli == via_api
    assert via_cli != optimize.load_scenario("default").resolved(), f"{args} changed nothing"


def test_all_options_together_and_set_applied_last():
    args = [a for a, _ in GIVEN.values() for a in a] + ["--set", "cap.pp=7"]
    keywords = {k: v for _, kw in GIVEN.values() for k, v in kw.items()}
    expected = optimize.load_scenario("default", overrides=["cap.pp=7"], **keywords)
    assert _scenario_from(args).resolved() == expected.resolved()


def test_help_says_every_option_and_the_schema_choices(cli_main):
    out = CliRunner().invoke(cli_main, ["run", "--help"]).output
    for keyword, spec in CLI_OPTIONS.items():
        assert all(flag in out for flag in spec.flag.split("/")), keyword
    for choice in literal_choices(Scenario, "solver.backend") + literal_choices(Scenario, "importer.intra_bloc"):
        assert choice in out
    cap_bases = next(p for p in cli_main.commands["batch"].params if p.name == "cap_bases")  # help generated
    assert all(basis in cap_bases.help for basis in literal_choices(Scenario, "cap.basis"))
    assert "percentage points" in out and "EUR per USD" in out  # units are said


@pytest.mark.parametrize(("exc", "code", "start"), [
    (optimize.errors.Terminated(), 128 + signal.SIGTERM, "Terminated."),
    (KeyboardInterrupt(), 130, "Interrupted."),
    (optimize.ScenarioError("bad key", field="cap.pp"), 2, "Error: field 'cap.pp': bad key"),
    (optimize.InfeasibleError("relax the cap"), 3, "Error: relax the cap"),
    (optimize.OutputError("no folder", fix="create it"), 5, "Error: no folder Fix: create it"),
    (ZeroDivisionError("x"), 1, "Internal error: ZeroDivisionError: x"),
])
def test_exit_status(exc, code, start):
    from optimize.errors import exit_status

    got_code, line = exit_status(exc)
    assert got_code == code and line.startswith(start), line


@pytest.mark.parametrize("command", [["sweep"], ["batch"], ["trend"], ["backtest", "--from", "2022", "--to", "2023"]])
def test_a_required_out_folder_is_asked_for_before_any_work(cli_main, command, tmp_path, monkeypatch):
    """-o is required for these commands: without it click says so (exit 2). Under click >= 8.3 an explicit
    default=None counted as a given value, so sweep and trend ran and printed 'written to None', and batch
    failed later on 'out_dir must be a path ... got NoneType None'."""
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli_main, [*command, "--quiet"])
    assert res.exit_code == 2 and "Missing option '-o'" in res.output, res.output
    assert list(tmp_path.iterdir()) == []


def test_batch_years_absent_from_the_data_point_at_years(cli_main, tmp_path):
    """The fix said '(--year / data.year)', an option batch does not have."""
    res = CliRunner().invoke(cli_main, ["batch", "--years", "2020-2023", "-q", "-o", str(tmp_path / "b")])
    assert res.exit_code == 2 and "--years" in res.output and "2023" in res.output, res.output


@pytest.mark.parametrize("workers", ["1", "2"])
def test_batch_names_every_absent_year(cli_main, tmp_path, workers):
    """`batch --years 2020-2023` on data of 2023 named only 2020 as missing (the first year read)."""
    res = CliRunner().invoke(cli_main, ["batch", "--years", "2020-2023", "--products", "850440", "--workers", workers,
                                        "-q", "-o", str(tmp_path / "b")])
    assert res.exit_code == 2 and "no flows for year(s) 2020, 2021, 2022 of the 4 years" in res.output, res.output
    assert "the data hold 2023" in res.output


def test_cost_lines_say_where_docs_cost_md_is(tmp_path):
    """`run` and `analyse cost` pointed to docs/cost.md, which a pip install does not ship."""
    from optimize.output.console import ces_line
    from optimize.output.costlines import cost_lines

    block = {"method": "ces", "total_usd": 2.0e6, "low_usd": 1.0e6, "high_usd": 3.0e6, "pct_of_basket": 0.1,
             "coverage": 1.0}
    for line in (ces_line(block), cost_lines(block)[0]):
        assert "docs/cost.md in the tradeopt source repository" in line, line


def test_missing_dask_extra_message_fits_every_command(monkeypatch):
    """trend --dask without the extra said 'running batch cells on a dask cluster'."""
    import sys

    from optimize.errors import InputError
    from optimize.runs.executors import connect_dask

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the [dask] extra were not installed
    with pytest.raises(InputError, match=r"tradeopt\[dask\]") as exc:
        connect_dask("local:2")
    assert "batch" not in exc.value.message and "--dask" in exc.value.message
