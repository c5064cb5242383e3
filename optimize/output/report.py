"""Write a run's outputs atomically: summary.json/.md, CSV/parquet tables, optional xlsx and figures.

Values are USD; EUR columns (``*_eur`` beside every ``*_usd``) and EUR lines appear
only when an explicit ``eur_per_usd`` rate is given, and the rate is recorded.

``meta`` keys used (all optional): ``scenario`` (name), ``scenario_resolved`` (dict ->
scenario.resolved.json), ``scenario_toml`` (text -> scenario.resolved.toml),
``data_source``, ``synthetic`` (bool), ``year``, ``importer``, ``risk_iso3`` (list),
``cap_pp``, ``cap_basis``, ``solver`` (dict: backend, status, algorithm, iterations,
build_s, solve_s; flat keys of the same names are accepted too), ``versions``,
``input_hashes``. Everything in ``meta`` is copied into summary.json.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimize.data.basket import sector_name
from optimize.data.trade import SYNTHETIC_LABEL
from optimize.output.costlines import bands_lines, cost_lines
from optimize.output.manifest import jsonable
from optimize.output.settings import run_settings, settings_lines
from optimize.output.textfmt import country_label, fmt_money, md_table, num, pct
from optimize.units import usd_to_eur
from optimize.vocab import plural

UNITS = {
    "values": "USD (BACI thousands of USD x 1000, FOB)",
    "shares": "fraction 0..1 of the basket's total imports (or of the product's imports in per-product tables)",
    "hhi": "Herfindahl-Hirschman index of supplier shares, 0..1",
    "change_pp": "percentage points",
}


# ---------------------------------------------------------------- helpers

def with_eur(df: pd.DataFrame, eur_per_usd: float | None) -> pd.DataFrame:
    """Copy of ``df`` with a ``*_eur`` column after each ``*_usd`` column (unchanged without a rate)."""
    if not eur_per_usd:
        return df
    out = df.copy()
    for col in [c for c in df.columns if c.endswith("_usd")]:
        out.insert(out.columns.get_loc(col) + 1, col[:-4] + "_eur", usd_to_eur(df[col].to_numpy(float), eur_per_usd))
    return out


def _solver(meta: dict) -> dict:
    s = dict(meta.get("solver") or {})
    for key in ("backend", "status", "algorithm", "iterations", "build_s", "solve_s"):
        if key not in s and key in meta:
            s[key] = meta[key]
    return s


# ---------------------------------------------------------------- summary.json

def summary_dict(tables, meta: dict, *, eur_per_usd: float | None = None) -> dict:
    """The content of summary.json (JSON-safe)."""
    s = tables.summary
    exposure = {
        str(r.iso3): {"before": r.share_before, "after": r.share_after, "before_usd": r.before_usd,
                      "after_usd": r.after_usd}
        for r in tables.exposure.itertuples(index=False)
    }
    out = dict(meta)
    out.update({
        "settings": run_settings(meta),
        "units": dict(UNITS, currency="USD"),
        "exposure": exposure,
        "shifted_usd": s["shifted_usd"],
        "hhi": {"before": s["hhi_before"], "after": s["hhi_after"]},
        "totals": dict(s),
    })
    if "banned_usd" in s:  # isolated export ban: banned = replaced + shortfall
        ban = ((meta.get("scenario_resolved") or {}).get("ban") or {})
        out["ban"] = {"country": ban.get("country"), "products": s["banned_products"], "banned_usd": s["banned_usd"],
                      "replaced_usd": s["replaced_usd"], "shortfall_usd": s["shortfall_usd"],
                      "n_frozen": s["n_frozen"]}
    if getattr(tables, "cost", None):
        out["cost"] = dict(tables.cost)
    if getattr(tables, "bands_block", None):
        out["bands"] = tables.bands_block
    if eur_per_usd:
        usd_keys = [k for k, v in s.items() if k.endswith("_usd") and isinstance(v, (int, float))]
        out["eur_per_usd"] = float(eur_per_usd)
        out["units"]["eur"] = f"EUR = USD x {eur_per_usd} (eur_per_usd)"
        out["shifted_eur"] = usd_to_eur(s["shifted_usd"], eur_per_usd)
        out["totals_eur"] = {k[:-4] + "_eur": usd_to_eur(s[k], eur_per_usd) for k in usd_keys}
        for v in out["exposure"].values():
            v["before_eur"] = usd_to_eur(v["before_usd"], eur_per_usd)
            v["after_eur"] = usd_to_eur(v["after_usd"], eur_per_usd)
    return jsonable(out)


# ---------------------------------------------------------------- summary.md

def _md_settings(tables, meta: dict, s: dict, importer, year) -> list[str]:
    """The settings list: data, importer, year, risk, cap and every setting the run assumed."""
    parts: list[str] = []
    risk = meta.get("risk_iso3") or tables.risk_iso3
    cap = meta.get("cap_pp")
    lines = [
        f"- Data: {meta.get('data_label') or meta.get('data_source') or 'n/a'}",
        f"- Importer: {importer}; year {year}; {plural(s['n_products'], 'product')}, basket imports "
        f"{fmt_money(s['total_usd'])}",
        f"- Risk countries: {', '.join(map(str, risk)) or 'none'}",
        f"- Cap: {cap if cap is not None else 'n/a'} pp"
        + (f" of {meta['cap_basis']}" if meta.get("cap_basis") else ""),
    ]
    if meta.get("scenario_resolved"):  # every setting the run assumed (optimize.output.settings)
        settings = run_settings(meta)
        lines = lines[:2] + [ln for ln in settings_lines(settings)
                             if not ln.startswith(("- Importer:", "- Year:", "- Data:"))]
    lines += [f"- WARNING: {w}" for w in meta.get("warnings") or []]
    lines += [f"- Note: {n}" for n in meta.get("notes") or [] if n not in (meta.get("warnings") or [])]
    parts.append("\n".join(lines) + "\n")

    return parts


def _md_headline(tables, s: dict, eur_per_usd, ban: dict) -> list[str]:
    """The headline: exposure per risk country, value shifted, ban (``ban``: the scenario's section), HHI,
    unfixable products."""
    parts: list[str] = []
    head = ["## Headline\n"]
    banned = "banned_usd" in s  # isolated export ban: banned imports = replaced + shortfall
    if banned and not s["banned_products"]:
        head.append(f"- Export ban: none of the {plural(len(ban.get('products') or []), 'banned product')} is "
                    f"imported from {ban.get('country') or 'the banned country'} in this data: nothing to replace")
    elif banned:
        lost = s["shortfall_usd"] / s["banned_usd"] if s["banned_usd"] > 0 else float("nan")
        head.append(f"- Export ban on {plural(len(s['banned_products']), 'product')} with flows: banned imports "
                    f"{fmt_money(s['banned_usd'])}; replaced by alternatives {fmt_money(s['replaced_usd'])}; "
                    f"shortfall (supply lost, not re-allocated) {fmt_money(s['shortfall_usd'])} ({pct(lost)})")
    for r in tables.exposure.itertuples(index=False):
        who = "all risk countries together" if r.iso3 == "ALL" else country_label(r.name, r.iso3)
        head.append(f"- Dependence on {who}: {pct(r.share_before)} -> {pct(r.share_after)} of basket imports")
    if banned and s["shortfall_usd"] > 0:
        head.append(f"  (the fall includes the shortfall of {fmt_money(s['shortfall_usd'])}: lost supply, "
                    "not re-allocation)")
    shifted = fmt_money(s["shifted_usd"])
    if eur_per_usd:
        shifted += f" (≈ {fmt_money(usd_to_eur(s['shifted_usd'], eur_per_usd), 'EUR')} at {eur_per_usd} EUR per USD)"
    head.append(f"- Value shifted to alternative suppliers: {shifted}")
    if s.get("n_bloc_members"):  # a bloc: what its own members take over, listed or not among the beneficiaries
        head.append(f"- Of which to bloc members: {fmt_money(s['shifted_to_members_usd'])}; to non-members: "
                    f"{fmt_money(s['shifted_to_non_members_usd'])}")
    head += cost_lines(getattr(tables, "cost", None))
    head += bands_lines(getattr(tables, "bands_block", None))
    if not banned and s.get("shortfall_usd"):
        head.append(f"- Imports left unmet (bans): {fmt_money(s['shortfall_usd'])}")
    head.append(f"- Supplier concentration (value-weighted HHI): {num(s['hhi_before'])} -> {num(s['hhi_after'])}; "
                f"HHI rises for {s['n_hhi_rises']} of {plural(s['n_products'], 'product')}")
    fixable = "banned products" if banned else "products"
    head.append(f"- {fixable.capitalize()} that cannot be fixed (no alternative headroom): {s['n_unfixable']}; "
                f"products where a cap binds: {s['n_cap_binds']}"
                + (f"; frozen (not banned, kept at today's flows): {s['n_frozen']}" if banned else ""))
    parts.append("\n".join(head) + "\n")

    return parts


def _md_breakdowns(tables) -> list[str]:
    """Exposure per risk country, by stage and sector, top beneficiaries (bloc members marked)."""
    parts: list[str] = []
    s = tables.summary
    money = fmt_money
    parts.append("## Exposure per risk country\n")
    parts.append(md_table(tables.exposure, {
        "name": ("country", str), "iso3": ("ISO3", str), "share_before": ("before", pct),
        "share_after": ("after", pct), "change_pp": ("change (pp)", lambda v: num(v, 2)),
        "before_usd": ("before (USD)", money), "after_usd": ("after (USD)", money)}, limit=None))
    for key, table in (("stage", tables.by_stage), ("sector", tables.by_sector)):
        parts.append(f"## By {key}\n")
        parts.append(md_table(table, {
            key: (key, sector_name if key == "sector" else str), "total_usd": ("imports", money),
            "risk_share_before": ("risk before", pct),
            "risk_share_after": ("risk after", pct), "hhi_before": ("HHI before", num),
            "hhi_after": ("HHI after", num), "shifted_usd": ("shifted", money),
            "n_products": ("products", str), "n_unfixable": ("unfixable", str)}, limit=None))
    parts.append("## Top beneficiaries\n")
    parts.append(md_table(tables.beneficiaries, {
        "rank": ("rank", str), "name": ("country", str), "exporter": ("ISO3", str),
        "increase_usd": ("increase", money),
        **({"bloc_member": ("bloc member", lambda v: "yes" if v else "")} if s.get("n_bloc_members") else {}),
        "main_sector": ("main sector", sector_name),
        "share_before": ("share before", lambda v: pct(v) if v >= 0.001 else f"{100 * v:.3f}%"),
        "share_after": ("share after", lambda v: pct(v) if v >= 0.001 else f"{100 * v:.3f}%")}, limit=None))
    return parts


def _md_requested(tables, meta: dict) -> list[str]:
    """The tables a scenario lists in ``report.tables`` (concentration, single-country)."""
    parts: list[str] = []
    wanted = (((meta.get("scenario_resolved") or {}).get("report") or {}).get("tables")) or []
    if "concentration" in wanted and tables.concentration is not None:
        parts.append("## Concentration of imports per product (ranked by HHI)\n")
        cols = {"rank": ("rank", str), "k": ("HS6", str), "description": ("description", str),
                "top_supplier_name": ("top supplier", str), "top_share": ("its share", pct), "hhi": ("HHI", num)}
        if "extra_bloc_share" in tables.concentration:
            cols["extra_bloc_share"] = (f"from outside {meta.get('importer') or 'the bloc'}", pct)
        parts.append(md_table(tables.concentration, cols))
    if "single_country" in wanted and tables.single_country is not None:
        parts.append("## Single-country dependence (products above the threshold, before -> after)\n")
        parts.append(md_table(tables.single_country, {
            "threshold": ("one supplier above", pct), "supplier": ("supplier", str),
            "n_before": ("products before", str), "n_after": ("products after", str)}, limit=None))
    return parts


def _md_products(tables, meta: dict) -> list[str]:
    """Products that cannot meet a share limit, unfixable products, products whose HHI rises."""
    parts: list[str] = []
    p = tables.products
    share_limit = meta.get("share_limit")
    if share_limit:
        bad = set(meta.get("infeasible_products") or [])
        parts.append(f"## Products that cannot meet the supplier-share limit of {pct(share_limit)}\n")
        if bad:
            parts.append("Solved without the limit (reported, not dropped):\n")
            parts.append(md_table(p[p["k"].isin(bad)].sort_values("k"), {
                "k": ("HS6", str), "description": ("description", str), "sector": ("sector", sector_name),
                "top_supplier_before": ("top supplier", str), "top_share_before": ("its share", pct),
                "total_usd": ("imports", fmt_money)}, limit=None))
        else:
            parts.append("None: every product meets the limit.\n")
    parts.append("## Unfixable products\n")
    parts.append(md_table(p[p["unfixable"]].sort_values(["risk_before_usd", "k"], ascending=[False, True]), {
        "k": ("HS6", str), "description": ("description", str), "sector": ("sector", sector_name),
        "risk_share_before": ("risk share", pct), "total_usd": ("imports", fmt_money)}))
    rises = p[p["hhi_after"] > p["hhi_before"] + 1e-12].assign(d=lambda d: d["hhi_after"] - d["hhi_before"])
    parts.append("## Products whose HHI rises\n")
    parts.append(md_table(rises.sort_values(["d", "k"], ascending=[False, True]), {
        "k": ("HS6", str), "description": ("description", str), "sector": ("sector", sector_name),
        "hhi_before": ("HHI before", num), "hhi_after": ("HHI after", num),
        "top_supplier_after": ("top supplier after", str), "top_share_after": ("its share", pct)}))

    return parts


def _md_solver_figures(meta: dict, figures) -> list[str]:
    """The solver line and the figure links."""
    parts: list[str] = []
    sv = _solver(meta)
    if sv:
        t = sum(float(sv.get(k) or 0.0) for k in ("build_s", "solve_s"))
        parts.append("## Solver\n")
        parts.append(f"Backend {sv.get('backend', 'n/a')}, status {jsonable(sv.get('status', 'n/a'))}, algorithm "
                     f"{sv.get('algorithm', 'n/a')}, {sv.get('iterations', 'n/a')} iterations, {t:.2f} s "
                     f"(build {float(sv.get('build_s') or 0):.2f} s, solve {float(sv.get('solve_s') or 0):.2f} s)\n")
    if figures:
        parts.append("## Figures\n")
        parts.append("\n".join(f"![{Path(f).stem}]({f})" for f in figures if str(f).endswith(".png")) + "\n")
    return parts


def render_summary_md(tables, meta: dict, *, eur_per_usd: float | None = None,
                      figures: list[str] | None = None) -> str:
    """Readable markdown report of one run; ``figures`` are paths relative to the report to link."""
    s = tables.summary
    importer = meta.get("importer", s.get("importer", "?"))
    year = meta.get("year", s.get("year", "?"))
    parts = [f"# tradeopt: {meta.get('scenario', 'run')} — {importer}, {year}\n"]
    if meta.get("synthetic"):
        parts.append(f"> **WARNING: {SYNTHETIC_LABEL}.** These numbers come from an invented sample and say "
                     "nothing about real trade.\n")
    parts += _md_settings(tables, meta, s, importer, year)
    parts += _md_headline(tables, s, eur_per_usd, (meta.get("scenario_resolved") or {}).get("ban") or {})
    parts += _md_breakdowns(tables)
    parts += _md_requested(tables, meta)
    parts += _md_products(tables, meta)
    parts += _md_solver_figures(meta, figures)
    parts.append("Values in USD (BACI kUSD x 1000, FOB); shares are of the basket's total imports; "
                 "HHI = sum of squared supplier shares (0..1).\n")
    return "\n".join(parts)


# ---------------------------------------------------------------- all outputs
