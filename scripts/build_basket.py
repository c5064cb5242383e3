"""Build the default critical-goods basket (HS2022) and its compact HS concordances.

Usage::

    python scripts/build_basket.py [--shared ../shared/data]

Reads (never copies) the CEPII BACI HS22 product list from the shared data folder and the
bundled UNSD HS2022 correlation pairs plus errata (``data/concordance``, written by
``scripts/build_concordances.py``), and writes

- ``data/basket/critical_goods_HS22.csv`` (k, sector, subsector, description, source)
- ``data/basket/concordance_HS22_to_HS{17,12,07,92}.csv`` (k_source, k_target, relationship, ...),
  restricted to the basket's codes (lost codes appear with an empty ``k_target``), under the
  fan-out rule of ``optimize.data.hs_links``.

The basket definition is the ``SPEC`` list below: tokens are HS6 codes, HS4
headings (expanded to all their HS2022 children) or heading ranges
(``8501-8503``). The first entry that claims a code wins (specific overrides are
listed before broad headings); ``EXCLUDE`` removes catch-alls and codes outside
the purpose. Every code is checked against the HS2022 code list.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimize.data.concordance import UN_TABLES, bundled_pairs, derive_compact_table  # noqa: E402

PRODUCT_LIST = "baci_codes/product_codes_HS22_V202501.csv"

SRC_CRM = "EU CRM Act 2024 (Regulation (EU) 2024/1252) Annex I-II"
SRC_COVID = "WCO/WHO HS classification reference for COVID-19 medical supplies (2020)"
SRC_PHARMA = "HS Chapter 30 and pharmaceutical APIs (WCO pharmaceutical annex; EC SWD(2021)352 health ecosystem)"
SRC_ICT = "OECD ICT goods list (HS2017/2022) / UNCTAD ICT goods"
SRC_SEMI = "EC 2021 strategic dependencies (SWD(2021)352): semiconductors; OECD ICT goods list"
SRC_ENERGY = "IEA clean energy technology / Ali & Koschorke-style clean energy HS lists"
SRC_FUELS = "IEA energy balances: fossil fuels and electricity (HS 27)"

# (tokens, sector, subsector, source); the first entry claiming a code wins.
SPEC: list[tuple[str, str, str, str]] = [
    # --- explicit cross-sector assignments first ---
    ("854142 854143", "energy", "solar_pv", SRC_ENERGY),
    ("854470", "ict", "optical_fibre", SRC_ICT),
    ("850511", "crm", "rare_earth_magnets", SRC_CRM),
    ("841920", "health", "medical_equipment", SRC_COVID),
    # --- health ---
    ("3001 3002 3003 3004", "health", "medicines_vaccines_blood", SRC_PHARMA),
    ("3005 3006", "health", "medical_supplies", SRC_PHARMA),
    ("2936 2937 2941", "health", "active_ingredients", SRC_PHARMA),
    ("3822", "health", "diagnostic_reagents", SRC_COVID),
    ("9018 9019 9020 9021 9022", "health", "medical_devices", SRC_COVID),
    ("401512 401519 392620 630790 621010 900490", "health", "protective_equipment", SRC_COVID),
    ("902511 902519 902789 940290", "health", "medical_equipment", SRC_COVID),
    ("380894", "health", "disinfectants", SRC_COVID),
    # --- ICT ---
    ("8541 8542", "ict", "semiconductors", SRC_SEMI),
    ("8486 903082 903141", "ict", "semiconductor_equipment", SRC_SEMI),
    ("8471 847330 847350", "ict", "computers", SRC_ICT),
    ("8517 852550 852560 852910 852990", "ict", "telecom", SRC_ICT),
    ("8524 852852 852862", "ict", "displays", SRC_ICT),
    ("852351 852352 852359", "ict", "storage_media", SRC_ICT),
    ("852581 852582 852583 852589 852859 852871 852872 852873", "ict", "consumer_electronics", SRC_ICT),
    ("8532 8533 8534", "ict", "electronic_components", SRC_ICT),
    ("900110 853670", "ict", "optical_fibre", SRC_ICT),
    # --- energy ---
    ("2701 2709 2710 2711", "energy", "fossil_fuels", SRC_FUELS),
    ("2716", "energy", "electricity", SRC_FUELS),
    ("8504 8535 8536 8537 8544", "energy", "grid", SRC_ENERGY),
    ("8402-8406 8410 841181 841182 841199", "energy", "thermal_hydro_generation", SRC_ENERGY),
    ("8501-8503", "energy", "motors_generators", SRC_ENERGY),
    ("850231", "energy", "wind", SRC_ENERGY),
    ("8507", "energy", "storage", SRC_ENERGY),
    ("8401 2844", "energy", "nuclear", SRC_ENERGY),
    ("280410", "energy", "hydrogen", SRC_ENERGY),
    ("841861 841912", "energy", "heat_pumps_solar_thermal", SRC_ENERGY),
    # --- critical raw materials (CRM Act 2024 Annex II, ores to first-stage products) ---
    ("260600 281820 760110 760120", "crm", "aluminium_bauxite", SRC_CRM),
    ("261710 8110 282580", "crm", "antimony", SRC_CRM),
    ("280480", "crm", "arsenic", SRC_CRM),
    ("251110", "crm", "baryte", SRC_CRM),
    ("811212 811213 811219", "crm", "beryllium", SRC_CRM),
    ("8106", "crm", "bismuth", SRC_CRM),
    ("252800 280450", "crm", "boron", SRC_CRM),
    ("260500 8105 282200", "crm", "cobalt", SRC_CRM),
    ("260300 740200 7403", "crm", "copper", SRC_CRM),
    ("252910", "crm", "feldspar", SRC_CRM),
    ("252921 252922", "crm", "fluorspar", SRC_CRM),
    ("811292 811299 282560", "crm", "gallium_germanium_indium_niobium_vanadium", SRC_CRM),
    ("811231 811239", "crm", "hafnium", SRC_CRM),
    ("280429", "crm", "helium", SRC_CRM),
    ("280530 2846", "crm", "rare_earths", SRC_CRM),
    ("282520 283691", "crm", "lithium", SRC_CRM),
    ("8104", "crm", "magnesium", SRC_CRM),
    ("260200 811100 2820", "crm", "manganese", SRC_CRM),
    ("2504", "crm", "natural_graphite", SRC_CRM),
    ("260400 7501 7502 282540 283324", "crm", "nickel", SRC_CRM),
    ("261590 8103", "crm", "niobium_tantalum_vanadium", SRC_CRM),
    ("282530", "crm", "niobium_tantalum_vanadium", SRC_CRM),
    ("2510 280470", "crm", "phosphate_rock_phosphorus", SRC_CRM),
    ("7110", "crm", "platinum_group_metals", SRC_CRM),
    ("280461 280469", "crm", "silicon_metal", SRC_CRM),
    ("283692", "crm", "strontium", SRC_CRM),
    ("261400 8108", "crm", "titanium", SRC_CRM),
    ("261100 8101 284180", "crm", "tungsten", SRC_CRM),
]

# Codes inside the headings above that are left out (reason in data/basket/README.md).
EXCLUDE: dict[str, str] = {
    "850410": "ballasts for discharge lamps (lighting, not grid)",
    "854430": "vehicle and aircraft wiring sets (automotive parts)",
    "300692": "waste pharmaceuticals",
    "300693": "placebo and blinded clinical-trial kits",
    "810197": "tungsten waste and scrap",
    "810530": "cobalt waste and scrap",
    "811020": "antimony waste and scrap",
    "810420": "magnesium waste and scrap",
    "810830": "titanium waste and scrap",
    "811213": "beryllium waste and scrap",
}


def expand_token(token: str, codes: pd.Series) -> list[str]:
    """HS6 code, HS4 heading or heading range ``AAAA-BBBB`` -> HS2022 HS6 codes (sorted)."""
    if "-" in token:
        lo, hi = token.split("-")
        heads = codes.str[:4]
        hit = codes[(heads >= lo) & (heads <= hi)]
    elif len(token) == 4:
        hit = codes[codes.str[:4] == token]
    elif len(token) == 6:
        hit = codes[codes == token]
    else:
        raise ValueError(f"bad token {token!r}")
    if hit.empty:
        raise ValueError(f"token {token!r} matches no HS2022 code")
    return sorted(hit.tolist())


def build_basket(product_list: Path) -> pd.DataFrame:
    """The default basket from SPEC/EXCLUDE, with HS2022 descriptions."""
    products = pd.read_csv(product_list, dtype=str, keep_default_na=False)
    codes = products["code"].str.zfill(6)
    rows: list[tuple[str, str, str, str]] = []
    claimed: set[str] = set()
    for tokens, sector, subsector, source in SPEC:
        for token in tokens.split():
            for k in expand_token(token, codes):
                if k in claimed or k in EXCLUDE:
                    continue
                claimed.add(k)
                rows.append((k, sector, subsector, source))
    basket = pd.DataFrame(rows, columns=["k", "sector", "subsector", "source"])
    desc = dict(zip(codes, products["description"], strict=False))
    basket.insert(3, "description", basket["k"].map(desc))
    return basket.sort_values("k", kind="mergesort").reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "basket")
    args = ap.parse_args(argv)
    basket = build_basket(args.shared / PRODUCT_LIST)
    args.out.mkdir(parents=True, exist_ok=True)
    basket.to_csv(args.out / "critical_goods_HS22.csv", index=False, lineterminator="\n")
    print(f"basket: {len(basket)} codes", basket["sector"].value_counts().sort_index().to_dict())
    for rev, fname in UN_TABLES.items():
        compact = derive_compact_table(bundled_pairs(rev), basket["k"])
        out = args.out / f"concordance_HS22_to_{rev}.csv"
        with open(out, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(f"# Derived by scripts/build_basket.py from UNSD {fname} (HS2022 correlation table) "
                     "plus data/concordance/HS2022_errata_8541.csv, fan-out rule of optimize/data/hs_links.py; "
                     "basket codes only.\n")
            compact.to_csv(fh, index=False, lineterminator="\n")
        print(f"{rev}: {len(compact)} rows -> {out.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
