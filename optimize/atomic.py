"""Atomic file and directory writes, and a writability preflight for output folders.

A reader never sees a half-written file or output folder: files are written to a
temporary sibling and renamed over the target (``os.replace``); folders are
built in a temporary sibling directory and swapped in by rename.
"""
from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from optimize.errors import OutputError

#: Minimum free disk space (MB) ``check_writable`` asks for by default.
MIN_FREE_MB = 50.0


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; on success it is renamed over ``path``
    (``os.replace``), on error deleted. The one atomic file writer (for writers that need a path)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary sibling and ``os.replace``."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)


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
def atomic_dir(out_dir: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``out_dir``; on success it becomes ``out_dir``.

    An existing ``out_dir`` is replaced whole: it is renamed away, the new folder
    is renamed in, then the old one is deleted. On any exception inside the block
    the temporary folder is removed and ``out_dir`` is left as it was.
    """
    target = Path(out_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target)  # leftovers of a killed earlier write of the same folder
    tmp = _sibling(target, "tmp")
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old: Path | None = None
    try:
        if target.exists() or target.is_symlink():
            old = _sibling(target, "old")
            os.rename(target, old)
        os.rename(tmp, target)
    except BaseException as exc:
        if old is not None and not target.exists():
            with contextlib.suppress(OSError):
                os.rename(old, target)
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot move the finished outputs into {target}: {exc}",
                              fix="check permissions of the output folder's parent") from exc
        raise
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                old.unlink()
    return None


def check_writable(out_dir: str | os.PathLike, *, min_free_mb: float = MIN_FREE_MB) -> Path:
    """Preflight before solving: ``out_dir``'s parent can be created and written, with enough free disk.

    Raises ``OutputError`` naming the folder and a fix. Creates missing parents,
    never ``out_dir`` itself (outputs arrive there atomically later).
    """
    target = Path(out_dir).expanduser().absolute()
    if target.exists() and not target.is_dir():
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
