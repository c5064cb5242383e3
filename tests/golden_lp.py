"""The two small instances whose LPs are kept as golden ``.lp`` files in ``tests/golden/``.

``worked_example``: docs/model.md's worked example (importer J = 528, products A and B),
the separable LP. ``joint_two_importers``: importers J (528) and K (56) sharing the
alternatives' capacity (joint rows), a per-exporter total of 3 pp (exporter-total
rows) and Russia banned from product B (a shortfall column; the isolated ban fixes product A's pairs);
``joint_shared_caps``: the same without the ban (joint and exporter-total rows on both products). Regenerate with
``python scripts/make_golden_lp.py`` and check any change by hand against docs/model.md.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optimize.model.instance import CapRule, build_instance
from optimize.model.lp import build_lp, write_lp

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
J, K, ROW = 528, 56, 76
CHN, USA, RUS, DEU, JPN, KOR, NOR, GBR = 156, 842, 643, 276, 392, 410, 579, 826
A, B = "850440", "271111"
YEAR = 2023

# (exporter, importer, product, value kUSD): docs/model.md's worked example
WORKED = [
    (CHN, J, A, 60.0), (USA, J, A, 10.0), (DEU, J, A, 20.0), (JPN, J, A, 10.0),
    (DEU, ROW, A, 380.0), (JPN, ROW, A, 190.0), (KOR, ROW, A, 100.0),
    (RUS, J, B, 10.0), (NOR, J, B, 30.0), (GBR, J, B, 10.0),
    (NOR, ROW, B, 970.0), (GBR, ROW, B, 90.0),
]
# two importers: world exports Germany A 400, Japan A 100, Norway B 1,000
JOINT = [
    (CHN, J, A, 30.0), (DEU, J, A, 10.0),
    (CHN, K, A, 20.0), (DEU, K, A, 10.0), (JPN, K, A, 5.0),
    (DEU, ROW, A, 380.0), (JPN, ROW, A, 95.0),
    (RUS, J, B, 8.0), (NOR, J, B, 12.0), (NOR, ROW, B, 988.0),
]


def _frame(flows) -> pd.DataFrame:
    i, j, k, v = zip(*flows, strict=True)
    return pd.DataFrame({"t": YEAR, "i": i, "j": j, "k": k, "v": v, "q": np.nan})


def worked_example():
    inst = build_instance(_frame(WORKED), importer="J", importer_codes=[J], year=YEAR, products=[A, B],
                          risk_codes=[CHN, USA, RUS], cap=CapRule(pp=5.0, basis="world-exports"))
    return build_lp([inst])


def joint_two_importers():
    df = _frame(JOINT)
    insts = [build_instance(df, importer=name, importer_codes=[code], year=YEAR, products=[A, B],
                            risk_codes=[CHN, RUS], cap=CapRule(pp=5.0, basis="world-exports"), ban={RUS: {B}})
             for name, code in (("J", J), ("K", K))]
    return build_lp(insts, joint=True, exporter_total_pp=3.0)


def joint_shared_caps():
    """The two importers without the ban: every alternative of both products grows, so the joint rows
    (shared caps) and exporter-total rows cover both products (the ban above fixes product A's pairs)."""
    df = _frame(JOINT)
    insts = [build_instance(df, importer=name, importer_codes=[code], year=YEAR, products=[A, B],
                            risk_codes=[CHN, RUS], cap=CapRule(pp=5.0, basis="world-exports"))
             for name, code in (("J", J), ("K", K))]
    return build_lp(insts, joint=True, exporter_total_pp=3.0)


INSTANCES = {"worked_example": worked_example, "joint_two_importers": joint_two_importers,
             "joint_shared_caps": joint_shared_caps}


def write(name: str, folder: Path) -> Path:
    """Write instance ``name``'s LP as ``<folder>/<name>.lp`` with the package's LP writer."""
    return write_lp(INSTANCES[name](), folder / f"{name}.lp")
