"""Atomic file and folder writes, output ownership, and a writability preflight for outputs.

A reader never sees a half-written file or output folder: files are written to a
temporary sibling and renamed over the target (``os.replace``); folders are
built in a temporary sibling folder and renamed in. tradeopt never deletes or
replaces what it did not write: a folder is tradeopt's when its ``manifest.json``
says so and lists the files (see ``atomic_dir``); an existing file is replaced
only when asked (``overwrite``).
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from optimize.errors import OutputError, raise_if_terminated
from optimize.ownership import OWNER_FILE, OWNER_TOOL, foreign_entries, is_owned, owned_files  # noqa: F401

#: Minimum free disk space (MB) ``check_writable`` asks for by default.
MIN_FREE_MB = 50.0
#: Longest folder/file name (bytes) ``check_writable`` accepts in an output path.
MAX_NAME_BYTES = 200


def _write_failed(target: Path, exc: OSError) -> OutputError:
    return OutputError(f"cannot write {target}: {exc.strerror or exc}",
                       fix="check free disk space and permissions, or choose another output path")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary sibling and ``os.replace``; ``OSError`` -> ``OutputError``."""
    target = Path(path)
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_failed(target, exc) from exc
        raise
    return target


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8 by default, '\\n' line ends)."""
    return atomic_write_bytes(path, text.encode(encoding))


_HOST = re.sub(r"[^A-Za-z0-9]+", "_", socket.gethostname()) or "host"


def _sibling(target: Path, tag: str) -> Path:
    """Hidden sibling ``.<name>.<tag>-<host>-<pid>-<random>`` (host and pid let a later run spot dead leftovers)."""
    return target.parent / f".{target.name}.{tag}-{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:10]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: the process exists
        return True
    return True


def remove_stale(target: str | os.PathLike) -> list[Path]:
    """Delete temporary siblings of ``target`` left by killed writers (same host, process gone); return them."""
    target = Path(target)
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(tmp|old|probe)-{re.escape(_HOST)}-(\d+)-[0-9a-f]+$")
    removed = []
    if not target.parent.is_dir():
        return removed
    for p in sorted(target.parent.glob(f".{glob.escape(target.name)}.*")):
        m = pattern.match(p.name)
        if m and int(m.group(2)) != os.getpid() and not _pid_alive(int(m.group(2))):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()
            removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_dir(out_dir: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``out_dir``; on success its files arrive in ``out_dir``.

    tradeopt never deletes or replaces what it did not write. ``out_dir`` is resolved
    (a symlink is followed, never replaced). Absent or empty: the temporary folder is
    renamed in. A tradeopt folder (its ``manifest.json`` lists its files) holding
    nothing else: swapped whole. Anything else in it: ``OutputError`` (exit 5) unless
    ``overwrite``; then each file is renamed in one by one, files of the previous
    manifest that this write no longer makes are removed, and a file in the way that
    tradeopt did not write is refused. ``manifest.json`` is stamped with the files
    written (created if the block wrote none). On an exception inside the block the
    temporary folder is removed and ``out_dir`` is left as it was.
    """
    target = check_out_dir(out_dir, overwrite=overwrite)  # resolved; foreign content refused before writing
    remove_stale(target)  # leftovers of a killed earlier write of the same folder
    tmp = _sibling(target, "tmp")
    tmp.mkdir()
    try:
        yield tmp
        raise_if_terminated()  # a SIGTERM whose exception was lost never lets the outputs arrive
        _stamp_manifest(tmp, _files_under(tmp))  # manifest.json lists every file written
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):  # a write into the temporary folder failed (disk full, size limit): exit 5
            raise _write_failed(target, exc) from exc
        raise
    try:
        _commit(tmp, target, overwrite)
    except OSError as exc:
        raise OutputError(f"cannot move the finished outputs into {target}: {exc.strerror or exc}",
                          fix="check free disk space and permissions of the output folder") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _commit(tmp: Path, target: Path, overwrite: bool) -> None:
    """Bring the finished ``tmp`` into ``target`` by the rules of ``atomic_dir`` (the current directory, a
    mount point or a folder that cannot be renamed gets the file-by-file merge, keeping its inode)."""
    if not target.exists():
        os.rename(tmp, target)
        return
    old = owned_files(target)
    if target != Path.cwd().resolve() and (not any(target.iterdir()) or (old is not None
                                                                        and not foreign_entries(target, old))):
        prev = _sibling(target, "old")  # empty, or a tradeopt folder and nothing else: swap whole
        try:
            os.rename(target, prev)
        except OSError:
            prev = None
        if prev is not None:
            try:
                os.rename(tmp, target)
            except BaseException:
                os.rename(prev, target)
                raise
            shutil.rmtree(prev, ignore_errors=True)
            return
    _merge(tmp, target, overwrite)


def claim_dir(out_dir: str | os.PathLike, *, owns: tuple[str, ...], overwrite: bool = False) -> Path:
    """Make ``out_dir`` a tradeopt folder owning ``owns`` (files, or subfolders ending in '/'), for writers
    that fill a folder over time (batch). Rules of ``atomic_dir``; returns the resolved folder."""
    target = check_out_dir(out_dir, overwrite=overwrite)
    old = owned_files(target) if target.is_dir() else None
    if target.is_dir():
        mine = (old or set()) | ({OWNER_FILE} if old is not None else set())
        clash = [o for o in (*owns, OWNER_FILE) if o not in mine and os.path.lexists(target / o.rstrip("/"))]
        if clash:
            raise OutputError(f"output folder {target} already holds {', '.join(clash)}, which tradeopt did not "
                              "write; it refuses to replace them even with --overwrite",
                              fix="move those entries away or choose another output folder")
    want = sorted((old or set()) | set(owns))
    try:
        target.mkdir(parents=True, exist_ok=True)
        if old is None or sorted(old) != want:
            atomic_write_text(target / OWNER_FILE,
                              json.dumps({"tool": OWNER_TOOL, "files": want}, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise OutputError(f"cannot write in {target}: {exc.strerror or exc}",
                          fix="choose an output folder in a writable location") from exc
    return target


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
    base = Path(root).expanduser().resolve()
    path = base.joinpath(*parts).resolve()
    if path != base and base not in path.parents:
        raise OutputError(f"output path {base.joinpath(*parts)} leaves its folder {base}",
                          fix="use a plain name without '/', '\\' or '..'")
    return path


def _shown(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _refuse_foreign(target: Path, foreign: list[str]) -> OutputError:
    return OutputError(f"output folder {target} holds files tradeopt did not write ({_shown(foreign)}); "
                       "tradeopt never deletes or replaces them", fix=_OVERWRITE_FIX)


def check_out_dir(out_dir: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Preflight of an output folder (``check_writable``; a symlink is followed); the resolved folder.
    An existing folder holding anything tradeopt did not write is refused (exit 5) unless ``overwrite``."""
    target = check_writable(Path(out_dir).expanduser().resolve())
    if target.is_dir() and not overwrite:
        foreign = foreign_entries(target, owned_files(target))
        if foreign:
            raise _refuse_foreign(target, foreign)
    return target


def check_out_file(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Preflight of one output file: not a folder, not an existing file unless ``overwrite``; resolved path."""
    target = Path(path).expanduser().resolve()
    if target.is_dir():
        raise OutputError(f"output path {target} is a folder", fix="name a file, e.g. result.csv")
    if target.exists() and not target.is_file():
        raise OutputError(f"output path {target} exists and is not a regular file", fix="choose another file name")
    if target.exists() and not overwrite:
        raise OutputError(f"output file {target} exists; tradeopt does not replace files without being asked",
                          fix="choose another file name or pass --overwrite (API: overwrite=True)")
    check_writable(target.with_name(f".{target.name}.new"))  # the parent: writable, with free disk
    return target


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, *, overwrite: bool = False, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed over ``path``.

    ``path`` is resolved (a symlink is followed, its target replaced). An existing
    file is replaced only with ``overwrite``. A failure (``OSError``) is ``OutputError``
    and leaves the old file as it was.
    """
    target = check_out_file(path, overwrite=overwrite)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        raise_if_terminated()
        if target.exists() and not overwrite:  # appeared while we wrote
            raise _refuse_foreign(target.parent, [target.name])
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_failed(target, exc) from exc
        raise


def _files_under(folder: Path) -> list[str]:
    """Regular files below ``folder``, relative '/'-separated paths, sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _stamp_manifest(tmp: Path, files: list[str]) -> None:
    """Record in ``tmp/manifest.json`` (created if absent) that tradeopt wrote ``files``."""
    path = tmp / OWNER_FILE
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"tool": OWNER_TOOL}
    data["tool"] = OWNER_TOOL
    data["files"] = [f for f in files if f != OWNER_FILE]
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _conflicts(target: Path, new: list[str], old: set[str] | None) -> list[str]:
    """Files tradeopt would write into ``target`` where something it did not write is in the way."""
    bad = []
    for rel in new:
        parts = rel.split("/")
        for i in range(1, len(parts)):  # folders on the way: absent or real folders
            p = target.joinpath(*parts[:i])
            if p.is_symlink() or (p.exists() and not p.is_dir()):
                bad.append("/".join(parts[:i]))
                break
        else:
            dest = target / rel
            if dest.is_symlink() or dest.exists():
                ours = old is not None and (rel == OWNER_FILE or is_owned(rel, old))
                if not ours or dest.is_symlink() or not dest.is_file():
                    bad.append(rel)
    return sorted(set(bad))


def _merge(tmp: Path, target: Path, overwrite: bool) -> None:
    """Move the files of ``tmp`` into the existing ``target`` one by one (each an atomic rename)."""
    old = owned_files(target)
    foreign = foreign_entries(target, old)
    if foreign and not overwrite:
        raise _refuse_foreign(target, foreign)
    new = _files_under(tmp)
    conflicts = _conflicts(target, new, old)
    if conflicts:
        raise OutputError(f"output folder {target} already holds {_shown(conflicts)}, which tradeopt did not write; "
                          "it would replace them, so it refuses even with --overwrite",
                          fix="move those entries away or choose another output folder")
    manifest = json.loads((tmp / OWNER_FILE).read_text(encoding="utf-8"))
    interim = {"tool": OWNER_TOOL, "files": sorted((old or set()) | set(manifest["files"])), "partial": True}
    atomic_write_text(target / OWNER_FILE, json.dumps(interim, indent=2, sort_keys=True) + "\n")
    for rel in new:
        if rel == OWNER_FILE:
            continue
        dest = contained(target, rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / rel, dest)
    for rel in sorted((old or set()) - set(new)):
        p = target / rel
        if rel.endswith("/") or p.is_symlink() or not p.is_file():
            continue
        p.unlink()
        for d in list(p.relative_to(target).parents)[:-1]:  # now-empty folders tradeopt made for it
            with contextlib.suppress(OSError):
                (target / d).rmdir()
    os.replace(tmp / OWNER_FILE, target / OWNER_FILE)
