"""The documentation runs: its ```bash and ```python snippets execute, links resolve, outputs are all documented.

```bash blocks may only hold `tradeopt ...` commands (run through the checkout's
cli.py with click's CliRunner, in a temp dir); ```console blocks are shown, not run.
```python blocks are exec'd in order per page (one namespace per page).
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXECUTED = ("index.md", "getting-started.md", "api.md", "scenarios.md", "data.md")
_BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.S | re.M)


def _cli():
    from cli import main

    return main


def blocks(page: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer((DOCS / page).read_text(encoding="utf-8"))]


def test_pages_exist_and_have_snippets():
    for page in EXECUTED:
        assert blocks(page), f"{page} has no ```bash/```python snippets"


@pytest.mark.parametrize("page", EXECUTED)
def test_snippets_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main = _cli()
    namespace: dict = {"__name__": f"docs_{page}"}
    for lang, code in blocks(page):
        if lang == "python":
            exec(compile(code, f"docs/{page}", "exec"), namespace)  # noqa: S102
            continue
        for line in code.splitlines():
            line = line.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            args = shlex.split(line)
            assert args[0] == "tradeopt", f"{page}: bash blocks hold only tradeopt commands, got {line!r}"
            res = CliRunner().invoke(main, args[1:])
            assert res.exit_code == 0, f"{page}: `{line}` exited {res.exit_code}:\n{res.output}"


def test_relative_links_resolve():
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    for page in sorted(DOCS.glob("*.md")):
        for target in link.findall(page.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_every_output_column_is_documented(tmp_path):
    """Each column of each output table of a sample run is named in docs/outputs.md."""
    import pandas as pd

    import optimize

    out = tmp_path / "out"
    optimize.run(out_dir=out, eur_per_usd=0.9, figures=False)
    text = (DOCS / "outputs.md").read_text(encoding="utf-8")
    missing = []
    for f in sorted(out.glob("*.csv")) + [out / "flows.parquet"]:
        assert f"`{f.name}`" in text, f"{f.name} is not documented"
        df = pd.read_parquet(f) if f.suffix == ".parquet" else pd.read_csv(f, nrows=1)
        for col in df.columns:
            generic = re.sub(r"_(CHN|USA|RUS)$", "_<ISO3>", col)
            if col.endswith("_eur"):  # documented once, generically, beside each *_usd column
                assert "`*_eur`" in text
                generic = col[: -len("_eur")] + "_usd"
            if f"`{generic}`" not in text:
                missing.append(f"{f.name}:{col}")
    for name in sorted(p.name for p in out.iterdir() if p.is_file()):
        assert f"`{name}`" in text, f"{name} is not documented"
    assert not missing, f"undocumented columns: {missing}"


def test_troubleshooting_lists_every_exit_code():
    from optimize import errors

    text = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    for code in (errors.EXIT_INTERNAL, errors.EXIT_INPUT, errors.EXIT_INFEASIBLE, errors.EXIT_SOLVER,
                 errors.EXIT_OUTPUT, 130):
        assert re.search(rf"^\| {code} \|", text, re.M), f"exit code {code} missing"


def test_scenarios_page_covers_every_shipped_scenario():
    import optimize

    text = (DOCS / "scenarios.md").read_text(encoding="utf-8")
    for name, _ in optimize.list_scenarios():
        assert f"`{name}`" in text, name
