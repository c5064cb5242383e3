"""Figures render without a display and are valid, non-empty PNG/SVG files."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from test_metrics import CAN, CHN, COUNTRIES, DEU, JPN, NOR, PRODUCT_INFO, RUS, USA, make_allocation, make_instance

from optimize.analysis.metrics import compute_tables
from optimize.data.trade import SYNTHETIC_LABEL
from optimize.output.plots import (
    plot_all,
    plot_beneficiaries,
    plot_exposure,
    plot_frontier,
    plot_hhi,
    plot_sweep,
    usd_scale,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tables():
    inst, df = make_instance([
        ("000001", CHN, 6e6, 0), ("000001", DEU, 3e6, 1e6), ("000001", NOR, 1e6, 2e6), ("000001", CAN, 5e5, 3e6),
        ("000002", USA, 5e6, 0), ("000002", JPN, 5e6, 1e6), ("000003", RUS, 2e6, 0), ("000003", CAN, 2e6, 1.5e6),
    ])
    x1 = inst.x0_kusd + np.where(inst.is_risk, 0, inst.cap_kusd)
    x1 = np.where(inst.pair_exporter == CHN, 0.0, x1)  # 6e6 moved to DEU 1e6, NOR 2e6, CAN 3e6
    x1 = np.where(inst.pair_exporter == USA, 4e6, x1)
    x1 = np.where(inst.pair_exporter == RUS, 0.5e6, x1)
    return compute_tables(inst, make_allocation(inst, x1), PRODUCT_INFO, COUNTRIES)


def check_files(paths, synthetic=False):
    assert [p.suffix for p in paths] == [".png", ".svg"] * (len(paths) // 2)
    for p in paths:
        data = p.read_bytes()
        assert len(data) > 1000
        if p.suffix == ".png":
            assert data.startswith(PNG_MAGIC)
        else:
            root = ET.fromstring(data)
            assert root.tag.endswith("svg")
            text = data.decode("utf-8")
            assert (SYNTHETIC_LABEL in text) == synthetic


def test_exposure_and_beneficiaries(tables, tmp_path):
    check_files(plot_exposure(tables, tmp_path / "exposure", synthetic=True), synthetic=True)
    paths = plot_beneficiaries(tables, tmp_path / "ben")
    check_files(paths)
    svg = paths[1].read_text()
    assert "Norway (NOR)" in svg and "USD bn" in svg  # names and units on the axes


def test_hhi_and_plot_all(tables, tmp_path):
    check_files(plot_hhi(tables, tmp_path / "hhi"))
    paths = plot_all(tables, tmp_path / "figs")
    assert len(paths) == 6
    check_files(paths)


def test_empty_beneficiaries(tables, tmp_path):
    empty = tables.beneficiaries.iloc[0:0]
    t = type(tables)(**{**tables.__dict__, "beneficiaries": empty})
    check_files(plot_beneficiaries(t, tmp_path / "b"))


def test_sweep_and_frontier(tmp_path):
    sweep = pd.DataFrame({"cap_pp": [0, 5, 10, 0, 5, 10], "risk": ["CHN"] * 3 + ["USA"] * 3,
                          "share_after": [0.11, 0.08, 0.07, 0.08, 0.02, 0.01]})
    check_files(plot_sweep(sweep, tmp_path / "sweep"))
    frontier = pd.DataFrame({"exposure_share": [0.2, 0.15, 0.1, 0.08], "hhi": [0.3, 0.31, 0.35, 0.45],
                             "is_knee": [False, False, True, False]})
    paths = plot_frontier(frontier, tmp_path / "frontier", synthetic=True)
    check_files(paths, synthetic=True)
    assert "knee: 10.0%" in paths[1].read_text()


def test_usd_scale():
    assert usd_scale(4.5e9) == (1e9, "USD bn")
    assert usd_scale(2e8) == (1e6, "USD m")
    assert usd_scale(5e7) == (1e6, "USD m")
    assert usd_scale(50.0) == (1.0, "USD")


@pytest.mark.parametrize("width_in", [6.0, 8.0, 11.0])
def test_titles_fit_the_figure(tmp_path, width_in):
    """The settings caption of a run is long; every title line stays inside the figure (it was cut at both
    sides of the 8-inch HHI figure)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from optimize.output.plots import _save

    caption = ("EU27 2023, HS22, BACI_SYNTHETIC_Y2023_sample.parquet (HS22, SYNTHETIC) [SYNTHETIC SAMPLE - not real "
               "trade data]\ncap 5 pp of world-exports; risk CHN, RUS, USA; spread proportional, split proportional; "
               "intra-bloc include; self-supply excluded")
    fig = Figure(figsize=(width_in, 3.0), layout="constrained")
    fig.add_subplot().barh(["a", "b"], [1, 2])
    _save(fig, tmp_path / "x", True, "Supplier concentration (HHI) by sector", subtitle=caption)
    FigureCanvasAgg(fig).draw()
    for text in fig.texts:
        box = text.get_window_extent()
        assert box.x0 >= 0 and box.x1 <= fig.bbox.x1, text.get_text()
    words = " ".join(t.get_text() for t in fig.texts).split()
    for word in ("SYNTHETIC", "self-supply", "excluded", "intra-bloc"):
        assert word in words  # wrapped, not cut


def test_sweep_title_and_labels_do_not_overlap(tmp_path, monkeypatch):
    """The sweep figure's 4-line settings title ran into the panel titles, and the right panel's long y label
    ran up into the title (seen on `tradeopt sweep --baci ... --importer KOR`)."""
    from matplotlib.figure import Figure

    saved = []
    original = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (saved.append(fig), original(fig, *a, **k))[1])
    caption = ("KOR 2023, HS22 (from the file name), BACI_HS22_Y2023_V202501_energy_subset_32products.parquet (HS22, "
               "V202501)\ncap swept, pp of world-exports; risk CHN, USA, RUS; spread proportional, split proportional; "
               "intra-bloc include; self-supply excluded")
    sweep = pd.DataFrame({"cap_pp": [0, 1, 2, 0, 1, 2], "risk": ["CHN"] * 3 + ["ALL"] * 3,
                          "share_after": [0.35, 0.14, 0.01, 0.47, 0.16, 0.01]})
    plot_sweep(sweep, tmp_path / "sweep", subtitle=caption)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = saved[-1]
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    for ax in fig.axes:
        for text in (ax.title, ax.yaxis.label):
            box = text.get_window_extent(renderer)
            assert not box.overlaps(title), text.get_text()
            assert box.y1 <= fig.bbox.y1 and box.y0 >= 0, text.get_text()
