"""Generate the embedded SYNTHETIC BACI sample (``data/baci/``). Invented numbers, real codes.

Writes (deterministic, seed below):
- ``BACI_SYNTHETIC_Y2023_sample.parquet``: flows t,i,j,k,v,q (trade.ARROW_SCHEMA), year 2023
- ``sample_products.csv`` (k, sector, description): the product universe and sector tags
- ``product_codes_sample.csv`` (k, description): product table read by ``products.product_table()``

Model: gravity-like. Each country has a lognormal economic size; each product a
lognormal market size and unit value; each (product, exporter) a lognormal
affinity, boosted for named dominant suppliers (China, USA, Russia and others)
and zeroed outside a short supplier list for a few concentrated products. A flow
exists with a logistic probability rising with both sizes and the affinity; its
value is size x size x affinity x lognormal noise (kUSD, 3 decimals), times
INTRA_EU_FACTOR between two EU members.
Quantities (tonnes) follow from a product unit value with noise; ~10% missing.

Run:  python data/baci/make_synthetic_sample.py
"""
from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
SEED = 20230101
YEAR = 2023
TARGET_ROWS = 100_000

#: sector code description — real HS2022 six-digit codes, descriptions written for this sample.
PRODUCTS = """
health 300212 Human blood fractions: antisera
health 300213 Immunological products, unmixed, not in doses
health 300214 Immunological products, mixed, not in doses
health 300215 Immunological products in doses (incl. monoclonal antibodies)
health 300241 Vaccines for human medicine
health 300242 Vaccines for veterinary medicine
health 300249 Toxins and similar products, other
health 300251 Cell therapy products
health 300290 Toxins, cultures of micro-organisms, other
health 300410 Medicaments with penicillins, in doses
health 300420 Medicaments with other antibiotics, in doses
health 300431 Medicaments with insulin, in doses
health 300432 Medicaments with corticosteroids, in doses
health 300439 Medicaments with other hormones, in doses
health 300449 Medicaments with other alkaloids, in doses
health 300450 Medicaments with vitamins, in doses
health 300460 Antimalarial medicaments, in doses
health 300490 Other medicaments, in doses
health 300610 Sterile sutures and tissue adhesives
health 300630 X-ray contrast and diagnostic reagents for patients
health 300640 Dental cements and bone reconstruction cements
health 300650 First-aid boxes and kits
health 300660 Hormone-based contraceptives
health 300670 Medical gel preparations
health 300691 Ostomy appliances
health 294110 Penicillins and derivatives (API)
health 294190 Other antibiotics (API)
health 293627 Vitamin C and derivatives
health 382212 Diagnostic reagents for infectious diseases
health 382219 Other diagnostic or laboratory reagents
health 401512 Medical, surgical and laboratory rubber gloves
health 401519 Other rubber gloves
health 630790 Other made-up textile articles (incl. face masks)
health 901811 Electro-cardiographs
health 901812 Ultrasonic scanning apparatus
health 901813 Magnetic resonance imaging apparatus
health 901819 Other electro-diagnostic apparatus
health 901831 Syringes
health 901832 Tubular metal needles and suture needles
health 901839 Catheters, cannulae and the like
health 901850 Ophthalmic instruments
health 901890 Other medical and surgical instruments
health 901920 Respiration apparatus and ventilators
health 902110 Orthopaedic or fracture appliances
health 902131 Artificial joints
health 902139 Other artificial parts of the body
health 902140 Hearing aids
health 902150 Pacemakers
health 902212 Computed tomography apparatus
health 902214 Other medical X-ray apparatus
health 902290 Parts of X-ray and radiation apparatus
ict 847130 Portable computers (laptops) up to 10 kg
ict 847141 Other computers, CPU and I/O in one housing
ict 847149 Computers presented as systems
ict 847150 Processing units for computers
ict 847160 Computer input or output units
ict 847170 Computer storage units
ict 847180 Other computer units
ict 847330 Parts and accessories of computers
ict 848610 Machines for making boules or wafers
ict 848620 Machines for making semiconductor devices
ict 848630 Machines for making flat panel displays
ict 848690 Parts of semiconductor manufacturing machines
ict 851713 Smartphones
ict 851714 Other mobile telephones
ict 851761 Base stations
ict 851762 Machines for receiving or transmitting data (routers, switches)
ict 851769 Other communication apparatus
ict 851771 Aerials and parts for communication apparatus
ict 851779 Other parts of communication apparatus
ict 852581 High-speed cameras
ict 852589 Other television and digital cameras
ict 852852 Monitors for computers
ict 852859 Other monitors
ict 852872 Colour television receivers
ict 854110 Diodes
ict 854121 Small-signal transistors
ict 854129 Power transistors
ict 854130 Thyristors, diacs and triacs
ict 854141 Light-emitting diodes (LED)
ict 854149 Other photosensitive semiconductor devices
ict 854151 Semiconductor-based transducers
ict 854160 Mounted piezo-electric crystals
ict 854190 Parts of semiconductor devices
ict 854231 Integrated circuits: processors and controllers
ict 854232 Integrated circuits: memories
ict 854233 Integrated circuits: amplifiers
ict 854239 Other integrated circuits
ict 854290 Parts of integrated circuits
energy 270112 Bituminous coal
energy 270119 Other coal
energy 270900 Crude petroleum oils
energy 271000 Refined petroleum oils
energy 271111 Liquefied natural gas
energy 271112 Liquefied propane
energy 271121 Natural gas in gaseous state
energy 271600 Electrical energy
energy 284410 Natural uranium and compounds
energy 284420 Enriched uranium and plutonium
energy 840211 Large watertube boilers
energy 840290 Parts of steam boilers
energy 840410 Auxiliary plant for boilers
energy 840420 Condensers for steam power units
energy 840490 Parts of boiler auxiliary plant
energy 840681 Steam turbines over 40 MW
energy 840682 Steam turbines up to 40 MW
energy 840690 Parts of steam turbines
energy 841181 Gas turbines up to 5 MW
energy 841182 Gas turbines over 5 MW
energy 841199 Parts of gas turbines
energy 850152 AC multi-phase motors 0.75-75 kW
energy 850153 AC multi-phase motors over 75 kW
energy 850161 AC generators up to 75 kVA
energy 850164 AC generators over 750 kVA
energy 850171 Photovoltaic DC generators up to 50 W
energy 850172 Photovoltaic DC generators over 50 W
energy 850211 Diesel generating sets up to 75 kVA
energy 850231 Wind-powered generating sets
energy 850239 Other generating sets
energy 850300 Parts of motors and generators
energy 850423 Liquid dielectric transformers over 10 MVA
energy 850434 Dry transformers over 500 kVA
energy 850440 Static converters (incl. inverters)
energy 850490 Parts of transformers and converters
energy 850710 Lead-acid starter batteries
energy 850760 Lithium-ion accumulators
energy 850790 Parts of accumulators
energy 854142 Photovoltaic cells not assembled in modules
energy 854143 Photovoltaic cells assembled in modules
energy 854460 Insulated conductors over 1000 V
crm 250410 Natural graphite in powder or flakes
crm 250490 Natural graphite, other
crm 252921 Fluorspar, up to 97% calcium fluoride
crm 252922 Fluorspar, over 97% calcium fluoride
crm 260200 Manganese ores and concentrates
crm 260300 Copper ores and concentrates
crm 260400 Nickel ores and concentrates
crm 260500 Cobalt ores and concentrates
crm 261590 Niobium, tantalum and vanadium ores
crm 261710 Antimony ores and concentrates
crm 280461 Silicon, at least 99.99% pure
crm 280530 Rare-earth metals, scandium and yttrium
crm 282520 Lithium oxide and hydroxide
crm 283691 Lithium carbonate
crm 284610 Cerium compounds
crm 284690 Other rare-earth compounds
crm 711011 Platinum, unwrought or powder
crm 711019 Platinum, semi-manufactured
crm 711021 Palladium, unwrought or powder
crm 711031 Rhodium, unwrought or powder
crm 711041 Iridium, osmium, ruthenium, unwrought
crm 750210 Nickel, not alloyed, unwrought
crm 810110 Tungsten powders
crm 810194 Tungsten, unwrought
crm 810294 Molybdenum, unwrought
crm 810411 Magnesium, unwrought, at least 99.8%
crm 810419 Magnesium, unwrought, other
crm 810430 Magnesium raspings, turnings and powders
crm 810520 Cobalt mattes and unwrought cobalt
crm 810590 Cobalt articles
crm 810820 Titanium, unwrought and powders
crm 810890 Titanium articles
crm 811010 Antimony, unwrought and powders
crm 811100 Manganese and articles
crm 811212 Beryllium, unwrought and powders
crm 811221 Chromium, unwrought and powders
crm 811292 Gallium, germanium, indium, niobium, vanadium, unwrought
crm 811299 Gallium, germanium, indium, niobium, vanadium, articles
other 010121 Pure-bred breeding horses
other 020130 Fresh boneless bovine meat
other 040221 Milk powder, unsweetened
other 080510 Oranges
other 090111 Coffee, not roasted
other 100199 Wheat, other than durum
other 220421 Wine in containers up to 2 litres
other 330499 Beauty and skin-care preparations
other 392321 Sacks and bags of ethylene polymers
other 482010 Registers, notebooks and diaries
other 610910 Cotton T-shirts, knitted
other 620342 Men's cotton trousers
other 640399 Leather footwear, other
other 730890 Iron or steel structures and parts
other 870323 Cars, spark-ignition 1500-3000 cc
other 870380 Cars, electric motor only
other 940360 Wooden furniture
other 950300 Toys
other 970191 Paintings and drawings by hand
other 071320 Dried chickpeas
"""

#: (HS6 or 4-digit prefix, exporter BACI code, affinity multiplier): dominant suppliers.
CHN, USA, RUS = 156, 842, 643
DOMINANT = [
    # Russia: fuels, enriched uranium, palladium, nickel
    ("2709", RUS, 60), ("2710", RUS, 25), ("271121", RUS, 80), ("271111", RUS, 15), ("2701", RUS, 25),
    ("284420", RUS, 60), ("711021", RUS, 50), ("750210", RUS, 30), ("810820", RUS, 10),
    # China: magnesium, gallium/germanium, rare earths, graphite, tungsten, antimony, batteries, PV, ...
    ("8104", CHN, 120), ("8112", CHN, 80), ("280530", CHN, 150), ("2846", CHN, 100), ("2504", CHN, 80),
    ("8101", CHN, 60), ("8110", CHN, 50), ("2617", CHN, 10), ("280461", CHN, 30), ("282520", CHN, 40),
    ("850760", CHN, 60), ("8541", CHN, 25), ("854142", CHN, 150), ("854143", CHN, 150), ("850440", CHN, 40),
    ("850172", CHN, 80), ("630790", CHN, 60), ("401519", CHN, 15), ("293627", CHN, 80), ("294110", CHN, 40),
    ("847130", CHN, 60), ("851713", CHN, 40), ("8517", CHN, 15), ("8528", CHN, 30), ("2529", CHN, 20),
    ("850231", CHN, 8), ("854460", CHN, 6), ("950300", CHN, 50), ("6109", CHN, 10),
    # USA: medical, pharmaceuticals, semiconductor equipment and processors, LNG
    ("3002", USA, 12), ("300215", USA, 25), ("9018", USA, 12), ("9021", USA, 10), ("9022", USA, 6),
    ("848620", USA, 8), ("848690", USA, 10), ("854231", USA, 10), ("271111", USA, 25), ("382212", USA, 10),
    # other dominant producers (not risk countries)
    ("283691", 152, 80), ("283691", 32, 40), ("260500", 180, 150), ("810520", 180, 30), ("261590", 76, 150),
    ("711011", 710, 80), ("711031", 710, 100), ("260200", 710, 40), ("260200", 266, 40), ("401512", 458, 100),
    ("854232", 410, 40), ("854231", 490, 60), ("854232", 490, 20), ("848620", 528, 40), ("300241", 56, 25),
    ("2709", 682, 60), ("271111", 634, 60), ("270112", 36, 60), ("270112", 360, 40), ("090111", 76, 50),
    ("260300", 152, 60), ("260300", 604, 40), ("260400", 360, 20), ("300490", 276, 8), ("300490", 757, 8),
]

#: products with very few suppliers: only these exporters may export them.
FEW_SUPPLIERS = {
    "811292": (CHN, RUS, 392),  # China, Russia, Japan
    "280530": (CHN, 392, 458),  # China, Japan, Malaysia
    "284420": (RUS, 251, 528, 826),
    "261590": (76, 124),  # Brazil, Canada
    "260500": (180, 894, 36),  # DR Congo, Zambia, Australia
    "810411": (CHN, 376),  # China, Israel
}

#: codes the generator never uses as exporters or importers (historical or aggregates).
EXCLUDED = {58, 200, 278, 280, 530, 697, 711, 736, 810, 849, 891}


def product_list() -> list[tuple[str, str, str]]:
    rows = []
    for line in PRODUCTS.strip().splitlines():
        sector, k, desc = line.split(" ", 2)
        rows.append((k, sector, desc))
    rows.sort()
    return rows


#: Trade-cost proxy: flows between EU members (single market, neighbours) are this many
#: times larger than the same-size flow across the EU border, so intra-EU trade is the larger
#: part of EU27 imports, as in reality (about 60% of EU27 imports of goods are intra-EU).
INTRA_EU_FACTOR = 12.0


def eu27_codes() -> np.ndarray:
    """BACI codes of the EU27 members, from the project's group and country tables."""
    with open(HERE / "country_groups.csv", newline="", encoding="utf-8") as fh:
        iso3 = {r["iso3"] for r in csv.DictReader(fh) if r["group"] == "EU27"}
    with open(HERE / "country_codes.csv", newline="", encoding="utf-8") as fh:
        return np.array(sorted(int(r["baci_code"]) for r in csv.DictReader(fh) if r["iso3"] in iso3), dtype=np.int32)


def country_codes() -> np.ndarray:
    with open(HERE / "country_codes.csv", newline="", encoding="utf-8") as fh:
        codes = [int(r["baci_code"]) for r in csv.DictReader(fh)]
    return np.array(sorted(c for c in codes if c not in EXCLUDED), dtype=np.int32)


def _logit_offsets(base: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-product offset a with sum(sigmoid(base[p] + a[p])) == target[p] (bisection, vectorised)."""
    lo = np.full(base.shape[0], -40.0)
    hi = np.full(base.shape[0], 40.0)
    for _ in range(36):
        mid = (lo + hi) / 2
        with np.errstate(over="ignore"):
            expected = (1.0 / (1.0 + np.exp(-(base + mid[:, None, None])))).sum(axis=(1, 2))
        too_many = expected > target
        hi = np.where(too_many, mid, hi)
        lo = np.where(too_many, lo, mid)
    return (lo + hi) / 2


def generate(seed: int = SEED) -> tuple[pa.Table, list[tuple[str, str, str]]]:
    rng = np.random.default_rng(seed)
    prods = product_list()
    ks = np.array([p[0] for p in prods])
    codes = country_codes()
    n_p, n_c = len(ks), len(codes)
    size = rng.lognormal(0.0, 1.0, n_c)  # economic size of each country
    top = 8.0 * size.max()  # the named trading economies dwarf the random rest
    for big, share_of_top in ((USA, 1.3), (CHN, 1.2), (276, 0.6), (392, 0.5), (251, 0.4), (826, 0.4), (699, 0.35),
                              (380, 0.3), (410, 0.3), (124, 0.3), (490, 0.25), (528, 0.25), (643, 0.25), (484, 0.2),
                              (757, 0.2), (682, 0.15), (579, 0.12), (36, 0.2), (76, 0.2),
                              # further large traders (most are among the reference study's beneficiaries)
                              (56, 0.2), (724, 0.2), (616, 0.15), (458, 0.12), (764, 0.12), (704, 0.15), (702, 0.15),
                              (360, 0.12), (792, 0.12), (784, 0.12), (634, 0.08), (566, 0.06), (398, 0.06),
                              (368, 0.07), (414, 0.05), (512, 0.04), (24, 0.04), (434, 0.04), (344, 0.15),
                              (376, 0.06), (710, 0.06), (152, 0.05), (32, 0.05), (12, 0.04), (818, 0.04)):
        size[codes == big] = top * share_of_top  # big economies are big everywhere
    log_size = np.log(size)
    z = (log_size - log_size.mean()) / log_size.std()
    affinity = rng.lognormal(0.0, 1.0, (n_p, n_c))
    col = {c: n for n, c in enumerate(codes)}
    for prefix, exporter, mult in DOMINANT:
        rows = np.flatnonzero(np.char.startswith(ks, prefix))
        affinity[rows, col[exporter]] *= mult ** 0.75
    for k, allowed in FEW_SUPPLIERS.items():
        row = np.flatnonzero(ks == k)[0]
        keep = np.isin(codes, allowed)
        affinity[row, ~keep] = 0.0
    with np.errstate(divide="ignore"):
        log_aff = np.log(affinity)
    base = 1.1 * z[None, :, None] + 0.9 * z[None, None, :] + 0.6 * log_aff[:, :, None]
    self_trade = np.eye(n_c, dtype=bool)[None, :, :]
    base = np.where(self_trade | np.isneginf(base), -np.inf, base)
    target = np.clip(rng.lognormal(np.log(TARGET_ROWS / n_p), 0.7, n_p), 40, 3000)
    offset = _logit_offsets(base, target)
    prob = 1.0 / (1.0 + np.exp(-(base + offset[:, None, None])))
    exists = rng.random(prob.shape) < prob
    p_idx, e_idx, m_idx = np.nonzero(exists)
    market = rng.lognormal(np.log(1.5e7), 1.0, n_p)  # world trade of each product, kUSD
    market[np.char.startswith(ks, "27")] *= 15.0  # fuels are the largest markets
    weight = (size[e_idx] * size[m_idx] ** 0.8 * affinity[p_idx, e_idx] * rng.lognormal(0.0, 0.8, p_idx.size))
    eu = np.isin(codes, eu27_codes())
    weight = weight * np.where(eu[e_idx] & eu[m_idx], INTRA_EU_FACTOR, 1.0)
    value = market[p_idx] * weight / np.bincount(p_idx, weights=weight, minlength=n_p)[p_idx]
    value = np.maximum(np.round(value, 3), 0.001)
    unit_value = rng.lognormal(np.log(5.0), 1.5, n_p)  # kUSD per tonne
    qty = np.round(value / unit_value[p_idx] * rng.lognormal(0.0, 0.3, p_idx.size), 3)
    qty[rng.random(p_idx.size) < 0.10] = np.nan
    order = np.lexsort((codes[m_idx], codes[e_idx], ks[p_idx]))
    table = pa.table({
        "t": pa.array(np.full(p_idx.size, YEAR, dtype=np.int16)),
        "i": pa.array(codes[e_idx][order]),
        "j": pa.array(codes[m_idx][order]),
        "k": pa.array(ks[p_idx][order].astype(object), pa.string()),
        "v": pa.array(value[order]),
        "q": pa.array(qty[order], from_pandas=True),
    })
    return table, prods


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _csv_text(header, rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def main() -> int:
    table, prods = generate()
    out = HERE / "BACI_SYNTHETIC_Y2023_sample.parquet"
    tmp = out.with_name(out.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, out)
    _atomic_write_text(HERE / "sample_products.csv", _csv_text(["k", "sector", "description"], prods))
    names = [(k, d) for k, _, d in prods]
    _atomic_write_text(HERE / "product_codes_sample.csv", _csv_text(["k", "description"], names))
    print(f"wrote {out.name}: {table.num_rows} rows, {len(prods)} products, "
          f"{len(set(table['i'].to_pylist()))} exporters, {out.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
