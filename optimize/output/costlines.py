"""summary.md lines for the cost of shifting and the bands on the headlines (docs/cost.md)."""
from __future__ import annotations

from optimize.output.textfmt import fmt_money, num, pct
from optimize.vocab import COST_DOC

#: What each cost method's number and range are, in the words of summary.md (docs/cost.md).
METHOD_WORDS = {
    "ces": ("ces = CES (Armington): extra spending that keeps the same CES quantity at unchanged supplier prices",
            "range over each product's sigma band and the new-supplier weight"),
    "unit-value": ("unit-value = price gap of the alternatives' world unit values", "range over low/high unit values"),
}


def cost_lines(cost: dict | None) -> list[str]:
    """The cost line (docs/cost.md): central total, its low-high range, share of basket, coverage."""
    if not cost:
        return []
    if cost.get("total_usd") is None:
        return ["- Cost of shifting: no estimate"]
    high = fmt_money(cost["high_usd"]) if cost.get("high_usd") is not None else "no finite bound"
    cov = f"; {pct(cost['coverage'])} of the shifted value has an estimate" if cost.get("coverage") is not None \
        else ""
    what, span = METHOD_WORDS.get(cost["method"], (cost["method"], "range"))
    return [f"- Cost of shifting ({what}; {COST_DOC}): {fmt_money(cost['total_usd'])} "
            f"({span} {fmt_money(cost['low_usd'])} - {high}; {num(cost.get('pct_of_basket') or 0.0, 3)}% of basket "
            f"imports{cov})"]


def bands_lines(block: dict | None) -> list[str]:
    """Band lines (docs/cost.md "Bands"): exposure after per risk country and the cost, low - high."""
    if not block:
        return []

    def rng(b, fmt) -> str:
        hi = fmt(b["high"]) if b.get("high") is not None else "no finite bound"
        return f"{fmt(b['central'])} (band {fmt(b['low'])} - {hi})"

    v = block.get("varied") or {}
    lines = [f"- Bands over caps {', '.join(f'{c:g}' for c in v.get('caps_pp', []))} pp, each product's sigma band "
             f"and prior weight {', '.join(f'{x:g}' for x in v.get('prior_lambda', []))}:"]
    for iso, b in block["exposure_after"].items():
        lines.append(f"  - exposure after, {'all risk countries' if iso == 'ALL' else iso}: {rng(b, pct)}")
    for key, label, fmt in (("cost_usd", "cost", fmt_money), ("shifted_usd", "shifted", fmt_money),
                            ("hhi_after", "HHI after", num)):
        if key in block:
            lines.append(f"  - {label}: {rng(block[key], fmt)}")
    return lines
