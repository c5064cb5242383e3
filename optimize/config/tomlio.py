"""Scenario TOML text: read a file (one clear error per problem), write values and dicts (tomli-w)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from optimize.errors import ScenarioError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def read_toml(path: Path) -> dict:
    """Parse a UTF-8 TOML file (a UTF-8 BOM is skipped); syntax errors, another encoding or nesting too deep
    become ScenarioError with the line or byte."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ScenarioError(f"cannot read the scenario file: {exc}", file=str(path), fix="check the path") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        raise ScenarioError("the file is UTF-16 (or holds NUL bytes), not UTF-8 text", file=str(path),
                            fix="save the file as UTF-8")
    try:
        return tomllib.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ScenarioError(f"not UTF-8 text: byte {exc.start} (line {line}) cannot be decoded", file=str(path),
                            fix="save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML: {exc}", file=str(path), fix="fix the TOML syntax at that line") from None
    except RecursionError:
        raise ScenarioError("arrays or tables are nested too deeply", file=str(path),
                            fix="a scenario needs at most two levels: [section] and key = value") from None


def toml_value(v: Any) -> str:
    """A Python value as TOML value text (for building ``--set`` strings)."""
    import tomli_w

    if isinstance(v, (list, tuple)):  # one line, so it fits a ``--set key=value`` string
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{tomli_w.dumps({str(k): 0}).rsplit('=', 1)[0].strip()} = {toml_value(x)}"
                               for k, x in v.items()) + "}"
    return tomli_w.dumps({"v": v}).split("=", 1)[1].strip()


def dumps_toml(d: dict) -> str:
    """A scenario dict (top-level scalars, then one table per section) as TOML text."""
    import tomli_w

    return tomli_w.dumps(d)
