"""Bad BACI inputs (tests/corpus): exact error type, message naming file/row/field/fix, exit 2, nothing written.

One test per corpus case. Library-level checks of some of these defects also live
in tests/test_baci.py and tests/test_validate.py; here each case is also run
end to end through `tradeopt run` (click's CliRunner).
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import optimize.errors as errors
from optimize.data.baci import read_baci
from optimize.errors import EXIT_INPUT
from tests.corpus import BACI_CASES, YEAR, check_complete_run_dir, files_below, leftovers


def _names_row(msg: str, row: int) -> bool:
    return f"row {row}" in msg or f"rows {row}" in msg or f"row {row}," in msg


@pytest.mark.parametrize("case", BACI_CASES, ids=[c.name for c in BACI_CASES])
def test_bad_baci_input(case, tmp_path, monkeypatch, cli_main):
    cache = tmp_path / "cache"
    monkeypatch.setenv("TRADEOPT_CACHE", str(cache))
    src_dir = tmp_path / "in"
    src_dir.mkdir()
    path = case.build(src_dir)
    kwargs = dict(case.read_kwargs)

    # 1. the library
    if case.error is not None:
        with pytest.raises(getattr(errors, case.error)) as info:
            read_baci(path, **kwargs)
        assert type(info.value) is getattr(errors, case.error)
        msg = str(info.value)
        assert str(path) in msg, msg
        assert case.needle.lower() in msg.lower(), msg
        assert "Fix:" in msg, msg
        if case.row is not None:
            assert _names_row(msg, case.row), msg
        if case.field is not None:
            assert f"'{case.field}'" in msg, msg
        assert files_below(cache) == [], "a cache file was written for a bad input"
    else:
        td = read_baci(path, **kwargs)
        assert len(td.flows) > 0
        assert td.flows["k"].map(lambda s: isinstance(s, str) and len(s) == 6 and s.isdigit()).all()
        if case.name == "hs_codes_as_integers":
            assert {"010121", "030110", "850440"} <= set(td.flows["k"])
        if "years" in kwargs:
            assert td.years == [kwargs["years"]]
    assert files_below(src_dir) == [path.name] and leftovers(tmp_path) == []

    # 2. the command line
    out = tmp_path / "out"
    cache_before = files_below(cache)
    res = CliRunner().invoke(cli_main, ["run", "--baci", str(path), "--no-figures", "--quiet", "--out", str(out),
                                        *case.cli_args])
    if case.cli_error is not None:
        assert res.exit_code == EXIT_INPUT, res.output
        assert res.output.startswith("Error: ") and "Traceback" not in res.output
        assert path.name in res.output and "Fix:" in res.output
        assert case.needle.lower() in res.output.lower(), res.output
        if case.field is not None:
            assert f"'{case.field}'" in res.output, res.output
        assert not out.exists(), "an output folder was created for a bad input"
        assert files_below(cache) == cache_before, "a cache file was written for a bad input"
    else:
        assert res.exit_code == 0, res.output
        summary = check_complete_run_dir(out)
        assert summary.get("year", json.loads((out / "manifest.json").read_text())["run"]["year"]) == YEAR
    assert leftovers(tmp_path) == []
    assert {p.name for p in tmp_path.iterdir()} <= {"in", "cache", "out"}
