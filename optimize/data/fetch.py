"""Download a BACI release zip with resume, size and zip integrity checks, atomic rename.

The file is downloaded to ``<cache>/BACI_{hs}_V{release}.zip.part``; an interrupted
download resumes with an HTTP Range request. Only after the size matches
Content-Length and ``zipfile.testzip`` passes is it renamed to the final name, so a
partial file never sits under the final name.
"""
from __future__ import annotations

import http.client
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from optimize.data.baci import cache_root
from optimize.errors import DataError, InputError

#: CEPII's BACI download location (not contacted by tests).
DEFAULT_BASE_URL = "https://www.cepii.fr/DATA_DOWNLOAD/baci/data"
_CHUNK = 1 << 20


class FetchError(InputError):
    """A download failed (network, HTTP status, size or integrity)."""


def release_filename(hs: str = "HS22", release: str = "202501") -> str:
    """``BACI_HS22_V202501.zip`` from ``hs='HS22'`` and ``release='202501'`` (or 'V202501')."""
    hs = hs.upper()
    release = release.upper().lstrip("V")
    if not re.fullmatch(r"HS\d\d", hs) or not re.fullmatch(r"\d{6}", release):
        raise InputError(f"bad release spec hs={hs!r} release={release!r}", field="hs/release",
                         fix="use e.g. --hs HS22 --release 202501")
    return f"BACI_{hs}_V{release}.zip"


def _open(url: str, start: int, timeout: float):
    req = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (URL is user-configured http/https)


def _total_size(resp, start: int) -> int | None:
    cr = resp.headers.get("Content-Range")
    if cr and "/" in cr and not cr.endswith("*"):
        return int(cr.rsplit("/", 1)[1])
    cl = resp.headers.get("Content-Length")
    return int(cl) + (start if resp.status == 206 else 0) if cl is not None else None


def fetch_release(hs: str = "HS22", release: str = "202501", *, base_url: str = DEFAULT_BASE_URL,
                  cache_dir: str | Path | None = None, progress: bool | None = None, retries: int = 3,
                  timeout: float = 60.0) -> Path:
    """Download ``{base_url}/BACI_{hs}_V{release}.zip`` into the cache; return its path.

    Existing complete files are returned without downloading. ``progress``: tqdm
    bar (default: only when stderr is a terminal). Retries resume from the partial file.
    """
    name = release_filename(hs, release)
    dest_dir = cache_root(cache_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / name
    if final.exists():
        return final
    part = dest_dir / (name + ".part")
    url = f"{base_url.rstrip('/')}/{name}"
    show = sys.stderr.isatty() if progress is None else progress
    total = None
    last_error: Exception | None = None
    for _attempt in range(retries + 1):
        start = part.stat().st_size if part.exists() else 0
        try:
            with _open(url, start, timeout) as resp:
                if start and resp.status != 206:  # server ignored Range: start again
                    start = 0
                total = _total_size(resp, start) or total
                _copy(resp, part, start, total, show, name)
            if total is None or part.stat().st_size >= total:
                break
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and total is not None and part.exists() and part.stat().st_size == total:
                break
            raise FetchError(f"download failed: HTTP {exc.code} {exc.reason} for {url}", file=url,
                             fix="check --base-url, --hs and --release") from exc
        except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as exc:
            last_error = exc  # connection dropped: retry and resume
    _check_download(part, url, total, last_error)
    _check_zip(part, url)
    os.replace(part, final)
    return final


def _check_download(part: Path, url: str, total: int | None, last_error: Exception | None) -> None:
    """Raise ``FetchError`` if the server was never reached or the partial file is short."""
    if not part.exists() and last_error is not None:  # never connected: say so, not "bad zip"
        host = urllib.parse.urlsplit(url).netloc or url
        reason = getattr(last_error, "reason", last_error)
        raise FetchError(f"could not reach {host} ({reason}); nothing was downloaded", file=url,
                         fix="check the network connection (or proxy) and --base-url, then run the fetch again; "
                             "or download the zip by hand and pass it with --baci")
    size = part.stat().st_size if part.exists() else 0
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


def _copy(resp, part: Path, start: int, total: int | None, show: bool, label: str) -> None:
    from tqdm import tqdm

    mode = "ab" if start else "wb"
    with open(part, mode) as out, tqdm(total=total, initial=start, unit="B", unit_scale=True, desc=label,
                                       disable=not show) as bar:
        while True:
            chunk = resp.read(_CHUNK)
            if not chunk:
                break
            out.write(chunk)
            bar.update(len(chunk))
