"""Map HS2022 basket codes to older HS revisions with the UNSD correlation tables.

The shipped compact tables ``data/basket/concordance_HS22_to_{HS17,HS12,HS07,HS92}.csv``
(derived by ``scripts/build_basket.py`` from the bundled UNSD HS2022 correlation pairs plus
the errata, under the fan-out rule of ``hs_links``; basket codes only) make this work
offline. HS96 and HS02 have no HS2022 table here and are refused with a ``ScenarioError``.

Per source (HS2022) code the relationship is classified as
``1:1`` (one target, UN 1:1), ``n:1`` (one target that also absorbs other HS2022
codes: merged), ``1:n`` (several targets: split, all kept), ``n:n`` (any UN n:n
pair) or ``lost`` (no target).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from optimize.data.hs_links import MAX_FANOUT, dropped_links, fanout_rule, full_pairs, normalize_revision, usable_pairs
from optimize.errors import ScenarioError
from optimize.resources import basket_dir

#: UNSD HS2022 correlation tables (in ``shared/data/concordances``) by target revision.
UN_TABLES: dict[str, str] = {
    "HS17": "HS2022_to_HS2017_correlation_UNSD.csv",
    "HS12": "HS2022_to_HS2012_correlation_UNSD.csv",
    "HS07": "HS2022_to_HS2007_correlation_UNSD.csv",
    "HS92": "HS2022_to_HS1992_correlation_UNSD.csv",
}
#: BACI codes that aggregate a whole heading in every revision (absent from UN tables).
BACI_AGGREGATES: dict[str, str] = {"271000": "2710"}

_REL_ORDER = ["1:1", "n:1", "1:n", "n:n", "lost"]


@dataclass(frozen=True)
class ConcordanceReport:
    """What happened to the HS2022 codes when mapped to ``to_revision`` (counts are of source codes)."""

    to_revision: str
    n_source: int
    mapped: int            # source codes with at least one target
    one_to_one: int
    merged: int            # n:1
    split: int             # 1:n
    many_to_many: int      # n:n
    lost: tuple[str, ...] = ()
    uncovered: tuple[str, ...] = ()   # not in the compact table used (unknown, treated as lost)
    capped: tuple[str, ...] = ()      # wide fan-outs cut to their own heading (or curated targets)
    n_target: int = 0
    sector_conflicts: tuple[str, ...] = ()  # target codes fed by more than one sector
    broadened: tuple[str, ...] = ()          # target codes that also absorb non-basket HS2022 codes
    notes: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        return (f"HS22 -> {self.to_revision}: {self.n_source} codes, {self.mapped} mapped "
                f"({self.one_to_one} 1:1, {self.merged} n:1, {self.split} 1:n split, "
                f"{self.many_to_many} n:n), {len(self.lost)} lost, {self.n_target} target codes, "
                f"{len(self.capped)} wide fan-outs cut to their heading, "
                f"{len(self.sector_conflicts)} with sector conflicts")


def _un_columns(un: pd.DataFrame) -> pd.DataFrame:
    """UN correlation table -> DataFrame[k_source, k_target, pair_relationship] (str, 6 chars)."""
    src, tgt, rel = un.columns[:3]
    out = pd.DataFrame({
        "k_source": un[src].astype(str).str.strip().str.zfill(6),
        "k_target": un[tgt].astype(str).str.strip().str.zfill(6),
        "pair_relationship": un[rel].astype(str).str.strip(),
    })
    return out[out["k_source"].str.fullmatch(r"\d{6}") & out["k_target"].str.fullmatch(r"\d{6}")]


def classify_sources(pairs: pd.DataFrame) -> pd.Series:
    """Per source code relationship from its pairs (index k_source): n:n if any n:n pair,
    else 1:n if several targets, else n:1 if the single pair says n:1, else 1:1."""
    g = pairs.assign(is_nn=pairs["pair_relationship"] == "n:n",
                     is_n1=pairs["pair_relationship"] == "n:1").groupby("k_source")
    any_nn = g["is_nn"].any()
    n_tgt = g["k_target"].nunique()
    single = pd.Series("1:1", index=n_tgt.index).where(~g["is_n1"].any(), "n:1")
    rel = single.where(n_tgt == 1, "1:n")
    return rel.where(~any_nn, "n:n")


def derive_compact_table(pairs: pd.DataFrame, codes) -> pd.DataFrame:
    """Correlation pairs DataFrame[k_source, k_target, pair_relationship] + HS2022 codes ->
    DataFrame[k_source, k_target, relationship, pair_relationship, capped, dropped, extra_sources]
    for those codes only; lost codes have k_target "".

    ``relationship`` is classified on all pairs; then the fan-out rule (``hs_links.fanout_rule``)
    keeps a wide code's links inside its heading (or curated), ``capped`` = 1, ``dropped`` = links cut.
    ``extra_sources`` counts HS2022 codes outside ``codes`` that map to the same target.
    """
    pairs = pairs[["k_source", "k_target", "pair_relationship"]]
    codes = pd.Index(sorted(set(pd.Series(list(codes), dtype=str).str.zfill(6))))
    agg = [k for k in codes if k in BACI_AGGREGATES and k not in set(pairs["k_source"])]
    if agg:
        pairs = pd.concat([pairs, pd.DataFrame(
            {"k_source": agg, "k_target": agg, "pair_relationship": "1:1"})], ignore_index=True)
    rel = classify_sources(pairs)
    ruled = fanout_rule(pairs, "k_source", "k_target")
    dropped = ruled.drop_duplicates("k_source").set_index("k_source")["dropped"]
    pairs = ruled.loc[ruled["keep"]].assign(capped=lambda d: d["wide"].astype(int))
    in_basket = pairs["k_source"].isin(codes)
    outside = pairs.loc[~in_basket].groupby("k_target")["k_source"].nunique()
    sel = pairs.loc[in_basket].copy()
    sel["relationship"] = sel["k_source"].map(rel)
    sel["extra_sources"] = sel["k_target"].map(outside).fillna(0).astype(int)
    lost = codes.difference(sel["k_source"])
    if len(lost):
        sel = pd.concat([sel, pd.DataFrame({"k_source": lost, "k_target": "", "relationship": "lost",
                                            "pair_relationship": "", "capped": 0, "extra_sources": 0})],
                        ignore_index=True)
    sel["dropped"] = sel["k_source"].map(dropped).fillna(0).astype(int)
    sel["capped"] = sel["capped"].where(sel["dropped"] == 0, 1).astype(int)
    cols = ["k_source", "k_target", "relationship", "pair_relationship", "capped", "dropped", "extra_sources"]
    return sel[cols].sort_values(["k_source", "k_target"], kind="mergesort").reset_index(drop=True)


def bundled_pairs(to_revision: str) -> pd.DataFrame:
    """The bundled HS2022 -> ``to_revision`` pairs (UNSD + errata) as DataFrame[k_source, k_target,
    pair_relationship]: the input of ``derive_compact_table``."""
    t = full_pairs(to_revision)
    return pd.DataFrame({"k_source": t["hs22"], "k_target": t["other"], "pair_relationship": t["pair_relationship"]})


def compact_table_path(to_revision: str) -> Path:
    return basket_dir() / f"concordance_HS22_to_{normalize_revision(to_revision)}.csv"


def load_compact_table(to_revision: str, path: str | Path | None = None) -> pd.DataFrame:
    """The shipped compact table (or ``path``) for HS22 -> ``to_revision``."""
    rev = normalize_revision(to_revision)
    if rev not in UN_TABLES:
        raise ScenarioError(
            f"no HS2022 -> {rev} concordance is available", field="hs_revision",
            fix="use a BACI file in HS92, HS07, HS12, HS17 or HS22 (HS2022 tables are bundled only for those)")
    p = Path(path) if path is not None else compact_table_path(rev)
    if not p.is_file():
        raise ScenarioError(f"concordance table not found: {p}", file=str(p),
                            fix="run scripts/build_basket.py with ../shared/data present")
    t = pd.read_csv(p, dtype=str, keep_default_na=False, comment="#")
    for c in ("capped", "dropped", "extra_sources"):
        t[c] = pd.to_numeric(t[c]).astype(int)
    return t


def concord_basket(basket: pd.DataFrame, to_revision: str, *, table: pd.DataFrame | None = None
                   ) -> tuple[pd.DataFrame, ConcordanceReport]:
    """Map an HS2022 basket (k, sector[, subsector]) to ``to_revision``.

    Returns DataFrame[k_target, k_source, sector, subsector, relationship, extra_sources]
    (lost codes excluded, split codes with all their targets) sorted by (k_target, k_source),
    and a ConcordanceReport. ``table``: a compact table (default: the shipped one); basket
    codes absent from it are reported as ``uncovered`` and counted as lost.
    """
    rev = normalize_revision(to_revision)
    b = basket.copy()
    b["k"] = b["k"].astype(str).str.zfill(6)
    if "subsector" not in b:
        b["subsector"] = ""
    b = b.drop_duplicates("k").sort_values("k", kind="mergesort")
    if rev == "HS22":
        out = pd.DataFrame({"k_target": b["k"], "k_source": b["k"], "sector": b["sector"],
                            "subsector": b["subsector"], "relationship": "1:1", "extra_sources": 0})
        n = len(b)
        return out.reset_index(drop=True), ConcordanceReport(rev, n, n, n, 0, 0, 0, n_target=n)
    t = load_compact_table(rev) if table is None else table
    uncovered = tuple(sorted(set(b["k"]) - set(t["k_source"])))
    m = b[["k", "sector", "subsector"]].merge(t, left_on="k", right_on="k_source", how="inner")
    per_code = m.drop_duplicates("k_source").set_index("k_source")["relationship"]
    counts = per_code.value_counts()
    lost = tuple(sorted(set(per_code.index[per_code == "lost"]) | set(uncovered)))
    capped = tuple(sorted(m.loc[m["capped"] > 0, "k_source"].unique()))
    m = m[m["relationship"] != "lost"]
    out = (m[["k_target", "k_source", "sector", "subsector", "relationship", "extra_sources"]]
           .sort_values(["k_target", "k_source"], kind="mergesort").reset_index(drop=True))
    n_sec = out.groupby("k_target")["sector"].nunique()
    report = ConcordanceReport(
        to_revision=rev, n_source=len(b), mapped=int(per_code.ne("lost").sum()),
        one_to_one=int(counts.get("1:1", 0)), merged=int(counts.get("n:1", 0)),
        split=int(counts.get("1:n", 0)), many_to_many=int(counts.get("n:n", 0)),
        lost=lost, uncovered=uncovered, n_target=int(out["k_target"].nunique()),
        sector_conflicts=tuple(sorted(n_sec.index[n_sec > 1])),
        broadened=tuple(sorted(out.loc[out["extra_sources"] > 0, "k_target"].unique())),
        capped=capped,
    )
    return out, report


def target_basket(basket: pd.DataFrame, to_revision: str, *, table: pd.DataFrame | None = None
                  ) -> tuple[pd.DataFrame, ConcordanceReport]:
    """The basket expressed in ``to_revision``: one row per target code, DataFrame[k, sector,
    subsector, n_sources, relationships]. A target fed by several sectors takes the sector of
    its smallest source code (deterministic; listed in ``report.sector_conflicts``)."""
    pairs, report = concord_basket(basket, to_revision, table=table)
    g = pairs.groupby("k_target", sort=True)
    out = pd.DataFrame({
        "sector": g["sector"].first(),
        "subsector": g["subsector"].first(),
        "n_sources": g["k_source"].nunique(),
        "relationships": g["relationship"].agg(lambda s: ",".join(sorted(set(s), key=_REL_ORDER.index))),
    }).rename_axis("k").reset_index()
    return out, report


# ------------------------------------------------------------ any code list, both directions


@dataclass(frozen=True)
class CodeMapping:
    """HS6 codes mapped from one revision to another.

    ``pairs``: DataFrame[k_from, k_to, weight, split, merged]: ``weight`` is the share of
    ``k_from`` assigned to ``k_to`` (1.0 unless split; equal, or by ``weights`` trade);
    ``split``: ``k_from`` has several targets; ``merged``: ``k_to`` also covers other
    ``from`` codes. ``lost``: codes with no target. ``notes``: one line per split or merge.
    """

    from_revision: str
    to_revision: str
    pairs: pd.DataFrame
    lost: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def codes(self) -> list[str]:
        """The target codes, sorted and unique."""
        return sorted(set(self.pairs["k_to"]))


def _revision_pairs(from_rev: str, to_rev: str) -> tuple[pd.DataFrame, str]:
    """DataFrame[k_from, k_to] of the usable links (``hs_links.usable_pairs``) for any two of HS22 and
    the linked older revisions (two older ones go via HS2022)."""
    if from_rev == "HS22":
        t = usable_pairs(to_rev)
        return pd.DataFrame({"k_from": t["hs22"], "k_to": t["other"]}), ""
    if to_rev == "HS22":
        t = usable_pairs(from_rev)
        return pd.DataFrame({"k_from": t["other"], "k_to": t["hs22"]}), ""
    m = usable_pairs(from_rev).merge(usable_pairs(to_rev), on="hs22", suffixes=("_a", "_b"))
    out = pd.DataFrame({"k_from": m["other_a"], "k_to": m["other_b"]}).drop_duplicates(["k_from", "k_to"])
    return out, f" (via HS2022: {from_rev} -> HS22 -> {to_rev}; may over-split)"


def _cut_notes(want: list[str], fr: str, to: str) -> list[str]:
    """One note per HS2022 code whose wide fan-out was cut to its heading (``hs_links.fanout_rule``)."""
    if "HS22" not in (fr, to):
        return []
    dropped = dropped_links(to if fr == "HS22" else fr)
    hit = dropped[dropped.index.isin(want)] if fr == "HS22" else dropped.iloc[:0]
    return [f"{k} (HS22): {n} correlated {to} codes outside heading {k[:4]} not used "
            f"(more than {MAX_FANOUT} links)" for k, n in hit.items()]


def _listed(codes, limit: int = 8) -> str:
    codes = list(codes)
    return ", ".join(codes[:limit]) + (f" (+{len(codes) - limit} more)" if len(codes) > limit else "")


def concord_codes(codes, from_revision: str, to_revision: str, *, weights=None) -> CodeMapping:
    """Map HS6 ``codes`` from ``from_revision`` to ``to_revision`` (HS22, HS17, HS12, HS07, HS92; both ways).

    One-to-many splits are flagged and weighted: equally, or by ``weights`` (a mapping or
    Series of target code -> trade value, e.g. world imports in USD; a split whose targets
    have no trade falls back to equal weights). Targets that absorb other codes are flagged
    ``merged``. Codes without a usable link are ``lost``. An HS2022 code with more than
    ``MAX_FANOUT`` older partners keeps only the links of its own heading (or curated ones;
    ``hs_links.fanout_rule``); the cut is noted.
    """
    fr, to = normalize_revision(from_revision), normalize_revision(to_revision)
    want = sorted(set(pd.Series(list(codes), dtype=str).str.strip().str.zfill(6)))
    if fr == to:
        pairs = pd.DataFrame({"k_from": want, "k_to": want, "weight": 1.0, "split": False, "merged": False})
        return CodeMapping(fr, to, pairs)
    allp, via = _revision_pairs(fr, to)
    sources_per_target = allp.groupby("k_to")["k_from"].nunique()
    sel = allp[allp["k_from"].isin(want)].sort_values(["k_from", "k_to"], kind="mergesort").reset_index(drop=True)
    n_to = sel.groupby("k_from")["k_to"].transform("nunique")
    sel["split"] = n_to > 1
    sel["merged"] = sel["k_to"].map(sources_per_target).fillna(1).gt(1)
    w = pd.Series(1.0, index=sel.index)
    if weights is not None:
        trade = sel["k_to"].map(pd.Series(weights, dtype="float64")).fillna(0.0).clip(lower=0.0)
        total = trade.groupby(sel["k_from"]).transform("sum")
        w = (trade / total).where(total > 0, 1.0 / n_to)
    else:
        w = 1.0 / n_to
    sel["weight"] = w.astype(float)
    lost = tuple(sorted(set(want) - set(sel["k_from"])))
    notes = _cut_notes(want, fr, to)
    for k, g in sel[sel["split"]].groupby("k_from", sort=True):
        notes.append(f"{k} ({fr}) split into {_listed(g['k_to'])} ({to}){via}")
    for k, g in sel[sel["merged"]].groupby("k_to", sort=True):
        others = int(sources_per_target[k]) - g["k_from"].nunique()
        joined = f"{_listed(g['k_from'])} ({fr}) merged into {k} ({to})"
        notes.append(joined + (f" with {others} other {fr} code(s)" if others else ""))
    if lost:
        notes.append(f"no {to} code for {', '.join(lost)} ({fr})")
    cols = ["k_from", "k_to", "weight", "split", "merged"]
    return CodeMapping(fr, to, sel[cols], lost, tuple(notes))
