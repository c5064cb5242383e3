"""HTTP reads with bounds: a checked http(s) URL, an overall deadline, a stall timeout and a size limit.

``Limits(deadline_s, stall_s)``: the whole transfer ends within ``deadline_s`` seconds (checked between
reads, so at most ``stall_s`` late), and a transfer that receives fewer than ``STALL_BYTES`` bytes in
``stall_s`` seconds (or nothing at all: the socket timeout) is stalled. ``read_chunks`` yields what
arrives (``read1``: one receive at a time, so a trickling server cannot hold a large read open).
"""
from __future__ import annotations

import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

from optimize.args import seconds
from optimize.errors import InputError

#: Defaults: a BACI zip (~2 GB) in 4 h needs ~140 kB/s; 60 s below ``STALL_BYTES`` is a stall.
DEADLINE_S = 4 * 3600.0
STALL_S = 60.0
STALL_BYTES = 16 * 1024
_READ = 1 << 20
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class FetchError(InputError):
    """A download failed (network, HTTP status, size, deadline or integrity)."""


class Stalled(FetchError):
    """Too few bytes arrived within the stall timeout (a retry may resume)."""


def check_url(url: str, name: str) -> str:
    """``url`` when it is an http(s) URL with a host, else ``InputError`` naming ``name``."""
    parts = urllib.parse.urlsplit(str(url))
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InputError(f"{name} {str(url)[:200]!r} is not an http(s) URL", field=name,
                         fix=f"give a full URL such as https://host/path for {name}")
    return str(url)


@dataclass
class Limits:
    """Deadline and stall timeout (s) of one transfer; the deadline clock starts when it is made."""

    deadline_s: float = DEADLINE_S
    stall_s: float = STALL_S
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self):
        self.deadline_s = seconds(self.deadline_s, "--deadline", DEADLINE_S, 7 * 86400.0)
        self.stall_s = seconds(self.stall_s, "--stall-timeout", STALL_S, 86400.0)

    def left(self) -> float:
        return self.deadline_s - (time.monotonic() - self.started)

    def check_deadline(self, url: str, got: str = "") -> None:
        if self.left() <= 0:
            raise FetchError(f"no complete answer within the deadline of {self.deadline_s:g} s{got}", file=url,
                             fix="run it again later (a download resumes from its .part file), or raise --deadline")


def open_url(url: str, limits: Limits, headers: dict | None = None):
    """``urlopen`` with a socket timeout of at most ``stall_s`` (and what is left of the deadline)."""
    limits.check_deadline(url)
    req = urllib.request.Request(url, headers={"User-Agent": "tradeopt", **(headers or {})})
    return urllib.request.urlopen(req, timeout=max(0.1, min(limits.stall_s, limits.left())))  # noqa: S310 (http/https)


def read_chunks(resp, limits: Limits, url: str) -> Iterator[bytes]:
    """The body of ``resp`` as it arrives; ``FetchError`` past the deadline, ``Stalled`` when too slow."""
    window_start, window_bytes = time.monotonic(), 0
    while True:
        limits.check_deadline(url)
        chunk = resp.read1(_READ)
        if not chunk:
            return
        now = time.monotonic()
        window_bytes += len(chunk)
        if now - window_start >= limits.stall_s:
            if window_bytes < STALL_BYTES:
                raise Stalled(f"stalled: {window_bytes} bytes in {now - window_start:.0f} s (less than "
                              f"{STALL_BYTES // 1024} KiB in the stall timeout of {limits.stall_s:g} s)", file=url,
                              fix="run it again later (a download resumes from its .part file), "
                                  "or raise --stall-timeout")
            window_start, window_bytes = now, 0
        yield chunk


def read_limited(resp, limits: Limits, url: str, max_bytes: int) -> bytes:
    """The whole body of ``resp``, refused (``FetchError``) beyond ``max_bytes`` bytes without reading further."""
    parts, size = [], 0
    for chunk in read_chunks(resp, limits, url):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"the answer is larger than {max_bytes / 1e6:g} MB; not read further", file=url,
                             fix="check the URL: it should be a web page listing BACI releases")
        parts.append(chunk)
    return b"".join(parts)


def total_size(resp, start: int, url: str) -> int | None:
    """Full size (bytes) of the resource from Content-Range (a 206 from ``start``) or Content-Length;
    None when the server gives neither. A malformed header is a ``FetchError``."""
    if resp.status == 206:
        cr = resp.headers.get("Content-Range", "")
        m = _RANGE.fullmatch(cr.strip())
        if not m or int(m.group(1)) != start:
            raise FetchError(f"the server sent Content-Range {cr[:80]!r} for a request from byte {start}", file=url,
                             fix="the server does not resume correctly: delete the .part file and fetch again, "
                                 "or download the zip by hand and pass it with --baci")
        if m.group(3) != "*":
            return int(m.group(3))
    cl = resp.headers.get("Content-Length")
    if cl is None:
        return None
    if not cl.strip().isdigit():
        raise FetchError(f"the server sent Content-Length {cl[:80]!r}, not a number of bytes", file=url,
                         fix="check --base-url, or download the zip by hand and pass it with --baci")
    return int(cl) + (start if resp.status == 206 else 0)


def charset(resp, url: str) -> str:
    """The text encoding ``resp`` declares (default UTF-8); ``FetchError`` for an unknown one."""
    import codecs

    name = resp.headers.get_content_charset() or "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise FetchError(f"the page declares an unknown charset {name[:40]!r}", file=url,
                         fix="check --page-url: it should be CEPII's BACI page") from None
