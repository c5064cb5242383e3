"""Batch resume is keyed on the content of the data read (SHA-256), not on path, size and mtime: a same-size
edit with the timestamp put back is recomputed, for a file and for a folder of files."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from optimize import api
from optimize.errors import OutputError


def _write_sample(path: Path) -> None:
    """The embedded sample's NLD imports (and every exporter's world exports) as a BACI CSV."""
    flows = api.load_trade().flows
    flows.to_csv(path, index=False, float_format="%.3f")


def _same_size_edit(path: Path) -> None:
    """Change one digit of the largest China -> Netherlands value, keep the size and put the mtime back."""
    st = path.stat()
    lines = path.read_text().splitlines(keepends=True)
    rows = [(float(ln.split(",")[4]), n) for n, ln in enumerate(lines[1:], 1) if re.match(r"2023,156,528,", ln)]
    _, n = max(rows)
    t, i, j, k, v, q = lines[n].rstrip("\n").split(",")
    new_v = ("1" if v[0] != "1" else "2") + v[1:]  # same number of characters, a different value
    lines[n] = ",".join([t, i, j, k, new_v, q]) + "\n"
    path.write_text("".join(lines))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


@pytest.mark.parametrize("as_folder", [False, True], ids=["file", "folder"])
def test_same_size_edit_with_mtime_restored_is_recomputed(tmp_path, as_folder):
    folder = tmp_path / "data"
    folder.mkdir()
    csv = folder / "BACI_HS22_Y2023_V202501.csv"
    _write_sample(csv)
    data = folder if as_folder else csv
    kw = dict(importers="NLD", caps_pp=[5], risk_sets=[["CHN"]], workers=1, data=str(data))
    first = api.batch_run(out_dir=tmp_path / "b", **kw)
    assert len(first.computed) == 1
    _same_size_edit(csv)
    with pytest.raises(OutputError, match="another batch"):  # results of other data: replaced only when asked
        api.batch_run(out_dir=tmp_path / "b", **kw)
    again = api.batch_run(out_dir=tmp_path / "b", overwrite=True, **kw)
    assert again.skipped == [] and len(again.computed) == 1  # used to be "1 already finished", stale result
    fresh = api.batch_run(out_dir=tmp_path / "fresh", **kw)
    cols = ["risk", "before_usd", "share_before", "share_after"]
    assert again.table[cols].equals(fresh.table[cols])
    assert not first.table["before_usd"].equals(fresh.table["before_usd"])  # the edit changed the answer
    unchanged = api.batch_run(out_dir=tmp_path / "b", **kw)  # the same content again: resumed
    assert unchanged.computed == [] and len(unchanged.skipped) == 1
