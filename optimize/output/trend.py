"""The trend's and the backtest's figures (PNG + SVG) and summary.md text. Shares are shown in % of the
basket's imports; settings come from the result's ``settings`` dict."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optimize.output.textfmt import formatted, md_table


def caption(settings: dict) -> str:
    """One line of the trend's or backtest's settings for figure titles."""
    years = settings.get("years") or []
    span = f"{years[0]}-{years[-1]}" if len(years) > 1 else (str(years[0]) if years else "")
    risk = ",".join(settings.get("risk") or [])
    caps = ", ".join(f"{float(c):g}" for c in np.atleast_1d(settings.get("cap_pp")))
    return (f"{settings.get('importer')} {span}, {settings.get('hs_revision')}, cap {caps} pp "
            f"({settings.get('cap_basis')}), risk {risk}")


def plot_trend(table: pd.DataFrame, stem, *, settings: dict, synthetic: bool = False) -> list[Path]:
    """Risk share before and after the re-allocation per year (one line pair per risk label; ALL bold)."""
    from matplotlib.figure import Figure  # drawn only when figures are asked: --no-figures imports no matplotlib

    from optimize.output.plots import _save

    fig = Figure(figsize=(8, 4.8), layout="constrained")
    ax = fig.add_subplot()
    for i, (risk, g) in enumerate(table.sort_values("year").groupby("risk", sort=True)):
        color = f"C{i}"
        wide = 2.6 if risk == "ALL" else 1.4
        years = g["year"].to_numpy(int)
        ax.plot(years, g["share_before"].to_numpy(float) * 100, marker="o", color=color, lw=wide,
                label=f"{risk} before")
        ax.plot(years, g["share_after"].to_numpy(float) * 100, marker="s", ls="--", color=color, lw=wide,
                label=f"{risk} after")
    ax.set_xlabel("year")
    ax.set_ylabel("% of basket imports")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    return _save(fig, stem, synthetic, "Exposure to risk suppliers, before and after re-allocation, by year",
                 caption(settings))


def _md_table(frame: pd.DataFrame, formats: dict[str, str]) -> list[str]:
    """``textfmt.md_table`` of ``frame``'s columns in ``formats`` (column -> format spec), every row."""
    return md_table(frame, {c: (c, formatted(spec)) for c, spec in formats.items()}, limit=None).splitlines()


def trend_markdown(table: pd.DataFrame, decomposition: pd.DataFrame, settings: dict, synthetic: bool) -> str:
    """summary.md of a trend: the settings, the ALL rows per year and the decomposition of each change."""
    lines = ["# tradeopt trend", ""]
    if synthetic:
        lines += ["**SYNTHETIC data: values are invented, not real trade data.**", ""]
    lines += [f"- {key}: {value if not isinstance(value, list) else ', '.join(map(str, value))}"
              for key, value in settings.items()]
    pct = {"year": "d", "share_before": ".4f", "share_after": ".4f", "total_usd": ",.0f", "shifted_usd": ",.0f",
           "hhi_before": ".4f", "hhi_after": ".4f", "cost_usd": ",.0f"}
    lines += ["", "## All risk countries by year (shares 0..1, values USD)", ""]
    lines += _md_table(table.loc[table["risk"] == "ALL"], pct)
    lines += ["", "## Change of the risk share: within products and basket composition", ""]
    if decomposition.empty:
        return "\n".join(lines + ["One year only: no change to decompose (give several yearly files)."]) + "\n"
    lines += ["change = within + composition exactly (shares 0..1); decomposition.csv has every risk country.", ""]
    lines += _md_table(decomposition.loc[decomposition["risk"] == "ALL"],
                       {"from_year": "d", "to_year": "d", "change": "+.5f", "within": "+.5f", "composition": "+.5f"})
    return "\n".join(lines) + "\n"


def screens_markdown(screens: pd.DataFrame) -> str:
    """The persistence section of a trend's summary.md (staying + leaving = flagged the year before)."""
    lines = ["", "## Screen persistence (products flagged, entering, leaving, staying)", ""]
    if screens.empty:
        return "\n".join(lines + ["No screen results."]) + "\n"
    counts = {c: "d" for c in ("year", "flagged", "entering", "leaving", "staying")}
    lines += _md_table(screens, {"screen": "s", **counts, "survival_1y": ".2f"})
    return "\n".join(lines) + "\n"


def across_text(kind: str, result, out_dir) -> str:
    """What ``tradeopt trend`` / ``backtest`` prints (``kind``), with the output folder; on synthetic data the
    synthetic-data note first, as ``run`` prints it."""
    from optimize.output.console import SYNTHETIC_NOTE

    text = backtest_text(result, out_dir) if kind == "backtest" else trend_text(result, out_dir)
    return f"{SYNTHETIC_NOTE}\n{text}" if result.synthetic else text


def trend_text(result, out_dir) -> str:
    """What ``tradeopt trend`` prints: per year the ALL-risk share before and after, and the output folder."""
    rows = result.table.loc[result.table["risk"] == "ALL"]
    lines = [f"Trend of {caption(result.settings)}", "year  share before  share after  shifted (USD)"]
    lines += [f"{int(r.year)}  {r.share_before:12.2%}  {r.share_after:11.2%}  {r.shifted_usd:,.0f}"
              for r in rows.itertuples()]
    resumed = [r.year for r in result.years if r.year not in result.computed]
    if resumed:
        lines.append(f"{'Year' if len(resumed) == 1 else 'Years'} {', '.join(map(str, resumed))} finished before: "
                     "read from the folder's records")
    return "\n".join([*lines, f"Outputs written to {out_dir}"])


def plot_backtest(table: pd.DataFrame, pairs: pd.DataFrame, stem, *, settings: dict, block: dict,
                  synthetic: bool = False) -> list[Path]:
    """Left: predicted against realised change per (product, exporter) pair at the best cap (USD, symlog).
    Right: predicted and realised cut of the risk share per cap (pp of basket imports)."""
    from matplotlib.figure import Figure  # drawn only when figures are asked: --no-figures imports no matplotlib

    from optimize.output.plots import _save

    fig = Figure(figsize=(11, 4.8), layout="constrained")
    ax, bx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax.scatter(pairs["predicted_usd"], pairs["realised_usd"], s=6, alpha=0.5, color="#1f77b4")
    ax.set_xscale("symlog", linthresh=1e5)
    ax.set_yscale("symlog", linthresh=1e5)
    ax.axhline(0, color="#888", lw=0.6)
    ax.set_xlabel("predicted gain, USD (model on the first year)")
    ax.set_ylabel("realised change, USD (second year - first)")
    rho = block.get("spearman")
    ax.set_title(f"pairs at cap {block.get('best_cap')} pp ({block.get('best_basis')}): Spearman "
                 f"{'n/a' if rho is None or not np.isfinite(rho) else format(rho, '.2f')}")
    ax.grid(alpha=0.3)
    for basis, g in table.groupby("cap_basis", sort=False):
        bx.plot(g["cap_pp"], g["predicted_cut"] * 100, marker="o", label=f"predicted cut ({basis})")
    bx.axhline(float(table["realised_cut"].iloc[0]) * 100, color="#d62728", ls="--", label="realised cut")
    bx.set_xlabel("cap, percentage points")
    bx.set_ylabel("cut of the risk share, pp of basket imports")
    bx.grid(alpha=0.3)
    bx.legend()
    return _save(fig, stem, synthetic, "Backtest: the model's gains against what trade did", caption(settings))


def backtest_markdown(table: pd.DataFrame, block: dict, settings: dict, synthetic: bool) -> str:
    """summary.md of a backtest: the settings, the fit per cap and the best cap."""
    lines = ["# tradeopt backtest", ""]
    if synthetic:
        lines += ["**SYNTHETIC data: values are invented, not real trade data.**", ""]
    lines += [f"- {key}: {value if not isinstance(value, list) else ', '.join(map(str, value))}"
              for key, value in settings.items()]
    lines += [f"- best cap: {block['best_cap']} pp, {block['best_basis']} ({block['best_cap_rule']})", "",
              "## Fit per cap", ""]
    lines += _md_table(table, {"cap_basis": "s", "cap_pp": "g", "spearman": ".3f", "captured_share": ".3f",
                               "predicted_cut": ".4f", "realised_cut": ".4f", "n_pairs": "d"})
    return "\n".join(lines) + "\n"


def backtest_text(result, out_dir) -> str:
    """What ``tradeopt backtest`` prints: the fit per cap, the best cap and the output folder."""
    lines = [f"Backtest of {caption(result.settings)}",
             "cap basis      cap (pp)  Spearman  captured  predicted cut  realised cut"]
    lines += [f"{r.cap_basis:<14} {r.cap_pp:8g}  {r.spearman:8.3f}  {r.captured_share:8.3f}  {r.predicted_cut:13.2%}  "
              f"{r.realised_cut:12.2%}" for r in result.table.itertuples()]
    best = f"best cap: {result.block['best_cap']} pp ({result.block['best_basis']})"
    return "\n".join([*lines, best, f"Outputs written to {out_dir}"])
