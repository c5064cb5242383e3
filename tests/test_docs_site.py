"""The documentation site: `mkdocs build --strict` passes, every page, command and module is in it,
and the shipped scenario JSON Schema is the model's and fits the shipped scenarios."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCHEMA_FILE = DOCS / "scenario.schema.json"


def _nav_pages() -> set[str]:
    yaml = pytest.importorskip("yaml", reason="PyYAML (a dependency of mkdocs and dask) is not installed")
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    pages: set[str] = set()

    def walk(node):
        if isinstance(node, str):
            pages.add(node)
        elif isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            for n in node.values():
                walk(n)

    walk(nav)
    return pages


def _mkdocs() -> str:
    pytest.importorskip("mkdocs", reason="mkdocs is not installed: pip install '.[docs]' (the [test] extra has it)")
    exe = Path(sys.executable).parent / "mkdocs"
    return str(exe) if exe.exists() else shutil.which("mkdocs") or pytest.skip("no mkdocs command on PATH")


def test_mkdocs_build_strict(tmp_path):
    """`mkdocs build --strict` as the docs write it: the mkdocs command, no PYTHONPATH (the hook finds cli.py)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"NO_MKDOCS_2_WARNING": "1"}
    site = tmp_path / "site"
    res = subprocess.run([_mkdocs(), "build", "--strict", "-d", str(site)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "does not contain an anchor" not in res.stdout + res.stderr  # mkdocs.yml: validation.anchors = warn
    # the CLI pages document this checkout's cli.py (not an installed copy): every option of every command is there
    from cli import main

    pages = " ".join(p.read_text(encoding="utf-8") for p in (site / "cli").glob("*/index.html"))
    for command in main.commands.values():
        for sub in getattr(command, "commands", {command.name: command}).values():
            for opt in (o for p in sub.params if not getattr(p, "hidden", False) for o in p.opts if o.startswith("--")):
                assert opt in pages, f"{sub.name} {opt} is not in the built CLI pages"
    # the generated parts are really there: API reference from docstrings, CLI help, the schema file
    analysis = (site / "reference" / "analysis" / "index.html").read_text(encoding="utf-8")
    assert "geodep_screen" in analysis and "n_years_all_criteria" in analysis
    assert "--schema" in (site / "cli" / "scenarios" / "index.html").read_text(encoding="utf-8")
    for page in (site / "cli").glob("*/index.html"):  # click's own help text, no internal sentinels
        assert "UNSET" not in page.read_text(encoding="utf-8"), page
    assert json.loads((site / "scenario.schema.json").read_text(encoding="utf-8")) == json.loads(
        SCHEMA_FILE.read_text(encoding="utf-8"))


def test_every_page_command_and_module_is_in_the_site():
    pages = _nav_pages()
    missing = [p.name for p in DOCS.glob("*.md") if p.name not in pages]
    assert not missing, f"docs pages missing from mkdocs.yml nav: {missing}"
    assert all((DOCS / p).is_file() for p in pages), "nav names a page that does not exist"
    from cli import main

    for name in main.commands:
        assert f"cli/{name}.md" in pages, f"command {name} has no page in docs/cli/"
        assert f":command: {name}" in (DOCS / "cli" / f"{name}.md").read_text(encoding="utf-8")
        assert f"]({name}.md)" in (DOCS / "cli" / "index.md").read_text(encoding="utf-8"), name
    assert {p.name for p in main.params if p.name != "help"} <= {"version", "debug", "progress"}  # docs/cli/index.md names them
    for group in ("config", "data", "model", "solve", "analysis", "runs", "output"):
        page = (DOCS / "reference" / f"{group}.md").read_text(encoding="utf-8")
        for mod in sorted((ROOT / "optimize" / group).glob("*.py")):
            if mod.stem != "__init__":
                assert f"::: optimize.{group}.{mod.stem}\n" in page, f"optimize.{group}.{mod.stem} not in reference"


def test_schema_file_cli_and_model_agree():
    from cli import main
    from optimize.config.scenario import Scenario

    res = CliRunner().invoke(main, ["scenarios", "--schema"])
    assert res.exit_code == 0, res.output
    assert res.output == SCHEMA_FILE.read_text(encoding="utf-8"), (
        "docs/scenario.schema.json is stale: tradeopt scenarios --schema > docs/scenario.schema.json")
    schema = json.loads(res.output)
    model = Scenario.model_json_schema()
    assert schema["properties"] == model["properties"] and schema["$defs"] == model["$defs"]
    assert schema["$schema"].startswith("https://json-schema.org/draft/2020-12")


def test_shipped_scenarios_fit_the_schema_and_bad_ones_do_not():
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed (in the [test] extra)")
    from optimize.config.scenario import validate_scenario
    from optimize.errors import ScenarioError

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    files = sorted((ROOT / "models").glob("*.toml"))
    assert files
    for f in files:
        raw = tomllib.loads(f.read_text(encoding="utf-8"))
        assert not list(validator.iter_errors(raw)), f.name
    # an unknown key and a wrong type: both the schema and the loader refuse them
    raw = tomllib.loads(files[0].read_text(encoding="utf-8"))
    for bad in ({**raw, "cap": {**raw.get("cap", {}), "ppp": 3}}, {**raw, "cap": {**raw.get("cap", {}), "pp": "five"}}):
        assert list(validator.iter_errors(bad))
        with pytest.raises(ScenarioError):
            validate_scenario(bad, check_countries=False)
