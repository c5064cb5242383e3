"""Korea's 50% screen and its "3050" target.

Usage: python examples/korea_screen.py [OUT_DIR]

1. Screen: how many products does Korea import more than 50% / 70% from China?
2. Re-allocation (scenario kr-3050): with no supplier above 50% of any product and
   caps of 5 pp, which products can meet the target and which cannot?
Runs on the embedded SYNTHETIC sample; pass a BACI file as the second argument for
real data. Writes screen.csv and the kr-3050 outputs to OUT_DIR.
"""
from __future__ import annotations

import sys
from pathlib import Path

import optimize
from optimize.analysis.screens import count_flags


def main(out_dir: str = "korea-out", baci: str | None = None) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    screen = optimize.screen("single", baci, importer="KOR", supplier="CHN", thresholds=(0.5, 0.7))
    counts = count_flags(screen)
    print(f"Korea: {counts['rows']} products imported; from China above 50%: {counts.get('above_50', 0)}, "
          f"above 70%: {counts.get('above_70', 0)}")
    screen.to_csv(out / "screen.csv", index=False)

    result = optimize.run("kr-3050", baci=baci, out_dir=out / "kr-3050", figures=False)
    single = result.tables.single_country
    any50 = single[(single["supplier"] == "any") & (single["threshold"] == 0.5)].iloc[0]
    infeasible = result.allocation.infeasible_products
    print(f"Products with one supplier above 50%: {any50['n_before']} before, {any50['n_after']} after")
    print(f"Products that cannot meet the 50% target with 5 pp caps: {len(infeasible)}"
          + (f" (e.g. {', '.join(infeasible[:5])})" if infeasible else ""))
    print(f"Outputs written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
