"""Derive the per-revision sigma tables ``data/elasticities/sigma_{HS07,HS12,HS17,HS22}.csv``.

Usage::

    python scripts/build_sigma.py [--shared ../shared/data] [--weights BACI_HS07_YEAR_FILE]

Reads (never copies) ``shared/data/elasticities/ProTEE_0_1.csv`` (HS2007) and the UNSD
correlation tables in ``shared/data/concordances`` (HS22 -> HS07 directly, HS17 -> HS12 ->
HS07, HS12 -> HS07); the codes of each revision are the bundled CEPII product tables. A source
code linked to more than ``MAX_FANOUT`` codes keeps only its UNSD conversion target. Where several
HS2007 codes meet, sigma is their mean weighted by world trade per HS2007 code from ``--weights``
(a BACI HS07 file: the sum of v per k), else the simple mean (the bundled tables: no HS2007 trade
is offline). Rule: ``optimize.analysis.protee`` and docs/cost.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimize.analysis.protee import fill, to_revision, usable_protee  # noqa: E402
from optimize.data.concordance import _un_columns  # noqa: E402
from optimize.data.products import product_table  # noqa: E402

MAX_FANOUT = 20
#: revision -> chain of UNSD tables (stem, without _correlation/_conversion) down to HS2007
CHAINS = {"HS07": (), "HS12": ("HS2012_to_HS2007",), "HS17": ("HS2017_to_HS2012", "HS2012_to_HS2007"),
          "HS22": ("HS2022_to_HS2007",)}


def step(conc: Path, stem: str) -> pd.DataFrame:
    """One UNSD step as DataFrame[k_source, k_target]: a source code with more than ``MAX_FANOUT`` targets
    keeps only its UNSD conversion target (this script's rule, docs/cost.md; baskets and codes follow
    ``hs_links.fanout_rule`` instead)."""
    pairs = _un_columns(pd.read_csv(conc / f"{stem}_correlation_UNSD.csv", dtype=str))
    conv = _un_columns(pd.read_csv(conc / f"{stem}_conversion_UNSD.csv", dtype=str).assign(_rel=""))
    target = conv.drop_duplicates("k_source").set_index("k_source")["k_target"]
    wide = pairs.groupby("k_source")["k_target"].transform("nunique") > MAX_FANOUT
    keep = ~wide | (pairs["k_target"] == pairs["k_source"].map(target))
    return pairs.loc[keep, ["k_source", "k_target"]].drop_duplicates()


def links(conc: Path, rev: str, codes: list[str]) -> pd.DataFrame:
    """DataFrame[k, k07]: the HS2007 codes each code of ``rev`` reaches through the chain."""
    out = pd.DataFrame({"k": codes, "k07": codes})
    for stem in CHAINS[rev]:
        s = step(conc, stem).rename(columns={"k_source": "k07", "k_target": "next"})
        out = out.merge(s, on="k07")[["k", "next"]].rename(columns={"next": "k07"})
    return out.drop_duplicates()


def trade_weights(path: Path) -> pd.Series:
    """World trade per HS2007 code (kUSD, the sum of v over a BACI HS07 file's rows), indexed by k."""
    from optimize.api.data import load_trade
    from optimize.errors import ScenarioError

    data = load_trade(path)
    if data.hs_revision not in (None, "HS07"):
        raise ScenarioError(f"the weights file is {data.hs_revision} data, not HS2007", file=str(path),
                            field="--weights", fix="give a BACI HS07 year file (BACI_HS07_Y<year>_V<release>.csv)")
    return data.flows.groupby("k")["v"].sum()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "elasticities")
    ap.add_argument("--weights", type=Path, help="a BACI HS07 year file: trade-weighted means (default: simple)")
    a = ap.parse_args(argv)
    weights = trade_weights(a.weights) if a.weights else None
    usable = usable_protee(pd.read_csv(a.shared / "elasticities" / "ProTEE_0_1.csv", dtype={"HS6": str}))
    a.out.mkdir(parents=True, exist_ok=True)
    for rev in CHAINS:
        codes = sorted(product_table(rev)["k"].astype(str))
        filled07 = fill(sorted(set(usable.index) | set(links(a.shared / "concordances", rev, codes)["k07"])), usable)
        table = to_revision(filled07, links(a.shared / "concordances", rev, codes), codes, usable, weights)
        path = a.out / f"sigma_{rev}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            fh.write(f"# Derived by scripts/build_sigma.py from CEPII ProTEE_0_1.csv (HS2007; Fontagne, Guimbard & "
                     f"Orefice 2022) via UNSD {' -> '.join(CHAINS[rev]) or 'identity'}; rule in docs/cost.md"
                     + ("" if weights is None else f"; trade-weighted by {a.weights.name}") + "\n")
            table.to_csv(fh, index=False, float_format="%.6f")
        print(f"{path}: {len(table)} codes, " + ", ".join(
            f"{s} {n}" for s, n in table["sigma_source"].value_counts().items()))
    return 0


if __name__ == "__main__":
    from optimize.errors import TradeoptError

    try:
        raise SystemExit(main())
    except TradeoptError as exc:  # bad input: one line, its exit code
        print(f"build_sigma: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
