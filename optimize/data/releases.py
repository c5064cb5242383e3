"""CEPII BACI releases: list them from the BACI web page, pick the latest, flag mixed releases.

``parse_releases`` reads the download links ``BACI_HS22_V202501.zip`` of CEPII's BACI
page (one release = a ``V`` + 6-digit version, offered in several HS revisions);
``list_releases`` fetches the page; ``latest_release`` picks the newest release that
offers an HS revision. ``mixed_releases_note`` says when the flow files of one folder
come from different releases or HS revisions (their values and codes do not mix).
"""
from __future__ import annotations

import http.client
import re
import urllib.error
import urllib.parse
from dataclasses import dataclass, field

from optimize.data.download import FetchError, Limits, charset, check_url, open_url, read_limited
from optimize.errors import DataError, InputError

#: CEPII's BACI page (not contacted by tests).
DEFAULT_PAGE_URL = "https://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37"
#: Largest BACI page read (bytes); CEPII's is about 0.1 MB.
MAX_PAGE_BYTES = 8_000_000
_LINK = re.compile(r"""(?:href\s*=\s*["']?([^"'\s>]*?))?BACI_(HS\d\d)_V(\d{6})\.zip""", re.IGNORECASE)
_NAME = re.compile(r"BACI_(HS\d\d)(?:_Y\d{4})?_(V\d{6})", re.IGNORECASE)


@dataclass(frozen=True)
class Release:
    """One BACI release: ``version`` '202501', the HS revisions offered and their zip URLs."""

    version: str
    hs: tuple[str, ...]
    urls: dict[str, str] = field(default_factory=dict, compare=False)


def parse_releases(html: str, page_url: str = DEFAULT_PAGE_URL) -> list[Release]:
    """Releases linked from the BACI page text ``html``, newest first (HS revisions oldest first)."""
    found: dict[str, dict[str, str]] = {}
    for m in _LINK.finditer(html):
        prefix, hs, version = m.group(1) or "", m.group(2).upper(), m.group(3)
        url = urllib.parse.urljoin(page_url, f"{prefix}BACI_{hs}_V{version}.zip")
        found.setdefault(version, {}).setdefault(hs, url)
    order = {"HS92": 0, "HS96": 1, "HS02": 2, "HS07": 3, "HS12": 4, "HS17": 5, "HS22": 6}
    return [Release(v, tuple(sorted(found[v], key=lambda h: order.get(h, 99))), found[v])
            for v in sorted(found, reverse=True)]


class ReleaseListError(InputError):
    """The BACI page could not be read or lists no release."""


def list_releases(page_url: str = DEFAULT_PAGE_URL, *, deadline_s: float | None = 60.0,
                  stall_s: float | None = 30.0, max_bytes: int = MAX_PAGE_BYTES) -> list[Release]:
    """Fetch the BACI page and parse its releases (newest first); ``ReleaseListError`` when none.

    The page is read within ``deadline_s`` seconds (stalled after ``stall_s``) and refused beyond
    ``max_bytes`` bytes (default 8 MB; CEPII's page is about 0.1 MB)."""
    check_url(page_url, "--page-url")
    no_page = "`tradeopt data fetch --release 202501` needs no page"
    limits = Limits(deadline_s, stall_s)
    try:
        with open_url(page_url, limits) as resp:
            encoding = charset(resp, page_url)
            html = read_limited(resp, limits, page_url, max_bytes).decode(encoding, errors="replace")
    except FetchError as exc:
        raise ReleaseListError(exc.message, file=page_url, fix=exc.fix) from None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        raise ReleaseListError(f"cannot read the BACI page {page_url}: {exc}", file=page_url,
                               fix=f"check the network or --page-url; {no_page}") from exc
    releases = parse_releases(html, page_url)
    if not releases:
        raise ReleaseListError(f"no BACI_HSxx_Vyyyymm.zip link on {page_url}", file=page_url,
                               fix=f"CEPII may have changed the page; {no_page}")
    return releases


def latest_release(hs: str = "HS22", page_url: str = DEFAULT_PAGE_URL) -> str:
    """The newest release version (e.g. '202501') that offers ``hs``."""
    releases = list_releases(page_url)
    for r in releases:
        if hs.upper() in r.hs:
            return r.version
    raise ReleaseListError(f"no release on {page_url} offers {hs.upper()}", file=page_url, field="hs",
                           fix=f"choose one of {sorted({h for r in releases for h in r.hs})}")


def mixed_releases_note(names) -> str | None:
    """A warning when BACI file names (``BACI_HS22_Y2023_V202501.csv``, ...) mix releases or HS revisions."""
    tags = {(m.group(1).upper(), m.group(2).upper()) for n in names if (m := _NAME.search(str(n)))}
    releases, revisions = sorted({r for _, r in tags}), sorted({h for h, _ in tags})
    if len(releases) < 2 and len(revisions) < 2:
        return None
    what = " and ".join(p for p in (f"releases {', '.join(releases)}" if len(releases) > 1 else "",
                                    f"HS revisions {', '.join(revisions)}" if len(revisions) > 1 else "") if p)
    return (f"the flow files mix {what}: values and codes differ between releases; "
            "keep one release and revision per folder")


def refuse_two_formats(names: list[str], years: list[int | None], folder) -> None:
    """DataError when a folder holds one BACI file in two formats (a CSV and its parquet copy), or two files
    naming one year (``years``: each name's year, None when it names none): read together, every row of
    the second would be a repeated key."""
    stems = [n.removesuffix(".gz").rsplit(".", 1)[0] for n in names]
    if twice := [n for n, s in zip(names, stems, strict=True) if stems.count(s) > 1]:
        raise DataError(f"the folder holds the same flows twice: {' and '.join(twice)}", file=str(folder),
                        fix="keep one format per file in the folder (or pass one file with --baci)")
    for y in {y for y in years if y is not None and years.count(y) > 1}:
        both = [n for n, x in zip(names, years, strict=True) if x == y]
        raise DataError(f"year {y} is in two files of the folder: {' and '.join(both)}", file=str(folder),
                        field="t", fix="keep one file per year in the folder (move the other release's away)")
