"""The optional parquet cache of parsed BACI CSVs, keyed on the source's content.

A cache entry is named from the SHA-256 of the source file's bytes (hashed in
1 MB chunks), the zip member and ``READER_VERSION``: an edit that keeps the size
and the mtime still changes the key, and a reader change that alters what a CSV
parses to bumps the version. Entries are written only from validated reads, into
a temporary sibling renamed on success. The cache is optional: a folder that is
read-only, a file, or full gives one warning and the run goes on without it.
"""
from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from optimize.atomic import temp_sibling
from optimize.data.trade import ARROW_SCHEMA
from optimize.ownership import sha256_bytes

#: Bump when the reader changes what a CSV parses to (normalising, validation): old entries are then ignored.
READER_VERSION = 2

log = logging.getLogger("tradeopt.cache")


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """Cache folder: ``cache_dir``, else ``$TRADEOPT_CACHE``, else the OS user cache (platformdirs)."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("TRADEOPT_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_path

    return user_cache_path("tradeopt", appauthor=False)


def cache_file(digest: str, source_name: str, member: str | None, root: Path) -> Path:
    """Cache path of one flow file: ``<stem>-<key>.parquet``; key = reader version, content hash, member."""
    key = f"v{READER_VERSION}|{digest}|{member or ''}"
    stem = Path(member or source_name).name.split(".")[0]
    return root / f"{stem}-{sha256_bytes(key.encode())[:24]}.parquet"


#: What a marker may state beyond "every row passed the per-row checks" (one word each): ``unique``: no
#: repeated (t, i, j, k); ``normal``: casting the columns to ``ARROW_SCHEMA`` is all that normalising does;
#: ``ordered``: the rows are in BACI's (t, i, j, k) order. An empty marker (older tradeopt) states none.
MARKER_FACTS = ("normal", "ordered", "unique")


def validated_marker(digest: str, source_name: str, root: Path) -> Path:
    """Marker of a parquet source (by its content hash) whose every row passed validation with this
    ``READER_VERSION``: a small text file of ``MARKER_FACTS`` beside the cache entries; later reads run only
    the read-dependent checks."""
    return cache_file(digest, source_name, None, root).with_suffix(".validated")


def marker_facts(marker: Path | None) -> frozenset[str] | None:
    """The ``MARKER_FACTS`` ``marker`` states (empty for an empty marker); None when there is no marker."""
    if marker is None:
        return None
    try:
        words = marker.read_text(encoding="ascii", errors="replace").split()
    except OSError:
        return None
    return frozenset(words) & frozenset(MARKER_FACTS)  # a torn write loses a word, never adds one


@dataclass
class Marks:
    """What validation markers say about a read (``marker_facts``) and the markers to write after it."""
    facts: frozenset[str] = frozenset()  # facts holding for the whole table read (one marked parquet source)
    pending: list[tuple[Path, frozenset[str]]] = field(default_factory=list)  # unfiltered first reads

    def commit(self, *, ordered: bool) -> None:
        """Write the pending markers once every row passed every check, repeated keys included."""
        for marker, facts in self.pending:
            mark_validated(marker, facts | {"unique"} | ({"ordered"} if ordered else set()))


def mark_validated(marker: Path, facts: frozenset[str] = frozenset()) -> None:
    """Write ``marker`` stating ``facts``; an unwritable cache folder only loses the shortcut (logged, not raised)."""
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(" ".join(sorted(set(facts) & set(MARKER_FACTS))) + "\n", encoding="ascii")
    except OSError as exc:
        log.debug("cannot mark %s as validated: %s", marker, exc)


def _warn(target: Path, exc: BaseException) -> None:
    log.warning("the parquet cache cannot be written at %s (%s: %s); continuing without a cache. "
                "Fix: set TRADEOPT_CACHE to a writable folder with free space", target.parent,
                type(exc).__name__, exc)


class CacheWriter:
    """Writes one cache entry batch by batch; any write failure (read-only, not a folder,
    disk full) warns once and turns the writer off, never failing the read."""

    def __init__(self, target: Path):
        self.target = target
        self._tmp: Path | None = None
        self._writer = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = temp_sibling(target)  # 0666 minus the umask, like every output
            os.close(fd)
            self._writer = pq.ParquetWriter(str(self._tmp), ARROW_SCHEMA, compression="zstd")
        except (OSError, pa.ArrowException) as exc:
            self._fail(exc)

    @property
    def active(self) -> bool:
        return self._writer is not None

    def _fail(self, exc: BaseException) -> None:
        _warn(self.target, exc)
        self.discard()

    def write(self, tbl: pa.Table) -> None:
        if self._writer is None:
            return
        try:
            self._writer.write_table(tbl)
        except (OSError, pa.ArrowException) as exc:
            self._fail(exc)

    def commit(self) -> Path | None:
        """Close and rename the entry into place; None when writing failed."""
        if self._writer is None:
            return None
        try:
            self._writer.close()
            self._writer = None
            os.replace(self._tmp, self.target)
            self._tmp = None
            return self.target
        except (OSError, pa.ArrowException) as exc:
            self._fail(exc)
            return None

    def discard(self) -> None:
        """Drop the partial entry (on errors, unvalidated or changed data)."""
        if self._writer is not None:
            with contextlib.suppress(OSError, pa.ArrowException):
                self._writer.close()
            self._writer = None
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.unlink()
            self._tmp = None


def drop_entry(target: Path) -> None:
    """Remove an unreadable cache entry; a read-only cache folder is not an error."""
    with contextlib.suppress(OSError):
        target.unlink()
