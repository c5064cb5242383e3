"""A resumable folder (batch, trend): its content key, its one writer (lock file), and the partitioned
Parquet dataset.

Layout of ``<out>/``::

    dataset/cells/year=<Y>/cap_basis=<B>/part-<run>-<n>.parquet   one row per cell
    dataset/risk/year=<Y>/cap_basis=<B>/part-<run>-<n>.parquet    one row per cell and risk country (+ ALL)
    .tradeopt-batch.lock                                          {"host", "pid", "run_id"} of the writer

(a trend's tables: ``runs.trendstore``). Each part is written atomically, the detail parts (``risk``) before
the record part (``cells``); the record parts are the resume record: a cell (a trend's year) is finished
when a record row with the run's ``scenario_hash`` names it. The hash covers the resolved scenario, the
cell options and the identity of the data (path and content SHA-256 of every
file read, release and HS revision from the name; or a hash of an in-memory
frame), so changed data never resume.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from optimize.atomic import _HOST, atomic_write_bytes, owned_files, read_lock, recording
from optimize.errors import OutputError
from optimize.ownership import LOCK_FILE, dead_leftover, file_sha256, lock_is_stale, sha256_bytes

DATASET = "dataset"
PARTITIONS = ("year", "cap_basis")


# ------------------------------------------------------------------ content key


def frame_digest(df: pd.DataFrame) -> str:
    """sha256 of a frame's values and column names (row order matters)."""
    h = hashlib.sha256(json.dumps([str(c) for c in df.columns]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def data_identity(scenario, data=None) -> dict:
    """What the batch reads: in-memory data by content hash, files by path and content SHA-256."""
    from optimize.data.trade import TradeData

    if isinstance(data, TradeData):
        return {"frame": frame_digest(data.flows), "source": data.source, "release": data.release,
                "hs": data.hs_revision, "sha256": data.sha256}
    if isinstance(data, pd.DataFrame):
        return {"frame": frame_digest(data)}
    path = data if data is not None else (scenario.data.baci or None)
    if path is None:
        from optimize.data.baci import SAMPLE_FILE
        from optimize.resources import data_dir

        path = data_dir() / SAMPLE_FILE
    p = Path(path).expanduser()
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    out: dict = {"path": str(p.resolve()), "files": []}
    for f in files:  # by content, as the parquet cache: a same-size edit with the mtime put back is seen
        try:
            out["files"].append([str(f.resolve()), file_sha256(f)])
        except OSError:
            out["files"].append([str(f), None])
    with contextlib.suppress(Exception):
        from optimize.data.baci import parse_name

        out["name"] = parse_name(p.name)
    return out


def scenario_hash(scenario, options, data=None) -> str:
    """sha256 (16 hex) of the resolved scenario, the data's identity and the cell options."""
    blob = json.dumps({"scenario": scenario.resolved(), "data": data_identity(scenario, data),
                       "options": {k: v for k, v in options.__dict__.items() if k != "fast"}},
                      sort_keys=True, default=str)
    return sha256_bytes(blob.encode())[:16]


# ------------------------------------------------------------------ one writer


def acquire_lock(out: Path, run_id: str) -> Path:
    """Create ``out/.tradeopt-batch.lock`` naming this process; a lock of a dead process on this host is taken over.

    A live holder (or one on another host) -> ``OutputError`` naming it.
    """
    path = out / LOCK_FILE
    me = {"host": socket.gethostname(), "pid": os.getpid(), "run_id": run_id, "started": time.time()}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            holder = read_lock(out) or {}
            same_host = holder.get("host") == me["host"]
            if holder and lock_is_stale(holder):
                with contextlib.suppress(OSError):
                    os.unlink(path)  # stale: its owner is dead
                continue
            if not holder:  # being written right now, or unreadable: give the writer a moment
                time.sleep(0.2)
                if not read_lock(out):
                    raise OutputError(f"{path} is not a lock tradeopt wrote (not a JSON object with a host and a "
                                      "pid)", fix=f"if no batch is running on {out}, delete {path}") from None
                continue
            raise OutputError(
                f"another batch (pid {holder.get('pid')} on {holder.get('host')}, run {holder.get('run_id')}) "
                f"is writing into {out}",
                fix="wait for it to finish, or use another --out folder"
                + ("" if same_host else f"; if that batch is dead, delete {path}")) from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(me, fh)
        return path
    raise OutputError(f"cannot take the lock {path}", fix="retry, or delete the file if no batch is running")


def release_lock(path: Path) -> None:
    if (read_lock(path.parent) or {}).get("pid") == os.getpid():
        with contextlib.suppress(OSError):
            os.unlink(path)


def remove_stale(out: Path) -> list[Path]:
    """Temporary leftovers of dead writers (called while holding the lock).

    Folders and files named ``.<name>.tmp|old-<host>-<pid>-<hex>[.<ext>]`` (``atomic_dir``,
    ``atomic.temp_sibling``) in the folder, ``cells/`` and ``dataset/`` go only when that
    process is dead on this host (``ownership.dead_leftover``); nothing else is touched.
    """
    removed: list[Path] = []
    ds = out / DATASET
    leftovers = [*(p for base in (out, out / "cells") if base.is_dir() for p in base.glob(".*")),
                 *(ds.rglob(".*") if ds.is_dir() and not ds.is_symlink() else ())]
    for p in leftovers:
        if dead_leftover(p.name):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() and not p.is_symlink() else p.unlink(missing_ok=True)
            removed.append(p)
    return removed


# ------------------------------------------------------------------ the dataset


def _parts(out: Path, table: str) -> list[Path]:
    """The parts of ``table`` that tradeopt provably wrote (listed in the folder's manifest with their hash):
    a user's ``part-*.parquet`` is never read, replaced or deleted."""
    mine = owned_files(out) or set()
    return sorted(f for f in (out / DATASET / table).glob("year=*/cap_basis=*/part-*.parquet")
                  if f.relative_to(out).as_posix() in mine)


def write_parts(out: Path, tables: Mapping[str, pd.DataFrame], digest: str, run_id: str, seq: int) -> None:
    """Append one part per (year, cap basis) to each of ``tables`` ({name: frame}; batch: ``risk`` then
    ``cells``), the record table (``finished`` reads it) last; each part is recorded (size and SHA-256) in the
    folder's manifest as it is written (``atomic.recording``), so it is provably tradeopt's."""
    parts: dict[str, bytes] = {}
    for table, frame in tables.items():
        frame = frame.assign(scenario_hash=digest, run_id=run_id)
        for (year, basis), part in frame.groupby(list(PARTITIONS), sort=True):
            buf = io.BytesIO()
            part.drop(columns=list(PARTITIONS)).reset_index(drop=True).to_parquet(buf, index=False)
            parts[f"{DATASET}/{table}/year={int(year)}/cap_basis={basis}/part-{run_id}-{seq:05d}.parquet"] = \
                buf.getvalue()
    taken = [rel for rel in parts if os.path.lexists(out / rel)]
    if taken:  # a run id is unique: only a file tradeopt did not write can be there
        raise OutputError(f"the folder {out} already holds {taken[0]}, which this run did not write",
                          fix="move that file away and run again (finished cells and years are kept)")
    with recording(out, parts):
        for rel, data in parts.items():
            atomic_write_bytes(out / rel, data)


def _read_parts(paths: list[Path]) -> pd.DataFrame:
    frames = []
    for f in paths:
        year = int(f.parent.parent.name.split("=", 1)[1])
        basis = f.parent.name.split("=", 1)[1]
        try:
            df = pd.read_parquet(f)
        except Exception:  # an unreadable part is not a finished record  # noqa: BLE001
            continue
        frames.append(df.assign(year=year, cap_basis=basis))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def tidy_dataset(out: Path, digest: str, *, replace: bool = False, tables: Sequence[str] = ("risk", "cells")) -> None:
    """Drop parts of another scenario hash (another scenario, cell options or data: another run's results,
    replaced only with ``replace``, else ``OutputError``) and parts of the detail ``tables`` whose part of the
    record table (the last of ``tables``) is missing (a writer killed between the two)."""
    *details, record = tables
    stale: dict[Path, set] = {}
    for f in [p for table in tables for p in _parts(out, table)]:
        try:
            hashes = set(pd.read_parquet(f, columns=["scenario_hash"])["scenario_hash"])
        except Exception:  # noqa: BLE001
            hashes = set()
        if hashes != {digest}:
            stale[f] = hashes
    others = sorted({str(h) for hashes in stale.values() for h in hashes} - {digest})
    if others and not replace:
        raise OutputError(f"the folder {out} holds the results of another batch or trend (content key "
                          f"{', '.join(others[:3])}; this one is {digest}: another scenario, cell options or data)",
                          fix="choose another --out folder, or pass --overwrite (API: overwrite=True) to replace them")
    for f in stale:
        f.unlink(missing_ok=True)
    records = set(_parts(out, record))
    for table in details:
        for f in _parts(out, table):
            if out / DATASET / record / f.relative_to(out / DATASET / table) not in records:
                f.unlink(missing_ok=True)


def finished(out: Path, digest: str, record: str = "cells") -> pd.DataFrame:
    """Rows of the ``record`` table of ``digest`` already in the dataset (executor failures excluded: they run
    again), the last one per cell key."""
    from optimize.runs.cells import WORKER_ERROR

    df = _read_parts(_parts(out, record))
    if df.empty:
        return df
    df = df.loc[(df["scenario_hash"] == digest) & ~df["status"].astype(str).str.startswith(WORKER_ERROR)]
    return df.drop_duplicates("cell_key", keep="last").reset_index(drop=True)


def read_table(out: Path, table: str, cells: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table`` that belong to the ``cells`` record rows (matched on cell key and run id)."""
    df = _read_parts(_parts(out, table))
    if df.empty or cells.empty:
        return df
    return df.merge(cells[["cell_key", "run_id"]].drop_duplicates(), on=["cell_key", "run_id"], how="inner")


def read_risk(out: Path, cells: pd.DataFrame) -> pd.DataFrame:
    """Per-risk-country rows of the ``cells`` rows (matched on cell key and run id)."""
    df = read_table(out, "risk", cells)
    return df if df.empty or cells.empty else df.drop_duplicates(["cell_key", "risk"], keep="last")


def part_files(out: Path, tables: Sequence[str]) -> dict[str, bytes]:
    """{relative path: bytes} of every part of ``tables`` that tradeopt wrote into ``out`` (a final write of
    the folder that replaces its files carries them on)."""
    return {f.relative_to(out).as_posix(): f.read_bytes() for table in tables for f in _parts(out, table)}


def new_run_id() -> str:
    """Sortable and unique: UTC time, host, pid and random bits."""
    import uuid

    return f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{_HOST[:12]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
