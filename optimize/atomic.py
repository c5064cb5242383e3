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
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

from optimize.errors import OutputError, raise_if_terminated
from optimize.outpaths import (  # noqa: F401  (re-exported)
    _refuse_foreign,
    _shown,
    _sibling,
    check_out_dir,
    check_out_file,
    check_out_holding,
    check_writable,
    contained,
    resolved,
    temp_sibling,
)
from optimize.ownership import (  # noqa: F401  (re-exported)
    _HOST,
    OWNER_FILE,
    Holding,
    foreign_entries,
    holding,
    leftover_of,
    manifest_text,
    owned_files,
    owned_records,
    read_lock,
    read_manifest,
    record,
    record_file,
)


def _write_failed(target: Path, exc: OSError) -> OutputError:
    return OutputError(f"cannot write {target}: {exc.strerror or exc}",
                       fix="check free disk space and permissions, or choose another output path")


@contextlib.contextmanager
def _replacing(target: Path, suffix: str, ready=None) -> Iterator[tuple[int, Path]]:
    """A new temporary sibling of ``target`` (open fd, path) renamed over ``target`` when the body ends well
    and ``ready()`` (which may refuse) passes; removed otherwise. ``OSError`` -> ``OutputError`` naming ``target``."""
    tmp = None
    try:
        fd, tmp = temp_sibling(target, suffix)
        yield fd, tmp
        if ready is not None:
            ready()
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_failed(target, exc) from exc
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary sibling and ``os.replace``; ``OSError`` -> ``OutputError``."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_failed(target, exc) from exc
    with _replacing(target, "") as (fd, _), os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return target


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8 by default, '\\n' line ends)."""
    return atomic_write_bytes(path, text.encode(encoding))


def remove_stale(target: str | os.PathLike) -> list[Path]:
    """Delete temporary siblings of ``target`` left by killed writers (same host, process gone); return them."""
    target = Path(target)
    removed = []
    if not target.parent.is_dir():
        return removed
    for p in sorted(target.parent.glob(f".{glob.escape(target.name)}.*")):
        if leftover_of(p.name) == target.name:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()
            removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_dir(out_dir: str | os.PathLike, *, overwrite: bool = False, run_key: str | None = None,
               manifest: dict | None = None, files: Mapping[str, bytes] | None = None) -> Iterator[Path]:
    """Yield a temporary folder beside ``out_dir`` (holding ``files``, {relative path: bytes}, each written
    once and recorded from its bytes); on success its files arrive in ``out_dir``.

    tradeopt never deletes or replaces what it did not write (``optimize.ownership``:
    listed in its sealed ``manifest.json`` with a size and SHA-256 the file still has).
    ``out_dir`` is resolved (a symlink is followed, never replaced); a folder a live
    batch holds is refused. Absent: the temporary folder is renamed in. A folder
    tradeopt created, of the same ``run_key`` (``ownership.run_key``), holding nothing
    else: swapped whole. Any other folder (even empty) is kept: its files arrive one by
    one (each rename atomic). Another run's results, or anything tradeopt did not write:
    ``OutputError`` (exit 5) unless ``overwrite``; then each file is renamed in one by
    one, proven files of the previous manifest that this write no longer makes are
    removed, and a file in the way that tradeopt did not write is refused.
    ``manifest.json`` records every file written, with the fields of ``manifest`` (e.g. the run manifest; the
    block may instead write a manifest.json of its own, which is read and completed). On
    an exception inside the block the temporary folder is removed and ``out_dir`` is
    left as it was.
    """
    target = check_out_dir(out_dir, overwrite=overwrite, run_key=run_key)  # resolved; refusals before writing
    remove_stale(target)  # leftovers of a killed earlier write of the same folder
    tmp = _sibling(target, "tmp")
    try:
        tmp.mkdir()  # inside the try: a signal right after it still removes the folder
        for rel, data in (files or {}).items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_bytes(data)
        yield tmp
        raise_if_terminated()  # a SIGTERM whose exception was lost never lets the outputs arrive
        _stamp_manifest(tmp, run_key, manifest, files or {})  # manifest.json records every file written
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):  # a write into the temporary folder failed (disk full, size limit): exit 5
            raise _write_failed(target, exc) from exc
        raise
    try:
        # again: a batch may have started meanwhile; the manifest read here is the one the commit decides by
        _, held = check_out_holding(target, overwrite=overwrite, run_key=run_key)
        _commit(tmp, target, overwrite, held)
    except OSError as exc:
        raise OutputError(f"cannot move the finished outputs into {target}: {exc.strerror or exc}",
                          fix="check free disk space and permissions of the output folder") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_dir(out_dir: str | os.PathLike, files: Mapping[str, bytes], *, overwrite: bool = False,
              run_key: str | None = None, manifest: dict | None = None) -> Path:
    """Write ``files`` ({relative path: bytes}) as the folder ``out_dir`` by the rules of ``atomic_dir``, each file
    written once, with a manifest.json of the fields of ``manifest`` (e.g. a run's); returns ``out_dir``."""
    with atomic_dir(out_dir, overwrite=overwrite, run_key=run_key, manifest=manifest, files=files):
        pass
    return Path(out_dir)


def _commit(tmp: Path, target: Path, overwrite: bool, held: Holding) -> None:
    """Bring the finished ``tmp`` into ``target`` by the rules of ``atomic_dir`` (``held``: its manifest, as
    read for this commit). Only a folder tradeopt created (its manifest says ``created``) holding nothing else
    is swapped whole; any other folder (yours, even empty, the current directory, a mount point, one that cannot
    be renamed) keeps its inode: file-by-file merge."""
    if not target.exists():
        os.rename(tmp, target)
        return
    if target != Path.cwd().resolve() and held.created and not foreign_entries(target, held.files):
        prev = _sibling(target, "old")  # a folder tradeopt made, holding nothing else: swap whole
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
    _merge(tmp, target, overwrite, held)


def claim_dir(out_dir: str | os.PathLike, *, owns: tuple[str, ...], overwrite: bool = False,
              run_key: str | None = None) -> Path:
    """Make ``out_dir`` a tradeopt folder for writers that fill it over time (batch): rules of ``atomic_dir``;
    each name in ``owns`` (files; folders end in '/') must be absent, a proven file, or a real folder
    (whose content tradeopt owns only file by file, via ``recording``). Returns the resolved folder."""
    target, held = check_out_holding(out_dir, overwrite=overwrite, run_key=run_key)
    old = held.records
    if target.is_dir():
        mine = set(old) | ({OWNER_FILE} if held.manifest is not None else set())
        clash = [o for o in (*owns, OWNER_FILE) if o not in mine and os.path.lexists(target / o.rstrip("/"))
                 and not (o.endswith("/") and (target / o).is_dir() and not (target / o.rstrip("/")).is_symlink())]
        if clash:
            raise OutputError(f"output folder {target} already holds {', '.join(clash)}, which tradeopt did not "
                              "write; it refuses to replace them even with --overwrite",
                              fix="move those entries away or choose another output folder")
    try:
        target.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target / OWNER_FILE, manifest_text({"run_key": run_key}, old))
    except OSError as exc:
        raise OutputError(f"cannot write in {target}: {exc.strerror or exc}",
                          fix="choose an output folder in a writable location") from exc
    return target


@contextlib.contextmanager
def recording(folder: Path, written: Mapping[str, bytes | None]) -> Iterator[None]:
    """Record ``written`` (relative path -> the bytes the block writes there, or None for a subfolder 'x/' with
    its own manifest) in ``folder``'s manifest around the block that writes them: before it as ``pending``
    (``ownership.manifest_text``), after it as ``files``. Two manifest writes for any number of files, and a
    kill anywhere leaves each file as it was or as recorded, both provably tradeopt's (the writer holds the
    folder's lock). On an exception the pending records stay (the next manifest keeps whichever holds)."""
    held = holding(folder)
    new = {rel: ({} if data is None else record(data)) for rel, data in written.items()}
    data = held.manifest or {}
    atomic_write_text(folder / OWNER_FILE, manifest_text(data, held.records, pending=new))
    yield
    atomic_write_text(folder / OWNER_FILE, manifest_text(data, {**held.records, **new}))


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, *, overwrite: bool = False, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed over ``path``.

    ``path`` is resolved (a symlink is followed, its target replaced). An existing
    file is replaced only with ``overwrite``. A failure (``OSError``) is ``OutputError``
    and leaves the old file as it was.
    """
    target = check_out_file(path, overwrite=overwrite)

    def ready() -> None:
        raise_if_terminated()
        if target.exists() and not overwrite:  # appeared while we wrote
            raise _refuse_foreign(target.parent, [target.name])

    with _replacing(target, suffix, ready) as (fd, tmp):
        os.close(fd)
        yield Path(tmp)


def _files_under(folder: Path) -> list[str]:
    """Regular files below ``folder``, relative '/'-separated paths, sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _stamp_manifest(tmp: Path, run_key: str | None, manifest: dict | None = None,
                    known: Mapping[str, bytes] | None = None) -> None:
    """Write ``tmp/manifest.json`` (sealed): ``manifest`` (else the one the block wrote, if any), every file
    written and the ``run_key``; the files of ``known`` ({relative path: bytes written}) recorded from those
    bytes, the others from the file (memoised: ``ownership.write_recorded``)."""
    path, known = tmp / OWNER_FILE, known or {}
    data = manifest if manifest is not None else json.loads(path.read_text(encoding="utf-8")) if path.is_file() \
        else {}
    recs = {rel: record(known[rel]) if rel in known else record_file(tmp / rel)
            for rel in _files_under(tmp) if rel != OWNER_FILE}
    path.write_text(manifest_text({**data, "run_key": run_key, "created": True}, recs), encoding="utf-8")


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
                ours = old is not None and (rel == OWNER_FILE or rel in old)
                if not ours or dest.is_symlink() or not dest.is_file():
                    bad.append(rel)
    return sorted(set(bad))


def _merge(tmp: Path, target: Path, overwrite: bool, held: Holding) -> None:
    """Move the files of ``tmp`` into the existing ``target`` one by one (each an atomic rename); proven files of
    the old manifest (``held``) no longer made are removed, with the folders they leave empty inside ``target``.
    While the files move the manifest lists the old records and the new ones as ``pending``: a kill leaves
    every file provably tradeopt's, old or new."""
    foreign = foreign_entries(target, held.files)
    if foreign and not overwrite:
        raise _refuse_foreign(target, foreign)
    new = _files_under(tmp)
    conflicts = _conflicts(target, new, held.files)
    if conflicts:
        raise OutputError(f"output folder {target} already holds {_shown(conflicts)}, which tradeopt did not write; "
                          "it would replace them, so it refuses even with --overwrite",
                          fix="move those entries away or choose another output folder")
    old_recs = held.records
    manifest = json.loads((tmp / OWNER_FILE).read_text(encoding="utf-8"))
    manifest["created"] = held.created  # the folder was there before
    new_recs = {f["path"]: f for f in manifest["files"]}
    atomic_write_text(target / OWNER_FILE, manifest_text({**manifest, "partial": True}, old_recs, pending=new_recs))
    (tmp / OWNER_FILE).write_text(manifest_text(manifest, new_recs), encoding="utf-8")
    for rel in new:
        if rel == OWNER_FILE:
            continue
        dest = contained(target, rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / rel, dest)
    for rel in sorted(set(old_recs) - set(new)):
        p = contained(target, rel)
        if rel.endswith("/") or p.is_symlink() or not p.is_file():
            continue
        p.unlink()
        for d in list(Path(rel).parents)[:-1]:  # now-empty folders on its way, never ``target`` or above
            with contextlib.suppress(OSError):
                (target / d).rmdir()
    os.replace(tmp / OWNER_FILE, target / OWNER_FILE)
