"""Download a BACI release zip with resume, size and zip integrity checks, deadlines, atomic rename.

The file is downloaded to ``<cache>/BACI_{hs}_V{release}.zip.part``; an interrupted
download resumes with an HTTP Range request. A ``.part`` the server cannot resume (416:
longer than the file, or from another file) is discarded and the download starts again.
Only after the size matches Content-Length and ``zipfile.testzip`` passes is it renamed to
the final name, so a partial file never sits under the final name. The whole download ends
within ``deadline_s`` and is stalled below 16 KiB in ``stall_s`` (``download.Limits``).
"""
from __future__ import annotations

import http.client
import os
import re
import urllib.error
import urllib.parse
import zipfile
from pathlib import Path

from optimize.data.cache import cache_root
from optimize.data.download import FetchError, Limits, Stalled, check_url, open_url, read_chunks, total_size
from optimize.errors import DataError, InputError, OutputError
from optimize.progress import progress_disabled

#: CEPII's BACI download location (not contacted by tests).
DEFAULT_BASE_URL = "https://www.cepii.fr/DATA_DOWNLOAD/baci/data"


def release_filename(hs: str = "HS22", release: str = "202501") -> str:
    """``BACI_HS22_V202501.zip`` from ``hs='HS22'`` and ``release='202501'`` (or 'V202501')."""
    hs = hs.upper()
    release = release.upper().lstrip("V")
    if not re.fullmatch(r"HS\d\d", hs) or not re.fullmatch(r"\d{6}", release):
        raise InputError(f"bad release spec hs={hs!r} release={release!r}", field="hs/release",
                         fix="use e.g. --hs HS22 --release 202501")
    return f"BACI_{hs}_V{release}.zip"


def fetch_release(hs: str = "HS22", release: str = "202501", *, base_url: str = DEFAULT_BASE_URL,
                  cache_dir: str | Path | None = None, progress: bool | None = None, retries: int = 3,
                  deadline_s: float | None = None, stall_s: float | None = None) -> Path:
    """Download ``{base_url}/BACI_{hs}_V{release}.zip`` into the cache; return its path.

    An existing readable zip is returned without downloading (an unreadable one is refused, never
    replaced). ``progress``: tqdm bar (default: only when stderr is a terminal). Retries resume from
    the partial file; all of them end within ``deadline_s`` seconds (default 4 h), each stalls after
    ``stall_s`` seconds (default 60) with less than 16 KiB received.
    """
    name = release_filename(hs, release)
    url = f"{check_url(base_url, '--base-url').rstrip('/')}/{name}"
    limits = Limits(deadline_s, stall_s)
    dest_dir = _cache_folder(cache_dir)
    final = dest_dir / name
    if final.exists():
        return _existing_zip(final)
    part = dest_dir / (name + ".part")
    show = not progress_disabled() if progress is None else progress
    total, restarted = None, False
    last_error: Exception | None = None
    for _attempt in range(retries + 1):
        start = part.stat().st_size if part.exists() else 0
        try:
            with open_url(url, limits, {"Range": f"bytes={start}-"} if start else None) as resp:
                if start and resp.status != 206:  # server ignored Range: start again
                    start = 0
                total = total_size(resp, start, url) or total
                _copy(resp, part, start, total, show, name, limits, url)
            if total is None or part.stat().st_size >= total:
                break
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and not restarted:  # the .part is not a prefix of this file: start again
                if _complete_part(exc, part):
                    break
                part.unlink(missing_ok=True)
                restarted = True
                continue
            raise FetchError(f"download failed: HTTP {exc.code} {exc.reason} for {url}", file=url,
                             fix="check --base-url, --hs and --release") from exc
        except (Stalled, urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as exc:
            last_error = exc  # connection dropped or stalled: retry and resume
    _check_download(part, url, total, last_error)
    _check_zip(part, url)
    os.replace(part, final)
    return final


def _cache_folder(cache_dir) -> Path:
    """The cache folder, created if needed; ``OutputError`` (exit 5) when it cannot be (e.g. it is a file)."""
    folder = cache_root(cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        what = f"{blocker} is a file, not a folder" if blocker is not None else (exc.strerror or str(exc))
        raise OutputError(f"cannot use the cache folder {folder}: {what}",
                          fix="give --cache-dir a folder (or a path where one can be created)") from None
    return folder


def _existing_zip(final: Path) -> Path:
    """``final`` when it opens as a zip; else ``DataError`` (it is not replaced: tradeopt may not have written it)."""
    try:
        with zipfile.ZipFile(final):
            return final
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{final} exists but is not a readable zip ({final.stat().st_size} bytes: {exc})",
                        file=str(final), fix="delete it, then run the fetch again") from None


def _complete_part(exc: urllib.error.HTTPError, part: Path) -> bool:
    """A 416 whose ``Content-Range: bytes */N`` says the ``.part`` already holds all N bytes."""
    m = re.fullmatch(r"bytes \*/(\d+)", (exc.headers or {}).get("Content-Range", "").strip())
    return bool(m) and part.exists() and part.stat().st_size == int(m.group(1))


def _check_download(part: Path, url: str, total: int | None, last_error: Exception | None) -> None:
    """Raise ``FetchError`` if the server was never reached or the partial file is short."""
    if not part.exists() and last_error is not None:  # never connected: say so, not "bad zip"
        host = urllib.parse.urlsplit(url).netloc or url
        reason = getattr(last_error, "reason", last_error)
        raise FetchError(f"could not reach {host} ({reason}); nothing was downloaded", file=url,
                         fix="check the network connection (or proxy) and --base-url, then run the fetch again; "
                             "or download the zip by hand and pass it with --baci")
    size = part.stat().st_size if part.exists() else 0
    if isinstance(last_error, Stalled) and (total is None or size != total):
        raise last_error
    if total is not None and size != total:
        raise FetchError(f"incomplete download: {size} of {total} bytes ({last_error})", file=str(part),
                         fix="run the fetch again; it resumes from the partial file")


def _check_zip(part: Path, url: str) -> None:
    """Delete ``part`` and raise ``DataError`` unless it is a readable zip whose members pass ``testzip``."""
    try:
        with zipfile.ZipFile(part) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        part.unlink(missing_ok=True)
        raise DataError(f"downloaded file is not a valid zip: {exc}", file=url, fix="run the fetch again") from exc
    if bad is not None:
        part.unlink(missing_ok=True)
        raise DataError(f"zip member {bad} is corrupted", file=url, fix="run the fetch again")


def _copy(resp, part: Path, start: int, total: int | None, show: bool, label: str, limits: Limits,
          url: str) -> None:
    from tqdm import tqdm

    try:
        out = open(part, "ab" if start else "wb")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        raise _part_failed(part, exc) from exc
    with out, tqdm(total=total, initial=start, unit="B", unit_scale=True, desc=label, disable=not show) as bar:
        for chunk in read_chunks(resp, limits, url):  # a network OSError escapes: the caller retries
            try:
                out.write(chunk)
                out.flush()  # nothing is left to fail on close
            except OSError as exc:  # the disk, not the network: no retry, exit 5
                raise _part_failed(part, exc) from exc
            bar.update(len(chunk))


def _part_failed(part: Path, exc: OSError) -> OutputError:
    return OutputError(f"cannot write the download to {part}: {exc.strerror or exc}",
                       fix="free disk space or give --cache-dir a writable folder, then run the fetch again "
                           "(it resumes from the partial file)")
