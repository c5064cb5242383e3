"""What a run assumed, in one place: the settings every output states (summary.md/.json, xlsx, figures).

``run_settings(meta)`` reads the run's ``meta`` (``output.facts.RunFacts``: year, data,
HS revision, importer, and the resolved scenario) and returns a flat dict;
``settings_lines`` renders it for summary.md, ``settings_caption`` as a two-line
figure subtitle.
"""
from __future__ import annotations

from optimize.vocab import plural

#: Order and labels of the settings (key -> label in summary.md).
LABELS = {
    "importer": "Importer", "importer_members": "Importer members", "year": "Year", "hs_revision": "HS revision",
    "data_source": "Data", "basket": "Basket", "cap": "Cap", "cap_overrides": "Cap overrides",
    "exporter_total_pp": "Exporter total cap",
    "risk": "Risk countries", "risk_weights": "Risk weights", "risk_split": "Risk split", "friends": "Alternatives",
    "spread": "Spread", "share_limit": "Supplier-share limit", "ban": "Export ban", "intra_bloc": "Intra-bloc trade",
    "self_supply": "Self-supply", "bloc_members": "Bloc members among beneficiaries", "cost": "Cost",
}


def _fmt_map(d: dict) -> str:
    return ", ".join(f"{k} {v:g}" if isinstance(v, (int, float)) else f"{k} {v}" for k, v in sorted(d.items()))


def run_settings(meta: dict) -> dict:
    """Flat {key: text} of the run's settings (keys as in ``LABELS``); "" never means unknown silently."""
    scen = meta.get("scenario_resolved") or {}

    def section(name: str) -> dict:
        value = scen.get(name) if isinstance(scen, dict) else None
        return value if isinstance(value, dict) else {}

    imp, risk, alt, cap, ban, report, basket, cost = (section(n) for n in ("importer", "risk", "alternatives",
                                                                           "cap", "ban", "report", "basket", "cost"))
    members = list(meta.get("importer_iso3") or [])
    friends = list(meta.get("friends_iso3") or alt.get("friends") or [])
    overrides = []
    if cap.get("exporter_pp"):
        overrides.append("per exporter: " + _fmt_map(cap["exporter_pp"]))
    if cap.get("product_pp"):
        overrides.append("per product: " + _fmt_map(cap["product_pp"]))
    split = str(risk.get("split") or "proportional")
    if split == "priority" and risk.get("priority"):
        split += " (" + " > ".join(map(str, risk["priority"])) + ")"
    share = cap.get("share_limit") or meta.get("share_limit") or 0
    intra = str(imp.get("intra_bloc") or "include")
    multi = len(members) > 1
    return {
        "importer": str(meta.get("importer") or imp.get("label") or "+".join(imp.get("countries") or [])),
        "importer_members": ", ".join(members) if multi else "",
        "year": str(meta.get("year", "")),
        "hs_revision": (f"{meta['hs_revision']} ({meta['hs_revision_source']})" if meta.get("hs_revision_source")
                        else str(meta.get("hs_revision") or "unknown")) if meta.get("hs_revision") else "unknown",
        "data_source": str(meta.get("data_label") or meta.get("data_source") or "n/a"),
        "basket": (f"products {basket['products']} (among the data's codes)" if basket.get("products")
                   else f"file {basket['file']}" if basket.get("file")
                   else "shipped critical goods, sectors " + ", ".join(basket.get("sectors") or ["all"])),
        "cap": (f"{float(cap.get('pp', meta.get('cap_pp', 0)) or 0):g} pp of "
                f"{cap.get('basis') or meta.get('cap_basis')}"),
        "cap_overrides": "; ".join(overrides) or "none",
        "exporter_total_pp": f"{cap['exporter_total_pp']:g} pp" if cap.get("exporter_total_pp") else "off",
        "risk": ", ".join(map(str, meta.get("risk_iso3") or risk.get("countries") or [])),
        "risk_weights": _fmt_map(risk["weights"]) if risk.get("weights") else "all 1",
        "risk_split": split,
        "friends": ("friends only: " + ", ".join(map(str, friends))) if friends else "every non-risk exporter",
        "spread": str(alt.get("spread") or "proportional"),
        "share_limit": f"{100 * float(share):g}% of the product's imports per supplier" if share else "off",
        "ban": (f"{ban['country']} stops exporting {plural(len(ban.get('products') or []), 'product')}: "
                + ", ".join(ban.get("products") or [])) if ban.get("country") else "none",
        "intra_bloc": (intra + (" (trade between members counts; members are alternatives)" if intra == "include"
                                else " (imports from outside the importer set only, EC 2021)")) if multi
        else intra + " (single country: no intra-bloc trade)",
        "self_supply": "allowed (the importer may divert its own exports to itself)" if alt.get("self_supply")
        else "excluded (the importer is never its own alternative)",
        "bloc_members": ("single country: none" if not multi else
                         "left out of the beneficiaries table (report.exclude_bloc_members = true)"
                         if report.get("exclude_bloc_members") else
                         "listed and marked bloc_member (report.exclude_bloc_members = false)"),
        "cost": _cost_setting(cost),
    }


def _cost_setting(cost: dict) -> str:
    """The cost method, whose sigmas (a user's --elasticities file first) and the new-supplier prior weight."""
    method = str(cost.get("method") or "ces")
    if method != "ces":
        return method
    sigmas = (f"file {cost['elasticities']} for its codes, else the bundled ProTEE" if cost.get("elasticities")
              else "the bundled ProTEE")
    return f"ces; sigma from {sigmas}; new-supplier prior weight {float(cost.get('prior_lambda', 0.1)):g}"


def settings_lines(settings: dict) -> list[str]:
    """Markdown bullet lines, one per setting (empty members line skipped)."""
    return [f"- {LABELS[k]}: {settings[k]}" for k in LABELS if k in settings and settings[k] != ""]


def settings_caption(settings: dict) -> str:
    """Two short lines for figure titles: who/when/data, then cap, risk and conventions."""
    if not settings:
        return ""
    source = settings["data_source"].replace("\\", "/").rsplit("/", 1)[-1]  # the file name, not its folder
    first = f"{settings['importer']} {settings['year']}, {settings['hs_revision']}, {source}"
    extras = [f"cap {settings['cap']}", f"risk {settings['risk']}"]
    if settings["cap_overrides"] != "none":
        extras.append("cap overrides")
    if not settings["friends"].startswith("every"):
        extras.append(settings["friends"])
    if settings["share_limit"] != "off":
        extras.append("share limit " + settings["share_limit"].split(" ")[0])
    if settings["ban"] != "none":
        extras.append("ban " + settings["ban"].split(":")[0])
    extras.append(f"spread {settings['spread']}, split {settings['risk_split']}")
    extras.append("intra-bloc " + settings["intra_bloc"].split(" ")[0])
    extras.append("self-supply " + settings["self_supply"].split(" ")[0])
    return first + "\n" + "; ".join(extras)
