"""Bundle the full UNSD HS2022 <-> HS2017/HS2012/HS2007/HS1992 correlation tables as compact gzipped CSVs.

Usage::

    python scripts/build_concordances.py [--shared ../shared/data]

Reads ``concordances/HS2022_to_HS{2017,2012,2007,1992}_correlation_UNSD.csv`` from the shared
data folder and writes ``data/concordance/HS22_{HS17,HS12,HS07,HS92}.csv.gz`` with the columns
``hs22, other, pair_relationship`` (6-character codes, sorted, duplicates dropped;
deterministic gzip). ``optimize.data.hs_links`` adds the bundled errata and applies the
fan-out rule; ``optimize.data.concordance`` reads them in both directions. Provenance:
data/concordance/README.md.
"""
from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimize.data.concordance import UN_TABLES, _un_columns  # noqa: E402  (after the sys.path line)


def build(shared: Path, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for rev, name in sorted(UN_TABLES.items()):
        un = pd.read_csv(shared / "concordances" / name, dtype=str, keep_default_na=False)
        pairs = (_un_columns(un).rename(columns={"k_source": "hs22", "k_target": "other"})
                 .drop_duplicates(["hs22", "other"]).sort_values(["hs22", "other"], kind="mergesort"))
        text = pairs[["hs22", "other", "pair_relationship"]].to_csv(index=False, lineterminator="\n")
        path = out_dir / f"HS22_{rev}.csv.gz"
        path.write_bytes(gzip.compress(text.encode(), mtime=0))
        written.append(path)
        print(f"wrote {path.relative_to(ROOT)} ({len(pairs)} pairs)")
    return written


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    build(ap.parse_args().shared, ROOT / "data" / "concordance")
