"""A batch folder: its content key, its one writer (lock file), and the partitioned Parquet dataset.

Layout of ``<out>/``::

    dataset/cells/year=<Y>/cap_basis=<B>/part-<run>-<n>.parquet   one row per cell
    dataset/risk/year=<Y>/cap_basis=<B>/part-<run>-<n>.parquet    one row per cell and risk country (+ ALL)
    .tradeopt-batch.lock                                          {"host", "pid", "run_id"} of the writer

Each part is written atomically, the ``risk`` part before its ``cells`` part; the
cells parts are the resume record: a cell is finished when a cells row with the
batch's ``scenario_hash`` names it. The hash covers the resolved scenario, the
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


def write_parts(out: Path, risk: pd.DataFrame, cells: pd.DataFrame, digest: str, run_id: str, seq: int) -> None:
    """Append one part per (year, cap basis) to both tables, the risk parts first; each is recorded (size and
    SHA-256) in the folder's manifest as it is written (``atomic.recording``), so it is provably tradeopt's."""
    parts: dict[str, bytes] = {}
    for table, frame in (("risk", risk), ("cells", cells)):
        frame = frame.assign(scenario_hash=digest, run_id=run_id)
        for (year, basis), part in frame.groupby(list(PARTITIONS), sort=True):
            buf = io.BytesIO()
            part.drop(columns=list(PARTITIONS)).reset_index(drop=True).to_parquet(buf, index=False)
            parts[f"{DATASET}/{table}/year={int(year)}/cap_basis={basis}/part-{run_id}-{seq:05d}.parquet"] = \
                buf.getvalue()
    taken = [rel for rel in parts if os.path.lexists(out / rel)]
    if taken:  # a run id is unique: only a file tradeopt did not write can be there
        raise OutputError(f"the batch folder {out} already holds {taken[0]}, which this batch did not write",
                          fix="move that file away and run the batch again (finished cells are kept)")
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


def tidy_dataset(out: Path, digest: str, *, replace: bool = False) -> None:
    """Drop parts of another scenario hash (another scenario, cell options or data: another run's results,
    replaced only with ``replace``, else ``OutputError``) and risk parts whose cells part is missing (a
    writer killed between the two)."""
    stale: dict[Path, set] = {}
    for f in _parts(out, "cells") + _parts(out, "risk"):
        try:
            hashes = set(pd.read_parquet(f, columns=["scenario_hash"])["scenario_hash"])
        except Exception:  # noqa: BLE001
            hashes = set()
        if hashes != {digest}:
            stale[f] = hashes
    others = sorted({str(h) for hashes in stale.values() for h in hashes} - {digest})
    if others and not replace:
        raise OutputError(f"the batch folder {out} holds the results of another batch (content key "
                          f"{', '.join(others[:3])}; this one is {digest}: another scenario, cell options or data)",
                          fix="choose another --out folder, or pass --overwrite (API: overwrite=True) to replace them")
    for f in stale:
        f.unlink(missing_ok=True)
    cells = set(_parts(out, "cells"))
    for f in _parts(out, "risk"):
        if out / DATASET / "cells" / f.relative_to(out / DATASET / "risk") not in cells:
            f.unlink(missing_ok=True)


def finished(out: Path, digest: str) -> pd.DataFrame:
    """Cells rows of ``digest`` already in the dataset (executor failures excluded: they run again)."""
    from optimize.runs.cells import WORKER_ERROR

    df = _read_parts(_parts(out, "cells"))
    if df.empty:
        return df
    df = df.loc[(df["scenario_hash"] == digest) & ~df["status"].astype(str).str.startswith(WORKER_ERROR)]
    return df.drop_duplicates("cell_key", keep="last").reset_index(drop=True)


def read_risk(out: Path, cells: pd.DataFrame) -> pd.DataFrame:
    """Per-risk-country rows of the ``cells`` rows (matched on cell key and run id)."""
    df = _read_parts(_parts(out, "risk"))
    if df.empty or cells.empty:
        return df
    want = cells[["cell_key", "run_id"]].drop_duplicates()
    return df.merge(want, on=["cell_key", "run_id"], how="inner").drop_duplicates(["cell_key", "risk"], keep="last")


def new_run_id() -> str:
    """Sortable and unique: UTC time, host, pid and random bits."""
    import uuid

    return f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{_HOST[:12]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
