"""Text for the terminal: what the ``tradeopt`` commands print, built from library results.

Every money column shown or written by a command is USD (``usd_columns``: BACI
``*_kusd`` -> ``*_usd``); countries are ISO3 with the BACI code beside them.
Functions return text (and the table to write); ``cli.py`` only echoes it.
"""
from __future__ import annotations

import pandas as pd

from optimize.data.trade import SYNTHETIC_LABEL
from optimize.vocab import COST_DOC, plural

#: The line commands add under a result computed on the embedded synthetic sample.
SYNTHETIC_NOTE = f"NOTE: {SYNTHETIC_LABEL}"


def data_info_text(info: dict) -> str:
    """``tradeopt data info``: one line per fact of ``baci.data_info``."""
    lines = [f"*** {SYNTHETIC_LABEL} ***"] if info["synthetic"] else []
    lines += [
        f"source:      {info['source']}",
        f"hs revision: {info['hs_revision'] or 'unknown'}"
        + (f" ({info['hs_revision_source']})" if info.get("hs_revision_source") else "")
        + f"  release: {info['release'] or 'unknown'}",
        f"years:       {', '.join(map(str, info['years']))}",
        f"rows:        {info['rows']:,}",
        f"products:    {info['products']:,}",
        f"exporters:   {info['exporters']:,}",
        f"importers:   {info['importers']:,}",
        f"total value: {info['total_value_usd']:,.0f} USD",
        f"missing q:   {info['missing_quantity_share']:.1%}",
    ] + [f"WARNING: {w}" for w in info.get("warnings") or []]
    return "\n".join(lines)


_SCREEN_COLUMNS = {"ec": ("extra_imports_usd", "hhi_extra"), "geodep": ("imports_usd", "hhi_importer")}


def screen_view(kind: str, res: pd.DataFrame, *, importer: str, supplier: str | None,
                top: int) -> str:
    """``tradeopt screen``: the text with counts and the top flagged products (values USD)."""
    from optimize.analysis.screens import count_flags

    settings = res.attrs.get("settings") or {}
    lines = [f"Shares of {settings['share_of']}."] if settings.get("share_of") else []
    if kind == "geodep":
        lines.append(f"GeoDep: {res['note'].iloc[0] if len(res) else 'no products'}")
    if kind == "single":
        value_col, order_col = "total_usd", "supplier_share" if supplier else "top_share"
    else:
        value_col, order_col = _SCREEN_COLUMNS[kind]
    attrs = dict(res.attrs)
    if attrs.get("synthetic"):
        lines.append(f"Data: {attrs['data_label']}")
    counts = count_flags(res)
    tested = f", supplier {settings['supplier']}" if settings.get("supplier") else ""
    lines.append(f"{kind} screen, importer {importer}{tested}: {counts['flagged']} of {counts['rows']} rows flagged")
    lines += [f"  {key.replace('above_', 'above ')}%: {n}" for key, n in counts.items() if key.startswith("above_")]
    flagged = res[res["flagged"]].sort_values([order_col, value_col, "k"], ascending=[False, False, True])
    if len(flagged):
        cols = [c for c in ("k", "year", "latest_year", value_col, order_col, "top_supplier") if c in flagged.columns]
        lines.append(flagged[cols].head(top).to_string(index=False, formatters={value_col: "{:,.0f}".format}))
    return "\n".join(lines)


def screen_lines(kind: str, res: pd.DataFrame, *, top: int, out, quiet: bool) -> list[tuple[str, bool]]:
    """``tradeopt screen KIND``: (text, to stderr) lines; the view (with ``quiet`` only the synthetic-data
    note), then the output folder."""
    settings = res.attrs.get("settings") or {}
    if quiet:
        lines = [(SYNTHETIC_NOTE, True)] if res.attrs.get("synthetic") else []
    else:
        lines = [(screen_view(kind, res, importer=settings.get("importer", ""), supplier=settings.get("supplier"),
                              top=top), False)]
    return lines + ([(f"Outputs written to {out}", False)] if out else [])


def analysis_lines(kind: str, got: tuple, *, out, quiet: bool) -> list[tuple[str, bool]]:
    """``tradeopt analyse KIND``: (text, to stderr) lines of what ``api.<kind>`` returned (``got``); the view
    (with ``quiet`` none), the synthetic-data note and the output folder."""
    result = got[-1]
    if quiet:
        lines = []
    elif kind == "frontier":
        lines = [(frontier_view(got[0]), False)]
    elif kind == "cost":
        ces = getattr(result.tables, "cost", None)
        lines = [(cost_text(got[1]), False)] + ([(ces_line(ces), False)] if ces else [])
    else:
        lines = [(binding_view(got[0], got[1]), False)]
    lines += [(SYNTHETIC_NOTE, quiet)] if result.synthetic else []
    return lines + ([(f"Outputs written to {out}", False)] if out else [])


def frontier_view(table: pd.DataFrame) -> str:
    """``tradeopt analyse frontier``: each reached exposure level once, and the HHI-rise counts."""
    lines = []
    if (table.get("group") == "coupled-proxy").any():
        lines.append("Coupled caps: linear proxy (value-weighted largest supplier share).")
    cols = [c for c in ("group", "point", "exposure_level_usd", "exposure_usd", "exposure_share", "hhi",
                        "max_share", "cost_usd", "is_knee") if c in table]
    shown = table[cols]
    # later levels that reach the same point repeat no information
    key = [c for c in ("group", "exposure_share", "hhi", "max_share") if c in shown]
    keep = ~shown[key].round({c: 12 for c in key if c != "group"}).duplicated(keep="first")
    usd = {c: "{:,.0f}".format for c in cols if c.endswith("_usd")}
    lines.append(shown[keep.to_numpy()].to_string(index=False, formatters=usd))
    if (~keep).any():
        lines.append(f"({int((~keep).sum())} further levels reach the same exposure and HHI; all in --out)")
    if "n_hhi_rises" in table:
        for g, row in table.groupby("group", sort=True).first().iterrows():
            lines.append(f"{g}: HHI rises in {row['n_hhi_rises']} of {plural(row['n_products'], 'product')} after the "
                         "plain run")
    return "\n".join(lines)


def cost_text(summary: dict) -> str:
    """``tradeopt analyse cost``: shifted value, the low/central/high range (or "no estimate"), outliers."""
    c, cov = summary["extra_cost_usd"], summary["coverage"]
    lines = [f"Shifted {summary['shifted_usd']:,.0f} USD; quantities usable for "
             f"{'none' if cov != cov else f'{cov:.1%}'} of it"]
    if c["central"] is None:
        lines.append("Extra cost (USD): no estimate (no usable quantities for the shifted flows)")
    else:
        lines.append(f"Extra cost (USD): low {c['low']:,.0f}  central {c['central']:,.0f}  high {c['high']:,.0f}"
                     f" on {summary['covered_shifted_usd']:,.0f} USD shifted"
                     f" ({summary['n_products_without_estimate']} shifted products without an estimate)")
    lines.append(f"Outliers (price ratio beyond {summary['outlier_ratio']:g}x, left out): {summary['n_outliers']} "
                 f"products, {summary['outlier_shifted_usd']:,.0f} USD shifted")
    lines.append(f"Method: {summary['method']}")
    return "\n".join(lines)


def ces_line(block: dict) -> str:
    """The run's own cost (``cost`` block, docs/cost.md) beside the unit-value estimate."""
    if block.get("total_usd") is None:
        return f"Run's cost ({block['method']}): no estimate"
    high = f"{block['high_usd']:,.0f}" if block.get("high_usd") is not None else "no finite bound"
    return (f"Run's cost ({block['method']}; {COST_DOC}): {block['total_usd']:,.0f} USD "
            f"(low {block['low_usd']:,.0f}, high {high}; {block['pct_of_basket']:.3f}% of basket imports)")


def binding_view(per_pair: pd.DataFrame, table: pd.DataFrame) -> str:
    """``tradeopt analyse binding``: the run's binding.csv vocabulary (exporter = ISO3, exporter_code, USD)."""
    binds = per_pair["binds"]
    head = f"{plural(int(binds.sum()), 'binding cap')} in {plural(per_pair.loc[binds, 'k'].nunique(), 'product')}"
    return head + "\n" + table.to_string(index=False)


def validation_lines(data, problems: list) -> list[tuple[str, bool]]:
    """``tradeopt data validate``: (text, to stderr) lines; the OK line (rows, years) or each problem and their
    count (a problem that is a bare error is shown as ``problem: ...``, without a count)."""
    if data is not None:
        return [(f"OK: {len(data.flows):,} rows, years {', '.join(map(str, data.years))}, no problems found.", False)]
    if len(problems) == 1 and isinstance(problems[0], Exception):
        return [(f"problem: {problems[0]}", False)]
    return [("\n".join(str(p) for p in problems), False), (f"{plural(len(problems), 'problem')} found.", True)]


def run_lines(result, *, out, save_lp: str | None, quiet: bool) -> list[tuple[str, bool]]:
    """``tradeopt run``: (text, to stderr) lines in order; the summary (or with ``quiet`` the synthetic-data
    note), warnings and the products that could not meet every limit, the LP file and the output folder."""
    if quiet:
        lines = [(SYNTHETIC_NOTE, True)] if result.synthetic else []
    else:
        lines = [(result.summary_md(), False)]
    lines += [(f"Warning: {w}", True) for w in result.meta.get("warnings") or []]
    infeasible = list(result.allocation.infeasible_products)
    if infeasible:
        shown = ", ".join(infeasible[:10]) + (" ..." if len(infeasible) > 10 else "")
        text = f"{plural(len(infeasible), 'product')} could not meet every limit (reported, not dropped): {shown}"
        lines.append((text, True))
    if save_lp:
        lines.append((f"LP written to {save_lp}", quiet))
    return lines + [(f"Outputs written to {out}", False)]


def scenarios_text(rows: list[tuple[str, str]]) -> str:
    """``tradeopt scenarios``: one shipped scenario per line, the names aligned, then the description."""
    width = max((len(n) for n, _ in rows), default=0)
    return "\n".join(f"{n:<{width}}  {desc}" for n, desc in rows)


def batch_text(res) -> str:
    """``tradeopt batch``: cells computed, skipped and in the grid, error rows, seconds; where the tables are."""
    n_err = int(res.table["status"].astype(str).str.startswith("error").sum()) if len(res.table) else 0
    n_cells = len(res.computed) + len(res.skipped)
    return (f"{SYNTHETIC_NOTE}\n" if res.synthetic else "") + (
            f"{plural(len(res.computed), 'cell')} computed, {len(res.skipped)} already finished, {n_cells} in the "
            f"grid; {plural(n_err, 'error row')}; {res.seconds:.1f}s\n"
            f"Table written to {res.out_dir / 'batch.csv'}; dataset in {res.out_dir / 'dataset'}")


def sweep_text(res, out_dir) -> str:
    """``tradeopt sweep``: the risk share (%) after re-allocation at each cap (pp), solve and total seconds."""
    lines = [f"cap {rec['cap_pp']:>5g} pp: risk share {rec['share_after'] * 100:6.2f} %"
             for rec in res.table[res.table["risk"] == "ALL"].to_dict("records")]
    lines.append(f"{'warm-started' if res.warm else 'cold'} solves, {sum(res.solve_s):.3f}s solving, "
                 f"{res.seconds:.1f}s total; written to {out_dir}")
    if res.synthetic:
        lines.insert(0, SYNTHETIC_NOTE)
    return "\n".join(lines)
