"""Output paths before writing: resolving, the writability preflight, the batch-lock and ownership checks,
and the hidden temporary siblings writers use (``optimize.atomic`` writes through these).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path

from optimize.errors import OutputError
from optimize.ownership import (
    LOCK_FILE,
    Holding,
    foreign_entries,
    holding,
    leftover_name,
    lock_is_stale,
    read_lock,
)

#: Minimum free disk space (MB) ``check_writable`` asks for by default.
MIN_FREE_MB = 50.0
#: Longest folder/file name (bytes) ``check_writable`` accepts in an output path.
MAX_NAME_BYTES = 200


def _sibling(target: Path, tag: str) -> Path:
    """Hidden sibling ``.<name>.<tag>-<host>-<pid>-<random>`` (host and pid let a later run spot dead leftovers)."""
    return target.parent / leftover_name(target.name, tag, os.getpid(), uuid.uuid4().hex[:10])


def temp_sibling(target: str | os.PathLike, suffix: str = "") -> tuple[int, Path]:
    """Create an empty hidden sibling of ``target`` to write into; return its open fd and path.

    Unlike ``tempfile.mkstemp`` (always mode 0600), the file gets 0666 minus the
    umask, as a plain ``open`` would (0644 under umask 022), so the renamed output is
    readable as any other. Named like ``_sibling`` so a killed writer's leftover is
    recognised (``remove_stale``)."""
    target = Path(target)
    while True:
        path = _sibling(target, "tmp")
        path = path.with_name(path.name + suffix)
        try:
            return os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o666), path
        except FileExistsError:  # pragma: no cover - 40 random bits
            continue


def check_writable(out_dir: str | os.PathLike, *, min_free_mb: float = MIN_FREE_MB) -> Path:
    """Preflight before solving: ``out_dir``'s parent can be created and written, with enough free disk
    (else ``OutputError`` naming the folder and a fix). Creates missing parents, never ``out_dir`` itself."""
    target = Path(out_dir).expanduser().absolute()
    longest = max((len(part.encode()) for part in target.parts), default=0)
    if longest > MAX_NAME_BYTES:  # temporary siblings add ~50 bytes to the name; most file systems allow 255
        raise OutputError(f"output path {str(target)[:80]}... has a folder name of {longest} bytes",
                          fix=f"choose an --out path whose folder names are at most {MAX_NAME_BYTES} bytes")
    try:
        is_file = target.exists() and not target.is_dir()
    except OSError as exc:  # e.g. the whole path is longer than the system allows
        raise OutputError(f"cannot use the output path {str(target)[:80]}...: {exc.strerror or exc}",
                          fix="choose a shorter --out path") from exc
    if is_file:
        raise OutputError(f"output path {target} exists and is not a folder",
                          fix="choose another --out path or remove the file")
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((a for a in (parent, *parent.parents) if a.exists() and not a.is_dir()), None)
        if blocker is not None:
            raise OutputError(f"cannot create the folder {parent} for outputs: {blocker} is a file, not a folder",
                              fix="choose an --out path that is not below a file") from exc
        raise OutputError(f"cannot create the folder {parent} for outputs: {exc.strerror or exc}",
                          fix="choose an --out path in a writable location") from exc
    probe = _sibling(target, "probe")
    try:
        probe.write_bytes(b"ok")
    except OSError as exc:
        raise OutputError(f"cannot write in {parent}: {exc.strerror or exc}",
                          fix="choose an --out path in a writable location or fix its permissions") from exc
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    free_mb = shutil.disk_usage(parent).free / 1e6
    if free_mb < min_free_mb:
        raise OutputError(f"only {free_mb:.1f} MB free on the disk of {parent} (need at least {min_free_mb:.0f} MB)",
                          fix="free disk space or choose an --out path on another disk")
    return target


_OVERWRITE_FIX = ("choose a new or empty output folder, or pass --overwrite (API: overwrite=True) to add tradeopt's "
                  "files beside them (files tradeopt did not write are never changed)")


def contained(root: str | os.PathLike, *parts: str) -> Path:
    """``root / parts`` resolved; ``OutputError`` unless it lies under the resolved ``root``."""
    base = resolved(root)
    path = resolved(base.joinpath(*parts))
    if path != base and base not in path.parents:
        raise OutputError(f"output path {base.joinpath(*parts)} leaves its folder {base}",
                          fix="use a plain name without '/', '\\' or '..'")
    return path


def resolved(path: str | os.PathLike) -> Path:
    """``path`` with ``~`` expanded and symlinks resolved; a symlink loop is ``OutputError`` (exit 5)."""
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: "Symlink loop" before Python 3.13
        raise OutputError(f"output path {path} cannot be resolved: it is a symlink loop or too deep",
                          fix="point --out at a real folder (remove the looping symlink)") from exc


def check_unlocked(folder: Path) -> None:
    """``OutputError`` (exit 5) when a batch is writing into ``folder`` (its lock is live, on another host, or
    not a lock tradeopt can read) or into a folder above it (its ``cells/``, ``dataset/``: a live lock of
    another process): no writer changes a folder a batch holds."""
    holder = read_lock(folder) if folder.is_dir() else None
    if holder is None or (holder and lock_is_stale(holder)):
        return _check_above(folder)
    path = folder / LOCK_FILE
    if not holder:
        raise OutputError(f"{path} is not a lock tradeopt wrote (not a JSON object with a host and a pid)",
                          fix=f"if no batch is running on {folder}, delete {path}")
    raise OutputError(f"a batch (pid {holder['pid']} on {holder['host']}) is writing into {folder}",
                      fix="wait for it to finish, or choose another output folder")


def _check_above(folder: Path) -> None:
    for above in folder.parents:
        holder = read_lock(above)
        if holder and not lock_is_stale(holder) and holder["pid"] != os.getpid():  # a batch writes its own cells
            raise OutputError(f"a batch (pid {holder['pid']} on {holder['host']}) is writing into {above}, "
                              f"which holds {folder}", fix="wait for it to finish, or choose another output folder")


def _shown(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _refuse_foreign(target: Path, foreign: list[str]) -> OutputError:
    return OutputError(f"output folder {target} holds files tradeopt did not write ({_shown(foreign)}); "
                       "tradeopt never deletes or replaces them", fix=_OVERWRITE_FIX)


def check_out_dir(out_dir: str | os.PathLike, *, overwrite: bool = False, run_key: str | None = None) -> Path:
    """Preflight of an output folder (``check_writable``; a symlink is followed); the resolved folder.
    A folder a live batch holds is refused (exit 5); without ``overwrite`` so is an existing folder holding
    anything tradeopt did not write, or another run's results (a manifest with another ``run_key``)."""
    return check_out_holding(out_dir, overwrite=overwrite, run_key=run_key)[0]


def check_out_holding(out_dir: str | os.PathLike, *, overwrite: bool = False,
                      run_key: str | None = None) -> tuple[Path, Holding]:
    """``check_out_dir`` and the folder's ``ownership.Holding`` it read (its manifest, read once), for the
    writer to decide by."""
    target = check_writable(resolved(out_dir))
    check_unlocked(target)
    held = holding(target)
    if target.is_dir() and not overwrite:
        foreign = foreign_entries(target, held.files)
        if foreign:
            raise _refuse_foreign(target, foreign)
        key = (held.manifest or {}).get("run_key")
        if held.manifest is not None and any(target.iterdir()) and key != run_key:
            raise OutputError(f"output folder {target} holds the results of another run "
                              f"({key or 'unnamed'}; this one is {run_key or 'unnamed'})",
                              fix="choose another output folder, or pass --overwrite (API: overwrite=True) "
                                  "to replace them")
    return target, held


def check_out_file(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Preflight of one output file: not a folder, not a symlink (even with ``overwrite``: replacing it would
    change its target, a file tradeopt cannot prove it wrote), not an existing file unless ``overwrite``;
    resolved path."""
    given = Path(path).expanduser()
    if given.is_symlink():
        raise OutputError(f"output path {given} is a symlink; tradeopt never replaces a symlink or what it points "
                          "to, even with --overwrite", fix="choose another file name or remove the symlink")
    target = resolved(path)
    if target.is_dir():
        raise OutputError(f"output path {target} is a folder", fix="name a file, e.g. result.csv")
    check_unlocked(target.parent)
    if target.exists() and not target.is_file():
        raise OutputError(f"output path {target} exists and is not a regular file", fix="choose another file name")
    if target.exists() and not overwrite:
        raise OutputError(f"output file {target} exists; tradeopt does not replace files without being asked",
                          fix="choose another file name or pass --overwrite (API: overwrite=True)")
    check_writable(target.with_name(f".{target.name}.new"))  # the parent: writable, with free disk
    return target


