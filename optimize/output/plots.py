"""Matplotlib figures of a run (PNG + SVG). Uses ``matplotlib.figure.Figure`` directly, so no
display and no global pyplot state; every function returns the written paths."""
from __future__ import annotations

import io
import textwrap
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps, rc_context
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from optimize.data.basket import sector_name
from optimize.data.trade import SYNTHETIC_LABEL
from optimize.output.textfmt import country_label

BEFORE_COLOR, AFTER_COLOR = "#9e9e9e", "#1f77b4"
SHORTFALL_COLOR = "#d62728"  # supply lost under an export ban
MEMBER_HATCH, MEMBER_EDGE = "///", "#222222"  # beneficiaries that belong to the importing bloc
PNG_DPI = 130


def usd_scale(max_usd: float) -> tuple[float, str]:
    """(divisor, unit label) so the largest value reads as >= 1 bn, m or thousand USD."""
    for div, unit in ((1e9, "USD bn"), (1e6, "USD m"), (1e3, "USD thousand")):
        if max_usd >= div:
            return div, unit
    return 1.0, "USD"


def _wrap(text: str, width_in: float, fontsize: float) -> str:
    """``text`` with each line wrapped to what fits ``width_in`` inches at ``fontsize`` points (an average
    character is taken as 0.62 em, a little wider than DejaVu Sans', so a line never runs off the figure)."""
    chars = max(20, int(width_in * 72 / (0.62 * fontsize)))
    return "\n".join(textwrap.fill(line, chars, break_on_hyphens=False) for line in text.split("\n"))


def _save(fig: Figure, stem, synthetic: bool, title: str, subtitle: str = "") -> list[Path]:
    """Title (+ the run's settings ``subtitle``, + synthetic banner), PNG and SVG beside ``stem``; the
    constrained layout runs once, for the PNG (Agg). Returns both paths."""
    text = f"{title}\n{subtitle}" if subtitle else title
    if synthetic and SYNTHETIC_LABEL not in text:  # the settings caption may already carry it
        text = f"{text}\n[{SYNTHETIC_LABEL}]"
    fontsize = 12 if not subtitle else 10
    fig.suptitle(_wrap(text, fig.get_figwidth(), fontsize), fontsize=fontsize,
                 color="#b00020" if synthetic else "black")
    if synthetic:
        fig.supxlabel(SYNTHETIC_LABEL, fontsize=8, color="#b00020", x=0.01, ha="left")
    stem = Path(stem)
    sink = _SINK.get()
    if sink is None:
        stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")]
    _lay_out(fig, PNG_DPI)
    for path, kw in zip(paths, ({"dpi": PNG_DPI, "format": "png"}, {"format": "svg"}), strict=True):
        target = io.BytesIO() if sink is not None else path
        with rc_context({"svg.hashsalt": "tradeopt"}):  # fixed ids (clip paths): the same figure, the same SVG
            fig.savefig(target, **kw)
        if sink is not None:
            sink[path.as_posix()] = target.getvalue()
    return paths


#: Where ``_save`` puts the figures' bytes instead of writing files (``figure_bytes``), or None.
_SINK: ContextVar[dict[str, bytes] | None] = ContextVar("tradeopt_figure_sink", default=None)


def figure_bytes(tables, folder: str = "figures", *, synthetic: bool = False, subtitle: str = "") -> dict[str, bytes]:
    """``plot_all``'s figures in memory: {``folder``/name.png|svg: bytes}, in ``plot_all``'s order, the bytes it
    writes; nothing is written."""
    sink: dict[str, bytes] = {}
    token = _SINK.set(sink)
    try:
        plot_all(tables, Path(folder), synthetic=synthetic, subtitle=subtitle)
    finally:
        _SINK.reset(token)
    return sink


def _lay_out(fig: Figure, dpi: float) -> None:
    """Run the figure's constrained layout once, measuring text as Agg draws it at ``dpi``, then fix it (no
    layout engine): each ``savefig`` then draws once, where it would lay out (a dry draw) and draw per format."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    engine, dpi_before = fig.get_layout_engine(), fig.dpi
    if engine is None:
        return
    FigureCanvasAgg(fig)
    fig.dpi = dpi
    engine.execute(fig)
    fig.dpi = dpi_before
    with rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)  # None, not 'none': a placeholder engine would still make savefig dry-draw


def _grouped_barh(ax, labels, before, after, xlabel: str, scale: float = 1.0) -> None:
    """Horizontal grouped bars, first label on top."""
    y = np.arange(len(labels))[::-1]
    h = 0.38
    ax.barh(y + h / 2, np.asarray(before, float) * scale, h, label="before", color=BEFORE_COLOR)
    ax.barh(y - h / 2, np.asarray(after, float) * scale, h, label="after", color=AFTER_COLOR)
    ax.set_yticks(y, labels=list(labels))
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def plot_exposure(tables, stem, *, synthetic: bool = False, subtitle: str = "") -> list[Path]:
    """Exposure per risk country (grouped bars, % of basket imports), and risk share by sector and by stage;
    under an export ban also the banned, replaced and shortfall values (USD)."""
    fig = Figure(figsize=(11, 8.5), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.2])
    banned = "banned_usd" in tables.summary  # an export ban: what was banned, replaced and lost, beside the shares
    top = grid[0, :].subgridspec(1, 2, width_ratios=[2.2, 1]) if banned else None
    ax = fig.add_subplot(top[0] if banned else grid[0, :])
    if banned:
        _ban_bars(fig.add_subplot(top[1]), tables.summary)
    e = tables.exposure
    labels = [country_label(n, i) if i != "ALL" else "All risk countries"
              for i, n in zip(e["iso3"], e["name"], strict=False)]
    x = np.arange(len(e))
    w = 0.38
    bars0 = ax.bar(x - w / 2, e["share_before"] * 100, w, label="before", color=BEFORE_COLOR)
    bars1 = ax.bar(x + w / 2, e["share_after"] * 100, w, label="after", color=AFTER_COLOR)
    ax.bar_label(bars0, fmt="%.1f", fontsize=8)
    ax.bar_label(bars1, fmt="%.1f", fontsize=8)
    ax.set_xticks(x, labels=labels)
    ax.set_ylabel("% of basket imports")
    ax.set_title("Exposure per risk country")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    for pos, (table, key) in enumerate(((tables.by_sector, "sector"), (tables.by_stage, "stage"))):
        sub = fig.add_subplot(grid[1, pos])
        if table is None or table.empty:
            _empty(sub, f"no {key} breakdown")
            continue
        labels = table[key].astype(str).map(sector_name) if key == "sector" else table[key].astype(str)
        _grouped_barh(sub, labels, table["risk_share_before"], table["risk_share_after"],
                      "risk countries, % of imports", 100.0)
        sub.set_title(f"Risk share by {key}")
    return _save(fig, stem, synthetic, "Dependence on risk countries, before and after re-allocation", subtitle)


def _ban_bars(ax, s: dict) -> None:
    """Banned imports beside what alternatives replaced and the shortfall (supply lost), one bar each."""
    values = np.array([s["banned_usd"], s["replaced_usd"], s["shortfall_usd"]], dtype=float)
    div, unit = usd_scale(float(values.max()))
    bars = ax.bar([0, 1, 2], values / div, color=[BEFORE_COLOR, AFTER_COLOR, SHORTFALL_COLOR])
    ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks([0, 1, 2], labels=["banned", "replaced", "shortfall"])
    ax.set_ylabel(unit)
    ax.set_title("Export ban: banned imports")
    ax.grid(axis="y", alpha=0.3)


def plot_beneficiaries(tables, stem, *, synthetic: bool = False, subtitle: str = "") -> list[Path]:
    """Top beneficiaries: extra exports to the importer (USD bn), bars coloured by main sector; members of the
    importing bloc hatched, in bold and in the legend."""
    b = tables.beneficiaries
    fig = Figure(figsize=(9, max(3.0, 0.32 * len(b) + 1.6)), layout="constrained")
    ax = fig.add_subplot()
    if b.empty:
        _empty(ax, "no exporter gains")
        return _save(fig, stem, synthetic, "Top beneficiaries", subtitle)
    sectors = sorted(b["main_sector"].astype(str).unique())
    cmap = colormaps["tab10"]
    colour = {s: cmap(i % 10) for i, s in enumerate(sectors)}
    y = np.arange(len(b))[::-1]
    div, unit = usd_scale(float(b["increase_usd"].max()))
    member = b["bloc_member"].to_numpy(bool) if "bloc_member" in b else np.zeros(len(b), dtype=bool)
    bars = ax.barh(y, b["increase_usd"] / div, color=[colour[s] for s in b["main_sector"].astype(str)],
                   hatch=[MEMBER_HATCH if m else "" for m in member], edgecolor=[
                       MEMBER_EDGE if m else "none" for m in member], linewidth=1.2)
    top = float(b["increase_usd"].max()) / div
    ax.bar_label(bars, fmt="%.2f" if top < 10 else "%.1f" if top < 100 else "%.0f", fontsize=8, padding=2)
    ax.set_yticks(y, labels=[country_label(n, i) for n, i in zip(b["name"], b["exporter"], strict=False)])
    ax.set_xlabel(f"extra exports to the importer, {unit}")
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(color=colour[s], label=sector_name(s)) for s in sectors]
    if member.any():
        handles.append(Patch(facecolor="white", edgecolor=MEMBER_EDGE, hatch=MEMBER_HATCH,
                             label="member of the importing bloc"))
        for tick, m in zip(ax.get_yticklabels(), member, strict=False):
            tick.set_fontweight("bold" if m else "normal")
    ax.legend(handles=handles, title="main sector", fontsize=8, loc="lower right")
    return _save(fig, stem, synthetic, "Top beneficiaries of the re-allocation", subtitle)


def plot_hhi(tables, stem, *, synthetic: bool = False, subtitle: str = "") -> list[Path]:
    """Supplier concentration (value-weighted HHI, 0..1) per sector, before and after."""
    s = tables.by_sector
    fig = Figure(figsize=(8, max(3.0, 0.5 * len(s) + 1.6)), layout="constrained")
    ax = fig.add_subplot()
    if s is None or s.empty:
        _empty(ax, "no sectors")
    else:
        _grouped_barh(ax, s["sector"].astype(str).map(sector_name), s["hhi_before"], s["hhi_after"],
                      "HHI (0..1, value-weighted)")
        ax.set_xlim(0, 1)
    return _save(fig, stem, synthetic, "Supplier concentration (HHI) by sector", subtitle)


def plot_sweep(df: pd.DataFrame, stem, *, synthetic: bool = False, subtitle: str = "") -> list[Path]:
    """Exposure per risk country vs cap (line) and the reduction each extra pp of cap buys (bars).

    ``df`` columns: cap_pp, risk (ISO3), share_after (0..1).
    """
    fig = Figure(figsize=(11, 5.2), layout="constrained")
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    d = df.sort_values(["risk", "cap_pp"])
    risks = sorted(d["risk"].astype(str).unique())
    caps = np.sort(d["cap_pp"].unique())
    width = 0.8 * (np.min(np.diff(caps)) if caps.size > 1 else 1.0) / max(1, len(risks))
    for i, r in enumerate(risks):
        g = d[d["risk"].astype(str) == r]
        cap = g["cap_pp"].to_numpy(float)
        share_pct = g["share_after"].to_numpy(float) * 100
        ax1.plot(cap, share_pct, marker="o", label=r)
        if cap.size > 1:
            marginal = -np.diff(share_pct) / np.diff(cap)
            ax2.bar(cap[1:] + (i - (len(risks) - 1) / 2) * width, marginal, width, label=r)
    ax1.set_xlabel("cap, percentage points of exporter's exports")
    ax1.set_ylabel("% of basket imports after")
    ax1.set_title("Exposure vs cap")
    ax1.grid(alpha=0.3)
    ax1.legend(title="risk country")
    ax2.set_xlabel("cap, percentage points (bar at the upper end of each step)")
    ax2.set_ylabel("pp of imports cut per extra pp of cap")
    ax2.set_title("Marginal reduction per extra pp")
    ax2.grid(axis="y", alpha=0.3)
    if len(risks):
        ax2.legend(title="risk country")
    return _save(fig, stem, synthetic, "Cap sweep", subtitle)


def plot_frontier(df: pd.DataFrame, stem, *, synthetic: bool = False, subtitle: str = "") -> list[Path]:
    """Exposure (x, % of imports) vs HHI (y) frontier with the knee marked.

    ``df`` columns: exposure_share (0..1), hhi (0..1), is_knee (bool).
    """
    fig = Figure(figsize=(7, 5), layout="constrained")
    ax = fig.add_subplot()
    d = df.sort_values("exposure_share")
    ax.plot(d["exposure_share"] * 100, d["hhi"], marker="o", color=AFTER_COLOR, label="frontier")
    knee = d[d["is_knee"].astype(bool)]
    if not knee.empty:
        ax.scatter(knee["exposure_share"] * 100, knee["hhi"], s=180, marker="*", color="#d62728", zorder=3,
                   label="knee")
        for xv, yv in zip(knee["exposure_share"] * 100, knee["hhi"], strict=False):
            right_half = xv > float(d["exposure_share"].mean()) * 100
            ax.annotate(f"knee: {xv:.1f}%, HHI {yv:.3f}", (xv, yv), xytext=(-8 if right_half else 8, 10),
                        textcoords="offset points", ha="right" if right_half else "left")
    ax.set_xlabel("exposure to risk countries, % of basket imports")
    ax.set_ylabel("HHI of suppliers (0..1, value-weighted)")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, stem, synthetic, "Exposure vs concentration frontier", subtitle)


def plot_all(tables, fig_dir, *, synthetic: bool = False, subtitle: str = "") -> list[Path]:
    """The run figures (exposure, beneficiaries, HHI) into ``fig_dir``; ``subtitle``: the run's
    settings (``output.settings.settings_caption``) under every title. Returns all paths."""
    fig_dir = Path(fig_dir)
    out: list[Path] = []
    out += plot_exposure(tables, fig_dir / "exposure", synthetic=synthetic, subtitle=subtitle)
    out += plot_beneficiaries(tables, fig_dir / "beneficiaries", synthetic=synthetic, subtitle=subtitle)
    out += plot_hhi(tables, fig_dir / "hhi_by_sector", synthetic=synthetic, subtitle=subtitle)
    if getattr(tables, "bands", None) is not None:
        out += plot_bands(tables.bands, fig_dir / "bands", synthetic=synthetic, subtitle=subtitle)
    return out


def plot_bands(bands, stem, *, synthetic: bool = False, subtitle: str = "") -> list[Path]:
    """Exposure after per risk country (% of basket imports) and the cost (USD), central with
    low-high error bars (``optimize.analysis.bands``)."""
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    ax, ax_cost = fig.subplots(1, 2, width_ratios=[2.5, 1])
    e = bands[bands["measure"] == "exposure_after"]
    x = np.arange(len(e))
    mid = e["central"].to_numpy(dtype=float) * 100
    err = np.vstack([mid - e["low"].to_numpy(dtype=float) * 100, e["high"].to_numpy(dtype=float) * 100 - mid])
    ax.bar(x, mid, 0.6, color=AFTER_COLOR, yerr=np.nan_to_num(err), capsize=5)
    ax.set_xticks(x, labels=[("All risk countries" if r == "ALL" else r) for r in e["risk"]])
    ax.set_ylabel("% of basket imports after")
    ax.set_title("Exposure after, with its band")
    ax.grid(axis="y", alpha=0.3)
    c = bands[bands["measure"] == "cost_usd"].iloc[0]
    div, unit = usd_scale(float(np.nanmax([c["central"], c["high"], c["low"], 1.0])))
    hi = c["high"] if np.isfinite(c["high"]) else c["central"]
    ax_cost.bar([0], [c["central"] / div], 0.5, color=BEFORE_COLOR,
                yerr=[[max(c["central"] - c["low"], 0) / div], [max(hi - c["central"], 0) / div]], capsize=8)
    ax_cost.set_xticks([0], labels=["cost" + ("" if np.isfinite(c["high"]) else " (no finite high)")])
    ax_cost.set_ylabel(unit)
    ax_cost.set_title("Cost of the re-allocation")
    ax_cost.grid(axis="y", alpha=0.3)
    return _save(fig, stem, synthetic, "Bands: caps, sigma and the new-supplier prior (low-central-high)", subtitle)
