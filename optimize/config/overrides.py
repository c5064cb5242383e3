"""Scenario overrides: ``--set KEY=VALUE`` strings parsed once, and ``{dotted key: value}`` updates applied.

Unknown keys fail naming the key with a close match (``cap.ppp`` -> ``cap.pp``).
``Scenario.update`` and ``load_scenario`` apply overrides through here; ``model`` is the schema
root (``Scenario``) whose fields name the allowed keys.
"""
from __future__ import annotations

import difflib
import sys
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from optimize.errors import ScenarioError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"cap.pp=3"`` -> (["cap", "pp"], 3). Values are TOML values; bare words are strings."""
    if "=" not in text:
        raise ScenarioError(f"override {text!r} has no '='", file="--set", fix="write KEY=VALUE, e.g. cap.pp=3")
    key, raw = (s.strip() for s in text.split("=", 1))
    path = [p for p in key.split(".") if p]
    if not path:
        raise ScenarioError(f"override {text!r} has an empty key", file="--set", fix="write KEY=VALUE, e.g. cap.pp=3")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # bare string: importer.countries=NLD
    except RecursionError:
        raise ScenarioError(f"override {key!r}: the value is nested too deeply", file="--set", field=key,
                            fix="give a number, a string or a flat list") from None
    return path, value


def _check_override_key(path: list[str], root: Any) -> None:
    """Unknown override keys fail here, naming the key (dict-valued keys may take a sub-key)."""
    model: Any = root
    for depth, part in enumerate(path):
        fields = getattr(model, "model_fields", None)
        if fields is None:  # inside a dict-valued field (cap.exporter_pp.CHN) or below a scalar
            if depth == len(path) - 1 and typing.get_origin(model) is dict:
                return
            break
        if part not in fields:
            close = difflib.get_close_matches(part, list(fields), n=1)
            key = ".".join(path[: depth + 1])
            suggestion = ".".join(path[:depth] + [close[0]]) if close else ""
            hint = f"did you mean '{suggestion}'?" if close else f"allowed: {', '.join(fields)}"
            raise ScenarioError(f"unknown key '{key}' in override", file="--set", field=key, fix=hint)
        model = fields[part].annotation
    else:
        return
    key = ".".join(path)
    raise ScenarioError(f"override key '{key}' is too deep", file="--set", field=key, fix="see models/README.md")


def _set_dotted(raw: dict, path: list[str], value: Any, root: Any) -> None:
    """Set ``raw[a][b]... = value`` in place after checking the key against the schema."""
    _check_override_key(path, root)
    node = raw
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def parse_sets(overrides: Iterable[str], model: Any) -> dict[str, Any]:
    """``--set`` strings -> ``{dotted key: value}`` (parsed once; later strings win)."""
    out: dict[str, Any] = {}
    for text in overrides:
        path, value = parse_override(text)
        _check_override_key(path, model)
        out[".".join(path)] = value
    return out


def apply_overrides(raw: dict, overrides: Iterable[str] | Mapping[str, Any], model: Any) -> dict:
    """Apply ``--set`` strings or a ``{dotted key: value}`` mapping to a raw scenario dict (a copy).

    A new ``importer.countries`` without a new ``importer.label`` clears the label, so
    reports never name the old importer.
    """
    out = _deep_copy(raw)
    updates = dict(overrides) if isinstance(overrides, Mapping) else parse_sets(overrides, model)
    if "importer.countries" in updates and "importer.label" not in updates:
        updates["importer.label"] = ""
    for dotted, value in updates.items():
        _set_dotted(out, [p for p in str(dotted).split(".") if p], value, model)
    return out


def _deep_copy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _deep_copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deep_copy(v) for v in d]
    return d


