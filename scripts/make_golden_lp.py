"""Write the golden LP files ``tests/golden/*.lp`` (see ``tests/golden_lp.py``).

Run from the repository root: ``python scripts/make_golden_lp.py``. The files are
written by ``optimize.model.lp.write_lp`` (HiGHS's .lp writer); after a change,
check every row and bound by hand against docs/model.md before committing.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.golden_lp import GOLDEN_DIR, INSTANCES, write  # noqa: E402

if __name__ == "__main__":
    for name in INSTANCES:
        print(write(name, GOLDEN_DIR))
