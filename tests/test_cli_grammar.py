"""One CLI grammar (issue #24 item 7): a walk over the click tree checks that every command reading trade data
takes the same selection options, defined once, and that -o/--out, -q/--quiet, --figures/--no-figures and
--debug are spelt the same wherever they apply."""
from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from optimize.config.aliases import CLI_OPTIONS, SCREEN_SELECTION, SELECTION

#: The commands that read trade data (written out by hand: the walk must find exactly these).
TRADE = {"run", "batch", "sweep", "trend", "backtest", "screen ec", "screen geodep", "screen single", "analyse frontier", "analyse cost",
         "analyse binding"}
SCREENS = {c for c in TRADE if c.startswith("screen ")}
FIGURES = {"run", "batch", "sweep", "trend", "backtest", "analyse frontier"}  # commands that can draw figures


def _leaves(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    out: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        out.update(_leaves(command, path + " ") if isinstance(command, click.Group) else {path: command})
    return out


def _options(command: click.Command) -> dict[str, click.Option]:
    """Every flag of ``command`` (long, short and --no- forms) -> its option."""
    return {flag: p for p in command.params if isinstance(p, click.Option) for flag in (*p.opts, *p.secondary_opts)}


@pytest.fixture(scope="module")
def leaves(cli_main):
    return _leaves(cli_main)


def test_screen_and_analyse_are_groups_of_subcommands(cli_main):
    for name, subs in (("screen", {"ec", "geodep", "single"}), ("analyse", {"frontier", "cost", "binding"})):
        assert isinstance(cli_main.commands[name], click.Group) and set(cli_main.commands[name].commands) == subs


def test_the_trade_commands_take_the_selection(leaves):
    """Exactly the trade commands take --baci; each takes the whole selection (screens: the data part of it,
    since a screen has no risk set or cap), --year or --years, and each flag means the same everywhere."""
    assert {name for name, c in leaves.items() if "--baci" in _options(c)} == TRADE
    for name in TRADE:
        flags = _options(leaves[name])
        wanted = SCREEN_SELECTION if name in SCREENS else SELECTION
        missing = [CLI_OPTIONS[k].flag for k in wanted
                   if not all(f in flags for f in CLI_OPTIONS[k].flag.split("/"))
                   and not (k == "cap_pp" and "--caps" in flags)]  # sweep: the swept --caps is its cap
        assert not missing, f"{name} lacks {missing}"
        assert "--year" in flags or "--years" in flags or {"--from", "--to"} <= set(flags), name  # backtest
    for keyword in SELECTION:  # defined once: the same help and the same choices wherever the flag appears
        flag = CLI_OPTIONS[keyword].flag
        seen = {(o.help, tuple(getattr(o.type, "choices", ()) or ())) for n in TRADE
                if (o := _options(leaves[n]).get(flag)) is not None and o.name != "cap_bases"}
        assert len(seen) == 1, f"{flag} differs between commands: {seen}"
    basis = {tuple(_options(leaves[n])["--cap-basis"].type.choices) for n in TRADE - SCREENS}
    assert len(basis) == 1, f"--cap-basis offers different choices: {basis}"  # batch: several of the same


def test_short_flags_figures_and_debug_everywhere(leaves, cli_main):
    for name, command in leaves.items():
        flags = _options(command)
        assert "--debug" in flags, name
        if "--out" in flags:
            assert flags["--out"] is flags.get("-o"), f"{name}: --out without -o"
        if "--quiet" in flags:
            assert flags["--quiet"] is flags.get("-q"), f"{name}: --quiet without -q"
    for name in TRADE:
        assert {"-o", "-q"} <= set(_options(leaves[name])), name
    for name in FIGURES:
        assert {"--figures", "--no-figures"} <= set(_options(leaves[name])), name
    assert "--debug" in _options(cli_main) and all("--debug" in _options(g) for g in cli_main.commands.values())


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_before_or_after_the_subcommand_shows_the_traceback(cli_main, where):
    args = ["screen", "ec", "--year", "1999"]
    args = ["--debug", *args] if where == "before" else [*args, "--debug"]
    res = CliRunner().invoke(cli_main, args)
    assert res.exit_code == 2 and "Traceback" in res.output and "1999" in res.output
    plain = CliRunner().invoke(cli_main, ["screen", "ec", "--year", "1999"])
    assert plain.exit_code == 2 and "Traceback" not in plain.output


def test_old_spellings_work_or_name_the_new_one(cli_main, tmp_path):
    runner = CliRunner()
    csv = runner.invoke(cli_main, ["screen", "single", "--out", str(tmp_path / "x.csv")])
    assert csv.exit_code == 2 and "-o x" in csv.output  # --out is a folder now: the error says so
    floor = runner.invoke(cli_main, ["screen", "single", "--min-value-kusd", "1000", "-o", str(tmp_path / "k")])
    assert floor.exit_code == 0, floor.output
    import json

    assert json.loads((tmp_path / "k" / "summary.json").read_text())["settings"]["min_value_usd"] == 1e6
    bare = runner.invoke(cli_main, ["screen", "--baci", "x.zip"])  # the old default 'single' is not implied
    assert bare.exit_code == 2 and "tradeopt screen ec|geodep|single --baci x.zip" in bare.output
    bad = runner.invoke(cli_main, ["batch", "--cap-basis", "world-exports,nonsense", "-o", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "nonsense" in bad.output and not (tmp_path / "b").exists()
