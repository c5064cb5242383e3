"""EU27 friend-shoring of energy goods on REAL BACI data (2023, 32 energy HS6 codes).

Usage: python examples/eu27_energy.py [OUT_DIR] [BACI_FILE]

Reads the BACI extract kept beside the checkout in
../shared/data/baci_flows/ (or BACI_FILE), re-allocates the EU27's imports of these
products away from China, the USA and Russia with caps of 5 pp of each alternative
exporter's world exports, prints the headline and writes every output to OUT_DIR.
Exits politely (status 0) when the data file is absent.
"""
from __future__ import annotations

import sys
from pathlib import Path

import optimize
from optimize.resources import shared_data_dir

SUBSET = "baci_flows/BACI_HS22_Y2023_V202501_energy_subset_32products.parquet"


def data_path(baci: str | None = None) -> Path | None:
    """``baci``, or the energy subset in ../shared/data beside the checkout (found from this file too, so an
    installed tradeopt run from any folder finds it); None when absent."""
    if baci is not None:
        return Path(baci)
    shared = shared_data_dir(near=__file__)
    return shared / SUBSET if shared is not None else None


def main(out_dir: str = "eu27-energy-out", baci: str | None = None) -> int:
    path = data_path(baci)
    if path is None or not path.is_file():
        print(f"Skipping: the real BACI energy subset ({SUBSET}) is not available here.")
        return 0
    result = optimize.run("eu27-friendshoring", data=path, products="all", out_dir=out_dir, figures=True)
    s = result.tables.summary
    print(f"EU27 energy imports {s['year']}: {s['n_products']} products, USD {s['total_usd'] / 1e9:,.1f} bn")
    for row in result.tables.exposure.itertuples(index=False):
        print(f"  {row.iso3:>3}: {row.share_before:6.1%} -> {row.share_after:6.1%} of imports")
    print(f"  shifted USD {s['shifted_usd'] / 1e9:,.2f} bn; HHI {s['hhi_before']:.3f} -> {s['hhi_after']:.3f}")
    top = result.tables.beneficiaries.head(5)
    print("  top beneficiaries: " + ", ".join(f"{r.exporter} (+USD {r.increase_usd / 1e9:,.2f} bn)"
                                               for r in top.itertuples(index=False)))
    print(f"Outputs written to {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
