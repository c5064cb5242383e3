"""HS6 -> value-chain stage (UNCTAD stages of processing on BEC Rev.4).

Stages: ``raw`` (BEC4 111, 21, 31), ``intermediate`` (121, 22, 322, 32, 321 and parts
42, 53), ``capital`` (41, 521), ``final`` (112, 122, 522, 61, 62, 63 and 51 passenger
cars). ``stage_detail`` splits intermediate into ``semi_finished`` (121, 22, 32, 321,
322) and ``parts_components`` (42, 53). BEC4 7 (goods n.e.s.) is ``unclassified``.
Choices for the mixed codes: 51 passenger cars -> final (household end use dominates
in BEC5), 321 motor spirit and the non-leaf 32 (UN maps 2710xx there) -> intermediate.

HS codes with several BEC4 codes (n:n) get one stage by the rule in
``choose_stage``; the derived tables ``data/stages/stages_{HS22,HS17}.csv`` are
written by ``scripts/derive_stages.py`` and shipped.
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from optimize.data.concordance import BACI_AGGREGATES
from optimize.data.hs_links import normalize_revision
from optimize.errors import ScenarioError
from optimize.resources import stages_dir

STAGES: tuple[str, ...] = ("raw", "intermediate", "capital", "final")
UNCLASSIFIED = "unclassified"

BEC4_STAGE: dict[str, str] = {
    "111": "raw", "21": "raw", "31": "raw",
    "121": "intermediate", "22": "intermediate", "32": "intermediate", "321": "intermediate",
    "322": "intermediate", "42": "intermediate", "53": "intermediate",
    "41": "capital", "521": "capital",
    "112": "final", "122": "final", "522": "final", "61": "final", "62": "final", "63": "final",
    "51": "final",
    "7": UNCLASSIFIED,
}
BEC4_DETAIL: dict[str, str] = {
    **{c: s for c, s in BEC4_STAGE.items()},
    "121": "semi_finished", "22": "semi_finished", "32": "semi_finished", "321": "semi_finished",
    "322": "semi_finished", "42": "parts_components", "53": "parts_components",
}
#: BEC4 codes from least to most processed; ties inside a stage take the last (most processed).
BEC4_ORDER: tuple[str, ...] = ("111", "21", "31", "121", "22", "32", "321", "322", "42", "53",
                               "41", "521", "51", "112", "122", "522", "61", "62", "63", "7")
#: BEC5 end use (first token) -> stages it is compatible with.
ENDUSE_STAGES: dict[str, tuple[str, ...]] = {
    "INT": ("raw", "intermediate"), "CAP": ("capital",), "CONS": ("final",)}
_STAGE_RANK = {s: i for i, s in enumerate(STAGES)}
_BEC_RANK = {c: i for i, c in enumerate(BEC4_ORDER)}
TABLE_COLUMNS = ["k", "bec4", "stage", "stage_detail", "rule"]


def choose_stage(pairs: pd.DataFrame, enduse: pd.Series | None = None) -> pd.DataFrame:
    """HS -> BEC4 pairs (columns k, bec4) -> one row per k: DataFrame[k, bec4, stage, stage_detail, rule].

    Rule per HS code: drop BEC4 7 when other candidates exist; if the candidates span one
    stage take it (rule ``single``/``same_stage``); else keep the stages compatible with the
    code's BEC5 end use (``enduse``: Series k -> INT/CAP/CONS) (``bec5_enduse``); if several
    remain take the most processed (final > capital > intermediate > raw, ``most_processed``).
    The bec4 shown is the most processed candidate of the chosen stage.
    """
    p = pairs[["k", "bec4"]].drop_duplicates().copy()
    unknown = sorted(set(p["bec4"]) - set(BEC4_STAGE))
    if unknown:
        raise ValueError(f"unknown BEC4 codes {unknown}")
    p["stage"] = p["bec4"].map(BEC4_STAGE)
    n_all = p.groupby("k")["bec4"].transform("size")
    has_real = p.assign(r=p["stage"] != UNCLASSIFIED).groupby("k")["r"].transform("any")
    p = p[(p["stage"] != UNCLASSIFIED) | ~has_real]
    n_stage = p.groupby("k")["stage"].transform("nunique")
    rule = pd.Series("single", index=p.index).where(n_all == 1, "same_stage")
    rule = rule.where(n_stage == 1, "most_processed")
    p["rule"] = rule
    if enduse is not None:
        allowed = p["k"].map(enduse).map(ENDUSE_STAGES)
        ok = [isinstance(a, tuple) and s in a for a, s in zip(allowed, p["stage"], strict=False)]
        p["ok"] = ok
        multi = n_stage > 1
        any_ok = p.groupby("k")["ok"].transform("any")
        p = p[~multi | ~any_ok | p["ok"]]
        n2 = p.groupby("k")["stage"].transform("nunique")
        p.loc[multi[p.index] & any_ok[p.index] & (n2 == 1), "rule"] = "bec5_enduse"
    p["stage_rank"] = p["stage"].map(_STAGE_RANK).fillna(-1)
    p["bec_rank"] = p["bec4"].map(_BEC_RANK)
    p = p.sort_values(["k", "stage_rank", "bec_rank"], kind="mergesort")
    out = p.groupby("k", sort=True).tail(1).copy()
    out["stage_detail"] = out["bec4"].map(BEC4_DETAIL)
    out.loc[out["stage"] == UNCLASSIFIED, "rule"] = "bec4_7_nes"
    return out[TABLE_COLUMNS].sort_values("k", kind="mergesort").reset_index(drop=True)


def add_baci_aggregates(pairs: pd.DataFrame) -> pd.DataFrame:
    """Add BACI heading aggregates (271000 = heading 2710) with the BEC4 codes of their heading."""
    extra = []
    for code, heading in BACI_AGGREGATES.items():
        if code not in set(pairs["k"]):
            sub = pairs.loc[pairs["k"].str[:4] == heading, ["bec4"]].drop_duplicates()
            extra.append(sub.assign(k=code))
    return pd.concat([pairs, *extra], ignore_index=True) if extra else pairs


def derive_stage_table(pairs: pd.DataFrame, enduse: pd.Series | None = None) -> pd.DataFrame:
    """UN HS -> BEC4 pairs (+ BEC5 end use) -> the stage table; BACI aggregates get rule
    ``baci_aggregate`` (stage chosen by ``choose_stage`` over their heading's BEC4 codes)."""
    out = choose_stage(add_baci_aggregates(pairs), enduse)
    added = [c for c in BACI_AGGREGATES if c not in set(pairs["k"])]
    out.loc[out["k"].isin(added), "rule"] = "baci_aggregate"
    return out


def stage_table(hs_revision: str = "HS22") -> pd.DataFrame:
    """The shipped stage table: DataFrame[k, stage, stage_detail, bec4, rule] sorted by k."""
    rev = normalize_revision(hs_revision)
    p = stages_dir() / f"stages_{rev}.csv"
    if not p.is_file():
        raise ScenarioError(f"no value-chain stage table for {rev}", file=str(p), field="hs_revision",
                            fix="stages are available for HS22 and HS17 data")
    t = pd.read_csv(p, dtype=str, keep_default_na=False, comment="#")
    return t[["k", "stage", "stage_detail", "bec4", "rule"]]


def assign_stages(codes: Iterable[str], hs_revision: str = "HS22") -> pd.DataFrame:
    """Stages for ``codes``: DataFrame[k, stage, stage_detail, bec4], one row per distinct code,
    sorted by k; codes without a stage get ``unclassified`` (their number is in
    ``df.attrs["n_unclassified"]``)."""
    ks = pd.Series(sorted(set(str(c).zfill(6) for c in codes)), name="k", dtype=str)
    t = stage_table(hs_revision)
    out = pd.DataFrame({"k": ks}).merge(t[["k", "stage", "stage_detail", "bec4"]], on="k", how="left")
    missing = out["stage"].isna()
    out.loc[missing, ["stage", "stage_detail"]] = UNCLASSIFIED
    out["bec4"] = out["bec4"].fillna("")
    out.attrs["n_unclassified"] = int((out["stage"] == UNCLASSIFIED).sum())
    return out
