"""HS2022 <-> older-revision code links: the UNSD correlation pairs, the errata, and the fan-out rule.

The one place that decides which pairs of a correlation table are used (by the shipped
basket tables and by ``concordance.concord_codes`` alike):

- every UNSD pair (``data/concordance/HS22_{rev}.csv.gz``) plus the project's errata
  (``HS2022_errata_8541.csv``: the pairs HS2022 854151/854159 <- older 854150 the UN
  sheets omit), column ``origin`` = ``UNSD`` / ``errata``;
- an HS2022 code linked to more than ``MAX_FANOUT`` older codes (new headings whose goods
  were spread over many old codes: 8524 display modules, 8541.51/59, 8549 e-waste, ...)
  keeps only the links inside its own HS4 heading, or to the curated targets of
  ``HS2022_fanout_curated.csv``; the dropped links are counted (``dropped``), never replaced.
"""
from __future__ import annotations

import functools

import pandas as pd

from optimize.errors import ScenarioError
from optimize.resources import concordance_dir

#: An HS2022 code linked to more older codes than this keeps only the links of its own heading (or curated).
MAX_FANOUT = 10
ERRATA_FILE = "HS2022_errata_8541.csv"
CURATED_FILE = "HS2022_fanout_curated.csv"
#: Older revisions with a bundled HS2022 correlation table.
LINKED_REVISIONS = ("HS17", "HS12", "HS07", "HS92")
_ALIASES = {
    "HS22": "HS22", "HS2022": "HS22", "H6": "HS22",
    "HS17": "HS17", "HS2017": "HS17", "H5": "HS17",
    "HS12": "HS12", "HS2012": "HS12", "H4": "HS12",
    "HS07": "HS07", "HS2007": "HS07", "H3": "HS07",
    "HS02": "HS02", "HS2002": "HS02", "H2": "HS02",
    "HS96": "HS96", "HS1996": "HS96", "H1": "HS96",
    "HS92": "HS92", "HS1992": "HS92", "H0": "HS92",
}


def normalize_revision(revision: str) -> str:
    """``"HS2017"``, ``"hs17"``, ``"H5"`` -> ``"HS17"``; unknown -> ScenarioError."""
    key = str(revision).strip().upper().replace(" ", "")
    if key not in _ALIASES:
        raise ScenarioError(
            f"unknown HS revision {revision!r}", field="hs_revision",
            fix="use one of HS92, HS96, HS02, HS07, HS12, HS17, HS22")
    return _ALIASES[key]


def _code(s: pd.Series) -> pd.Series:
    return s.astype(str).str.strip().str.zfill(6)


@functools.lru_cache(maxsize=1)
def errata() -> pd.DataFrame:
    """The errata pairs: DataFrame[hs22, revision, other, pair_relationship, reason]."""
    t = pd.read_csv(concordance_dir() / ERRATA_FILE, dtype=str, keep_default_na=False)
    return pd.DataFrame({"hs22": _code(t["HS2022"]), "revision": t["target_revision"].map(normalize_revision),
                         "other": _code(t["target"]), "pair_relationship": t["relationship"],
                         "reason": t["reason"]})


@functools.lru_cache(maxsize=1)
def curated() -> frozenset[tuple[str, str]]:
    """Curated (HS2022 code, older code) links kept despite a wide fan-out (used only where the UN pairs them)."""
    t = pd.read_csv(concordance_dir() / CURATED_FILE, dtype=str, keep_default_na=False, comment="#")
    return frozenset(zip(_code(t["HS2022"]), _code(t["target"]), strict=True))


@functools.lru_cache(maxsize=8)
def full_pairs(revision: str) -> pd.DataFrame:
    """Every UNSD pair HS2022 <-> ``revision`` plus the errata: DataFrame[hs22, other, pair_relationship, origin]."""
    rev = normalize_revision(revision)
    path = concordance_dir() / f"HS22_{rev}.csv.gz"
    if not path.is_file():
        raise ScenarioError(f"no HS2022 <-> {rev} correlation table ({path.name})", field="hs_revision",
                            fix=f"use {', '.join(('HS22',) + LINKED_REVISIONS)} "
                                "(UNSD HS2022 tables are bundled only for those)")
    un = pd.read_csv(path, dtype=str, keep_default_na=False).assign(origin="UNSD")
    e = errata()
    e = e.loc[e["revision"] == rev, ["hs22", "other", "pair_relationship"]].assign(origin="errata")
    both = pd.concat([un, e], ignore_index=True).drop_duplicates(["hs22", "other"])
    return both.sort_values(["hs22", "other"], kind="mergesort").reset_index(drop=True)


def fanout_rule(pairs: pd.DataFrame, src: str = "hs22", tgt: str = "other") -> pd.DataFrame:
    """``pairs`` with the columns ``wide`` (the HS2022 code ``src`` has more than ``MAX_FANOUT`` links),
    ``keep`` (not wide, or inside the code's own HS4 heading, or curated) and ``dropped`` (the number of
    the HS2022 code's links not kept)."""
    n = pairs.groupby(src)[tgt].transform("nunique")
    wide = (n > MAX_FANOUT).to_numpy()
    same_heading = (pairs[src].str[:4] == pairs[tgt].str[:4]).to_numpy()
    cur = curated()
    in_list = [(a, b) in cur for a, b in zip(pairs[src], pairs[tgt], strict=True)] if cur else False
    keep = ~wide | same_heading | in_list
    out = pairs.assign(wide=wide, keep=keep)
    out["dropped"] = (~out["keep"]).groupby(out[src]).transform("sum").astype(int)
    return out


@functools.lru_cache(maxsize=8)
def _ruled_pairs(revision: str) -> pd.DataFrame:
    """``fanout_rule(full_pairs(revision))``, computed once for ``usable_pairs`` and ``dropped_links``."""
    return fanout_rule(full_pairs(revision))


@functools.lru_cache(maxsize=8)
def usable_pairs(revision: str) -> pd.DataFrame:
    """``full_pairs(revision)`` after the fan-out rule: DataFrame[hs22, other, pair_relationship, origin,
    wide, dropped] of the kept links (cached: do not modify)."""
    t = _ruled_pairs(revision)
    return t.loc[t["keep"]].drop(columns="keep").reset_index(drop=True)


@functools.lru_cache(maxsize=8)
def dropped_links(revision: str) -> pd.Series:
    """HS2022 code -> the number of its links dropped by the fan-out rule (codes with none omitted)."""
    t = _ruled_pairs(revision)
    d = t.drop_duplicates("hs22").set_index("hs22")["dropped"]
    return d[d > 0]
