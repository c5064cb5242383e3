"""The LP writer reproduces the golden .lp files of two small instances (tests/golden_lp.py).

The golden files were written by scripts/make_golden_lp.py and checked by hand against
docs/model.md (totals rows, risk/alternative bounds, caps, joint and exporter-total rows,
the shortfall column and its penalty). A difference means the model changed: check the new
file by hand the same way, then regenerate.
"""
from __future__ import annotations

import pytest

from tests.golden_lp import GOLDEN_DIR, INSTANCES, write


@pytest.mark.parametrize("name", sorted(INSTANCES))
def test_lp_file_matches_golden(name, tmp_path):
    fresh = write(name, tmp_path).read_text(encoding="utf-8")
    golden = (GOLDEN_DIR / f"{name}.lp").read_text(encoding="utf-8")
    assert fresh == golden, f"{name}.lp differs from tests/golden/{name}.lp"
