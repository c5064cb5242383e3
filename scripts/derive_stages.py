"""Derive the HS6 -> value-chain stage tables from the UNSD HS -> BEC Rev.4 tables.

Usage::

    python scripts/derive_stages.py [--shared ../shared/data]

Reads (never copies) from ``shared/data/concordances``:
``HS2022_to_BEC4_UNSD.csv`` and ``HS2017_to_BEC4_UNSD.csv`` (HS -> BEC4 pairs),
``DERIVED_HS2022_to_BEC5_enduse_via_HS2017.csv`` and ``UNSD_HS2017_to_BEC5_08Nov2018.csv``
(BEC5 end use, used only to break ties between stages), and writes
``data/stages/stages_HS22.csv`` and ``stages_HS17.csv`` (k, bec4, stage, stage_detail, rule)
with the rule of ``optimize.data.stages.choose_stage``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimize.data.stages import derive_stage_table  # noqa: E402

SOURCES = {
    "HS22": ("HS2022_to_BEC4_UNSD.csv", "DERIVED_HS2022_to_BEC5_enduse_via_HS2017.csv", "HS2022",
             "bec5_primary_enduse"),
    "HS17": ("HS2017_to_BEC4_UNSD.csv", "UNSD_HS2017_to_BEC5_08Nov2018.csv", "HS6", "BEC5EndUse"),
}


def read_pairs(path: Path) -> pd.DataFrame:
    """UNSD HS -> BEC4 table (BOM tolerated, empty rows dropped) -> DataFrame[k, bec4]."""
    t = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    hs, bec = t.columns[:2]
    out = pd.DataFrame({"k": t[hs].str.strip(), "bec4": t[bec].str.strip()})
    out = out[(out["k"] != "") & (out["bec4"] != "")]
    out["k"] = out["k"].str.zfill(6)
    return out


def read_enduse(path: Path, code_col: str, use_col: str) -> pd.Series:
    """BEC5 end use per HS6 code: first token of e.g. ``INT/CONS``."""
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    use = t[use_col].str.split("/").str[0].str.strip()
    s = pd.Series(use.to_numpy(), index=t[code_col].str.zfill(6))
    return s[(s != "") & ~s.index.duplicated()]


def derive(shared: Path, rev: str) -> pd.DataFrame:
    bec_file, use_file, code_col, use_col = SOURCES[rev]
    pairs = read_pairs(shared / "concordances" / bec_file)
    enduse = read_enduse(shared / "concordances" / use_file, code_col, use_col)
    return derive_stage_table(pairs, enduse)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "stages")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for rev, (bec_file, use_file, _, _) in SOURCES.items():
        table = derive(args.shared, rev)
        out = args.out / f"stages_{rev}.csv"
        with open(out, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(f"# Derived by scripts/derive_stages.py from UNSD {bec_file} "
                     f"(ties: BEC5 end use from {use_file}); see data/stages/README.md\n")
            table.to_csv(fh, index=False, lineterminator="\n")
        print(rev, len(table), table["stage"].value_counts().to_dict(), table["rule"].value_counts().to_dict())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
