"""Bad scenario files, overrides and basket files (tests/corpus): ScenarioError naming file and key, exit 2.

Library-level checks of the scenario schema live in tests/test_scenario.py; here
each corpus case runs end to end through `tradeopt run` on a small valid data
file and must stop with exit 2 before anything is written.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from optimize.config.scenario import load_scenario
from optimize.errors import EXIT_INPUT, ScenarioError
from optimize.runs.pipeline import prepare
from tests.corpus import NAME, SCENARIO_CASES, base_rows, files_below, leftovers, write_csv


@pytest.mark.parametrize("case", SCENARIO_CASES, ids=[c.name for c in SCENARIO_CASES])
def test_bad_scenario_input(case, tmp_path, monkeypatch, cli_main):
    cache = tmp_path / "cache"
    monkeypatch.setenv("TRADEOPT_CACHE", str(cache))
    data = write_csv(tmp_path / NAME, base_rows())
    args = case.args(tmp_path)
    out = tmp_path / "out"
    before = files_below(tmp_path)
    res = CliRunner().invoke(cli_main, ["run", "--baci", str(data), *args, "--no-figures", "--quiet",
                                        "--out", str(out)])
    assert res.exit_code == EXIT_INPUT, res.output
    msg = res.output
    assert msg.startswith("Error: ") and "Traceback" not in msg
    assert f"field '{case.key}'" in msg, msg
    assert case.needle.lower() in msg.lower(), msg
    assert "Fix:" in msg
    if case.names_file:
        named = [a for a in args if a.endswith((".toml", ".csv"))]
        assert named and named[0] in msg, msg
    else:  # a command-line option: the message names the option's override
        assert "override" in msg or "--set" in msg or data.name in msg, msg
    assert not out.exists()
    # a parquet cache of the (valid) data file may appear; nothing else
    assert [f for f in files_below(tmp_path) if not f.startswith("cache/")] == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("case", [c for c in SCENARIO_CASES if c.args.__name__ == "args" and c.names_file],
                         ids=lambda c: c.name)
def test_bad_scenario_file_raises_scenario_error_in_the_library(case, tmp_path):
    """The same files through the Python API: ``load_scenario`` + ``prepare`` raise ScenarioError (not a crash)."""
    data = write_csv(tmp_path / NAME, base_rows())
    args = case.args(tmp_path)
    with pytest.raises(ScenarioError) as info:
        if args[0] == "--scenario":
            load_scenario(args[1])
        else:
            prepare(load_scenario("default", [f"basket.file=\"{args[1]}\""]), str(data))
    assert info.value.field == case.key


def test_reliability_doc_is_backed_by_tests():
    """docs/reliability.md: every table row names a test that exists; every corpus case has a row."""
    import ast
    import re
    from pathlib import Path

    from tests.corpus import BACI_CASES

    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "reliability.md").read_text(encoding="utf-8")
    short = {"C": "tests/test_corpus_baci.py::test_bad_baci_input",
             "S": "tests/test_corpus_scenario.py::test_bad_scenario_input"}
    lines = text.splitlines()
    rows = [ln for ln, nxt in zip(lines, lines[1:] + [""], strict=True) if ln.startswith("| ") and not ln.startswith("| ---")
            and not nxt.startswith("|---") and not nxt.startswith("| ---")]  # a header is followed by |---
    assert len(rows) >= 50
    files = dict(re.findall(r"`([A-Z])` = `(tests/[\w/]+\.py)`", text))  # file abbreviations the doc defines
    defined: dict[str, set[str]] = {}
    cited_cases = {"C": set(), "S": set()}
    for ln in rows:
        refs = re.findall(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^\]]*\])?`", ln)
        for s, name in re.findall(r"`([A-Z])::(\w+)(?:\[[^\]]*\])?`", ln):  # `B::test` with `B` = `tests/f.py`
            refs.append((files[s], name))
        for s, case in re.findall(r"`([CS])\[(\w+)\]`", ln):
            cited_cases[s].add(case)
            refs.append(tuple(short[s].split("::")))
        assert refs, f"row without a test: {ln[:80]}"
        for path, name in refs:
            if path not in defined:
                tree = ast.parse((root / path).read_text(encoding="utf-8"))
                defined[path] = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
            assert name in defined[path], f"{path}::{name} does not exist"
    assert cited_cases["C"] == {c.name for c in BACI_CASES}
    assert cited_cases["S"] == {c.name for c in SCENARIO_CASES}
