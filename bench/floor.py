"""The floor for batch runs: every single-country importer of one year at once, plain pandas, closed form.

Not tradeopt code: an independent vectorised script over a BACI parquet (t,i,j,k,v
in kUSD) for the separable model with the default settings (world-exports cap
basis, caps p pp of each alternative's world exports, at most its exports outside
the importer; no friends, bans or share limits). Per importer j and product k,
with T = j's imports, R = its imports from the risk countries and C = the summed
caps of every non-risk exporter of k: risk imports after = R - min(C, R), kept
by each risk supplier in proportion. Values in USD, shares 0..1.

    python bench/floor.py bench/work/synthetic_baci_Y2023_2000000.parquet --cap 5 --products all
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def risk_codes(iso3: list[str]) -> dict[str, int]:
    """BACI codes of ISO3 names from the shipped country table (current codes)."""
    t = pd.read_csv(ROOT / "data" / "baci" / "country_codes.csv", dtype={"iso3": str})
    t = t[~t["baci_code"].isin([58, 200, 278, 280, 530, 711, 736, 810, 891])]
    return {s: int(t.loc[t["iso3"] == s, "baci_code"].iloc[0]) for s in iso3}


def eu27_codes() -> list[int]:
    """BACI codes of the EU27 members (shipped group table)."""
    g = pd.read_csv(ROOT / "data" / "baci" / "country_groups.csv", dtype=str)
    return list(risk_codes(sorted(g.loc[g["group"] == "EU27", "iso3"])).values())


def floor(parquet: str | Path, *, risk: tuple[str, ...] = ("CHN", "RUS", "USA"), cap_pp: float = 5.0,
          products: list[str] | None = None, year: int | None = None, bloc: list[int] | None = None) -> pd.DataFrame:
    """One row per (importer code j, risk country or ALL): before/after USD and shares of j's basket.

    ``bloc``: only this set of importer codes, as one importer (j = -1; flows between members count as imports).
    """
    df = pd.read_parquet(parquet, columns=["t", "i", "j", "k", "v"])
    year = int(df["t"].max()) if year is None else year
    df = df.loc[df["t"] == year, ["i", "j", "k", "v"]]
    if products is not None:
        df = df.loc[df["k"].isin(products)]
    df = df.loc[df["v"] > 0]
    codes = risk_codes(list(risk))
    p = cap_pp / 100.0
    world = df.groupby(["k", "i"], sort=False)["v"].sum().rename("w")
    if bloc is not None:
        df = df.loc[df["j"].isin(bloc)].assign(j=-1).groupby(["k", "i", "j"], as_index=False)["v"].sum()
    df = df.join(world, on=["k", "i"])
    df["risk"] = df["i"].isin(list(codes.values()))
    w_nonrisk = world[~world.index.get_level_values("i").isin(list(codes.values()))].groupby(level="k").sum()
    nr = df.loc[~df["risk"]]
    corr = (np.minimum(p * nr["w"], nr["w"] - nr["v"]) - p * nr["w"]).groupby([nr["j"], nr["k"]]).sum()
    jk = df.groupby(["j", "k"], sort=True)["v"].sum().rename("T").to_frame()
    jk["R"] = df.loc[df["risk"]].groupby(["j", "k"])["v"].sum()
    jk["corr"] = corr
    jk = jk.fillna(0.0)
    jk["C"] = p * w_nonrisk.reindex(jk.index.get_level_values("k")).fillna(0.0).to_numpy() + jk["corr"]
    if bloc is None:  # a country is never its own alternative: take its own default cap out
        j_lvl, k_lvl = jk.index.get_level_values("j"), jk.index.get_level_values("k")
        own = world.reindex(pd.MultiIndex.from_arrays([k_lvl, j_lvl])).fillna(0.0).to_numpy()
        jk["C"] -= np.where(np.isin(j_lvl, list(codes.values())), 0.0, p * own)
    jk["extra"] = np.minimum(jk["C"].clip(lower=0), jk["R"])
    jk["keep"] = np.where(jk["R"] > 0, (jk["R"] - jk["extra"]) / jk["R"].where(jk["R"] > 0, 1.0), 0.0)
    basket = jk.groupby(level="j")["T"].sum()
    rows = []
    rf = df.loc[df["risk"]].join(jk["keep"], on=["j", "k"])
    for name, code in codes.items():
        sel = rf.loc[rf["i"] == code]
        rows.append(pd.DataFrame({"before_usd": sel.groupby("j")["v"].sum(),
                                  "after_usd": (sel["v"] * sel["keep"]).groupby(sel["j"]).sum()})
                    .reindex(basket.index, fill_value=0.0).assign(risk=name))
    rows.append(pd.DataFrame({"before_usd": jk.groupby(level="j")["R"].sum(),
                              "after_usd": (jk["R"] - jk["extra"]).groupby(level="j").sum()}).assign(risk="ALL"))
    out = pd.concat(rows).rename_axis("j").reset_index()
    out[["before_usd", "after_usd"]] *= 1000.0
    b = out["j"].map(basket * 1000.0)
    out["share_before"] = out["before_usd"] / b
    out["share_after"] = out["after_usd"] / b
    out["shifted_usd"] = out["j"].map(jk.groupby(level="j")["extra"].sum() * 1000.0)
    return out.sort_values(["j", "risk"]).reset_index(drop=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parquet")
    ap.add_argument("--cap", type=float, default=5.0)
    ap.add_argument("--risk", default="CHN,RUS,USA")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    out = floor(args.parquet, risk=tuple(args.risk.split(",")), cap_pp=args.cap)
    print(f"{out['j'].nunique()} importers in {time.perf_counter() - t0:.2f} s", file=sys.stderr)
    print(out[out["risk"] == "ALL"].head(10).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
