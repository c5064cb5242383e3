"""Which files of an output folder tradeopt wrote, by proof: its ``manifest.json`` records each file's
path, size and SHA-256, and a file is tradeopt's only while it still matches that record (or its ``pending``
record: a file being replaced, recorded before it is written).

``holding(folder)`` reads the manifest once and says what it proves; ``owned_files(folder)`` is the set
of proven paths (None: no usable manifest);
``foreign_entries(folder, owned)`` names every entry tradeopt did not write. A
manifest that names a path outside the folder (``..``, absolute, ``\\``) or is
malformed is ignored whole and reported in one warning line, never followed. An
entry ``sub/`` is a subfolder tradeopt wrote with its own manifest (a batch's
``cells/<key>/``); its content is decided by that manifest. Symlinks are never
tradeopt's. ``optimize.atomic`` deletes or replaces only what these say is tradeopt's.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("tradeopt.output")

#: The file that marks a folder as tradeopt's and lists what it wrote.
OWNER_FILE = "manifest.json"
OWNER_TOOL = "tradeopt"
#: A batch's one-writer lock (``runs.resume``): {"host", "pid", "run_id"} of the writing process.
LOCK_FILE = ".tradeopt-batch.lock"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_reported: set[str] = set()
_hashes: dict[tuple, str] = {}  # (device, inode, size, mtime_ns, ctime_ns) -> sha256 hex, for this process
#: A file whose status changed less than this long ago (ns) is hashed again each time: file times tick
#: coarsely, so its stat cannot yet tell a same-size rewrite from the bytes hashed.
_SETTLED_NS = 2_000_000_000
#: Windows' st_ctime is the creation time, which a rewrite does not move: there every read is hashed.
_CTIME_MOVES = os.name != "nt"
_MAX_MEMO = 4096


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record(data: bytes) -> dict:
    """The manifest record of a file's content: size in bytes and SHA-256 hex."""
    return {"bytes": len(data), "sha256": sha256_bytes(data)}


def _stat_key(st: os.stat_result) -> tuple:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _remember(key: tuple, digest: str) -> None:
    if len(_hashes) >= _MAX_MEMO:
        _hashes.clear()
    _hashes[key] = digest


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file's bytes, streamed in 1 MB blocks: the one content hash (cache keys,
    manifest input and output records, batch resume keys). Memoised in this process on the file's stat
    (device, inode, size, mtime, ctime: a rewrite moves the ctime, which cannot be set back) once the file
    has been unchanged ``_SETTLED_NS``, so a batch hashes its data once for the resume key and the read."""
    key = _stat_key(os.stat(path))
    if key in _hashes:
        return _hashes[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    if _CTIME_MOVES and time.time_ns() - key[4] > _SETTLED_NS and _stat_key(os.stat(path)) == key:  # settled
        _remember(key, digest)
    return digest


def record_file(path: Path) -> dict:
    """``record`` of the file at ``path`` (its hash memoised as ``file_sha256``'s)."""
    return {"bytes": path.stat().st_size, "sha256": file_sha256(path)}


def write_recorded(path: Path, data: bytes) -> dict:
    """Write ``data`` to the new file ``path`` (in a temporary output folder) and return its ``record``, hashed
    from ``data`` and memoised on the file's stat: ``record_file`` (the manifest) does not read it back."""
    with open(path, "xb") as fh:
        fh.write(data)
    rec = record(data)
    _remember(_stat_key(path.stat()), rec["sha256"])  # hashed from the bytes written: no need to wait
    return rec


def safe_rel(rel: object) -> bool:
    """A relative '/'-separated path with plain components (no '', '.', '..', '\\', NUL); 'x/' for a folder."""
    if not isinstance(rel, str) or not rel or rel.startswith("/") or "\\" in rel or "\x00" in rel:
        return False
    parts = rel[:-1].split("/") if rel.endswith("/") else rel.split("/")
    return all(p not in ("", ".", "..") for p in parts) and not re.match(r"^[A-Za-z]:", rel)


def _seal(data: Mapping) -> str:
    body = {k: v for k, v in data.items() if k != "seal"}
    return sha256_bytes(json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode())


def _listed(records: Mapping[str, Mapping]) -> list[dict]:
    return [{"path": rel, **{k: rec[k] for k in ("bytes", "sha256") if k in rec}}
            for rel, rec in sorted(records.items())]


def manifest_text(data: Mapping, records: Mapping[str, Mapping], pending: Mapping[str, Mapping] | None = None) -> str:
    """The text of a ``manifest.json``: ``data`` with ``tool``, ``files`` (one {"path", "bytes", "sha256"} per
    file, {"path": "x/"} per subfolder, sorted) and ``seal``, the SHA-256 of the rest, which tells a manifest
    tradeopt wrote from one put together by hand. ``pending``: records of files about to be written (listed the
    same way): until the next manifest, a file is tradeopt's when it matches its ``files`` or its ``pending``
    record, so a writer killed between recording and writing leaves every file provably tradeopt's."""
    out = {**{k: v for k, v in data.items() if k not in ("files", "pending", "seal")}, "tool": OWNER_TOOL,
           "files": _listed(records)}
    if pending:
        out["pending"] = _listed(pending)
    out["seal"] = _seal(out)
    return json.dumps(out, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _report(path: Path, why: str) -> None:
    key = f"{path}:{why}"
    if key not in _reported:
        _reported.add(key)
        log.warning("ignoring %s: %s; no file is deleted or replaced on its word", path, why)


def read_manifest(folder: str | os.PathLike) -> dict | None:
    """``folder/manifest.json`` as tradeopt wrote it, its ``files`` as path -> record ({"bytes", "sha256"}, or {}
    for a subfolder 'x/'); None when there is no tradeopt manifest or it fails the checks (a wrong seal, a path
    outside the folder, a file without size and hash): then reported once and never followed."""
    path = Path(folder) / OWNER_FILE
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("tool") != OWNER_TOOL:
        return None
    if data.get("seal") != _seal(data):
        return _report(path, "it was not written by tradeopt as it is (no or a wrong 'seal')")
    lists = {key: data.get(key, []) for key in ("files", "pending")}
    if "files" not in data or not all(isinstance(v, list) for v in lists.values()):
        return _report(path, "its 'files' or 'pending' is not a list")
    out: dict[str, dict] = {}
    for key, entries in lists.items():
        out[key] = _entries(entries)
        if isinstance(out[key], str):
            return _report(path, out[key])
    return {**data, **out}


def _entries(entries: list) -> dict[str, dict] | str:
    """Path -> record of a manifest's ``files`` or ``pending`` list; the reason (str) when one entry is bad."""
    out: dict[str, dict] = {}
    for f in entries:
        rel = f.get("path") if isinstance(f, dict) else None
        if not safe_rel(rel):
            return f"it lists {str(rel)[:60]!r}, which is not a plain path inside the folder"
        if rel.endswith("/"):
            out[rel] = {}
        elif isinstance(f.get("bytes"), int) and isinstance(f.get("sha256"), str) and _HEX64.match(f["sha256"]):
            out[rel] = {"bytes": f["bytes"], "sha256": f["sha256"]}
        else:
            return f"it lists {rel[:60]!r} without its size and SHA-256"
    return out


@dataclass(frozen=True)
class Holding:
    """What a folder's manifest proves at one reading: the manifest (``read_manifest``; None: no usable one) and
    the records that still hold (its ``files`` record of a path, else its ``pending`` one)."""

    manifest: dict | None
    records: dict[str, dict]

    @property
    def files(self) -> set[str] | None:
        """The proven paths (None: no usable manifest)."""
        return None if self.manifest is None else set(self.records)

    @property
    def created(self) -> bool:
        """The manifest says tradeopt created the folder (``atomic_dir``)."""
        return (self.manifest or {}).get("created") is True


def holding(folder: str | os.PathLike) -> Holding:
    """``folder``'s manifest, read once, and what it proves (``Holding``)."""
    data, root, recs = read_manifest(folder), Path(folder), {}
    for rel, rec in [*(data or {}).get("files", {}).items(), *(data or {}).get("pending", {}).items()]:
        if rel not in recs and proven(root, rel, rec):
            recs[rel] = rec
    return Holding(data, recs)


def run_key(kind: str, *settings: object) -> str:
    """Names what a folder holds, e.g. ``run-<16 hex>`` of the resolved scenario: a write with another key into a
    folder holding results needs ``overwrite`` (the same run again replaces its own results)."""
    blob = json.dumps(settings, sort_keys=True, default=str, ensure_ascii=True)
    return f"{kind}-{sha256_bytes(blob.encode())[:16]}"


def _plain(root: Path, rel: str) -> Path | None:
    """``root/rel`` when every step is a real folder (no symlink) and the end is a regular file or folder."""
    p = root
    for part in rel.rstrip("/").split("/"):
        p = p / part
        if p.is_symlink():
            return None
    return p


def proven(root: Path, rel: str, rec: Mapping) -> bool:
    """Whether ``root/rel`` still is what tradeopt recorded (same size and SHA-256; a folder entry: a real folder)."""
    p = _plain(root, rel)
    if p is None:
        return False
    if rel.endswith("/"):
        return p.is_dir()
    try:
        return p.is_file() and p.stat().st_size == rec["bytes"] and record_file(p)["sha256"] == rec["sha256"]
    except OSError:
        return False


def owned_files(folder: str | os.PathLike) -> set[str] | None:
    """Relative paths in ``folder`` that tradeopt provably wrote (see the module doc); None: no usable manifest."""
    return holding(folder).files


def owned_records(folder: str | os.PathLike) -> dict[str, dict]:
    """The records of ``folder``'s manifest that still hold (for carrying into a new manifest)."""
    return holding(folder).records


_LEFTOVER = re.compile(r"^(?P<stem>\.(?P<name>.+)\.(tmp|old|probe)-(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-[0-9a-f]{10})"
                       r"(?P<check>[0-9a-f]{6})(\.[A-Za-z0-9]+)?$")
_HOST = re.sub(r"[^A-Za-z0-9]+", "_", socket.gethostname()) or "host"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):  # e.g. PermissionError: the process exists
        return True
    return True


def leftover_name(name: str, tag: str, pid: int, rand: str, host: str = _HOST) -> str:
    """The hidden temporary name ``.<name>.<tag>-<host>-<pid>-<rand: 10 hex><check: 6 hex>`` of a writer
    (``outpaths._sibling``); the check (SHA-256 of the rest, like the manifest's seal) tells tradeopt's
    temporary names from a user's file named alike, which is never taken for a leftover."""
    stem = f".{name}.{tag}-{host}-{pid}-{rand}"
    return stem + sha256_bytes(stem.encode())[:6]


def leftover_of(name: str) -> str | None:
    """The output name whose temporary ``name`` is (``leftover_name``) when its writer is a process of this host
    that is gone (``remove_stale`` deletes it); else None."""
    m = _LEFTOVER.match(name)
    if not m or m["check"] != sha256_bytes(m["stem"].encode())[:6] or m["host"] != _HOST:
        return None
    pid = int(m["pid"])
    return m["name"] if pid != os.getpid() and not pid_alive(pid) else None


def dead_leftover(name: str) -> bool:
    """Whether ``name`` is a temporary file or folder of a dead tradeopt writer of this host (``leftover_of``)."""
    return leftover_of(name) is not None


def is_owned(rel: str, owned: set[str]) -> bool:
    """Whether ``rel`` is tradeopt's: in the proven ``owned`` set, or a dead writer's leftover (``dead_leftover``)."""
    return rel in owned or dead_leftover(rel.rsplit("/", 1)[-1])


def read_lock(folder: str | os.PathLike) -> dict | None:
    """The batch lock of ``folder``: None (no lock file), {} (not a lock: unreadable, or not a JSON object
    with a host and a pid) or the holder {"host", "pid", ...}."""
    path = Path(folder) / LOCK_FILE
    if not os.path.lexists(path):
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    if (isinstance(data, dict) and isinstance(data.get("host"), str) and isinstance(data.get("pid"), int)
            and not isinstance(data.get("pid"), bool) and data["pid"] > 0):
        return data
    return {}


def lock_is_stale(holder: dict) -> bool:
    """A lock of a process on this host that is gone."""
    return holder.get("host") == socket.gethostname() and not pid_alive(int(holder["pid"]))


def _stale_lock(folder: Path) -> bool:
    holder = read_lock(folder)
    return bool(holder) and lock_is_stale(holder)


def foreign_entries(folder: str | os.PathLike, owned: set[str] | None) -> list[str]:
    """Entries of ``folder`` (relative, '/'-separated, sorted) that tradeopt did not write: all but proven
    files (``owned``), the manifest itself, a stale batch lock, real folders on the way to proven files, and
    proven subfolders' own content (symlinks are foreign)."""
    out: list[str] = []
    _walk(Path(folder), "", owned, out)
    return out


def _walk(root: Path, prefix: str, owned: set[str] | None, out: list[str]) -> None:
    mine = owned if owned is not None else set()

    def walk(d: Path, rel_dir: str) -> None:
        for p in sorted(d.iterdir(), key=lambda q: q.name):
            rel = rel_dir + p.name
            if p.is_symlink():
                out.append(prefix + rel)
            elif dead_leftover(p.name):
                continue
            elif p.is_dir():
                if rel + "/" in mine:  # a subfolder with its own manifest
                    _walk(p, prefix + rel + "/", owned_files(p), out)
                elif any(o.startswith(rel + "/") for o in mine):
                    walk(p, rel + "/")
                else:
                    out.append(prefix + rel + "/")
            elif owned is not None and (rel == OWNER_FILE or (rel == LOCK_FILE and _stale_lock(root))):
                continue
            elif not (p.is_file() and is_owned(rel, mine)):
                out.append(prefix + rel)

    walk(root, "")
