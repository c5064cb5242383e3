"""Which files of an output folder tradeopt wrote: its ``manifest.json`` says so and lists them.

``owned_files(folder)`` reads the list; ``foreign_entries(folder, owned)`` names every
entry tradeopt did not write (symlinks count as foreign). ``optimize.atomic`` uses
both so a run never deletes or replaces what it did not write.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

#: The file that marks a folder as tradeopt's and lists what it wrote.
OWNER_FILE = "manifest.json"
OWNER_TOOL = "tradeopt"


def owned_files(folder: str | os.PathLike) -> set[str] | None:
    """Relative paths tradeopt wrote in ``folder`` per its ``manifest.json`` (None: not a tradeopt folder);
    a listed entry ending in '/' owns that whole subfolder (e.g. a batch's ``cells/``)."""
    path = Path(folder) / OWNER_FILE
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if data.get("tool") != OWNER_TOOL or not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return set(files)


_LEFTOVER = re.compile(r"^(?P<dir>(?:.*/)?)\.(?P<name>[^/]+)\.[^./]+\.tmp$")


def is_owned(rel: str, owned: set[str]) -> bool:
    """Whether the relative path ``rel`` is tradeopt's per the ``owned`` list (a listed folder owns its content)."""
    m = _LEFTOVER.match(rel)  # a killed atomic_write_bytes' temp file of a listed file is ours too
    if m and m.group("dir") + m.group("name") in owned:
        return True
    return rel in owned or any(o.endswith("/") and rel.startswith(o) for o in owned)


def foreign_entries(folder: str | os.PathLike, owned: set[str] | None) -> list[str]:
    """Entries of ``folder`` (relative, '/'-separated, sorted) that tradeopt did not write: all but regular
    files listed in ``owned``, the manifest itself and real folders on the way to them (symlinks are foreign)."""
    root = Path(folder)
    owned = owned if owned is not None else set()
    has_manifest = bool(owned) or owned_files(root) is not None
    out: list[str] = []

    def walk(d: Path, prefix: str) -> None:
        for p in sorted(d.iterdir(), key=lambda q: q.name):
            rel = prefix + p.name
            if p.is_symlink():
                out.append(rel)
            elif p.is_dir():
                if is_owned(rel + "/", owned):
                    continue
                if any(o.startswith(rel + "/") for o in owned):
                    walk(p, rel + "/")
                else:
                    out.append(rel + "/")
            elif not (p.is_file() and (is_owned(rel, owned) or (rel == OWNER_FILE and has_manifest))):
                out.append(rel)

    walk(root, "")
    return out
