"""Which HS revision a set of HS6 codes belongs to, from CEPII's product-code lists of every revision.

``detect_revision`` picks the revision whose BACI product list covers the codes best (a tie
goes to the newest revision BACI offers for the data's year, and is stated);
``revisions_of`` lists the revisions in which one code is valid. ``Revision`` carries the
revision and where it came from, for every output (``"HS17 (detected from the codes)"``).
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from optimize.data.products import BUNDLED_REVISIONS, product_table

#: The first year of each BACI HS revision's files.
BACI_FIRST_YEAR = {"HS92": 1995, "HS96": 1996, "HS02": 2002, "HS07": 2007, "HS12": 2012, "HS17": 2017,
                   "HS22": 2022}
FROM_NAME, FROM_SETTING, DETECTED, SAMPLE = ("from the file name", "data.hs_revision", "detected from the codes",
                                             "the embedded sample")


@dataclass(frozen=True)
class Revision:
    """An HS revision (``code`` "HS17"; None when unknown), where it came from, and what detection saw."""

    code: str | None
    source: str = ""
    detail: str = ""

    @property
    def label(self) -> str:
        """``"HS17 (detected from the codes)"``; ``"unknown"`` when no revision is known."""
        return f"{self.code} ({self.source})" if self.code else "unknown"


@functools.lru_cache(maxsize=8)
def code_set(revision: str) -> frozenset[str]:
    """The HS6 codes of CEPII's BACI product list of ``revision`` (bundled tables)."""
    return frozenset(product_table(revision)["k"])


def revisions_of(code: str) -> list[str]:
    """The revisions (oldest first) whose BACI product list holds ``code``."""
    return [r for r in BUNDLED_REVISIONS if code in code_set(r)]


def detect_revision(codes: Iterable[str], year: int | None = None) -> Revision:
    """The revision whose product list holds the most of ``codes``; ties go to the newest revision BACI
    offers for ``year`` (any year when None). ``detail`` gives the coverage and names a tie."""
    codes = sorted({str(c).zfill(6) for c in codes})
    if not codes:
        return Revision(None)
    hits = {r: sum(c in code_set(r) for c in codes) for r in BUNDLED_REVISIONS}
    best = max(hits.values())
    tied = [r for r in BUNDLED_REVISIONS if hits[r] == best]
    usable = [r for r in tied if year is None or BACI_FIRST_YEAR[r] <= year] or tied
    pick = usable[-1]
    detail = f"{best} of {len(codes)} codes in the {pick} product list"
    if len(tied) > 1:
        why = f"the newest BACI offers for {year}" if year is not None else "the newest"
        detail += f"; tie with {', '.join(r for r in tied if r != pick)} ({pick} taken as {why})"
    return Revision(pick, DETECTED, detail)


def data_revision(named: str | None, synthetic: bool, codes: Iterable[str], year: int | None) -> Revision:
    """A data set's revision as outputs state it: ``named`` (from the file name; the embedded sample's when
    ``synthetic``), else detected from ``codes`` (``detect_revision`` with ``year``)."""
    if named:
        return Revision(named, SAMPLE if synthetic else FROM_NAME)
    return detect_revision(codes, year)
