"""Generate ``data/baci/country_codes.csv``: BACI country codes from the ISO 3166 table.

Source: the ``pycountry`` ISO 3166-1 table (numeric code -> ISO3, ISO2, name),
adjusted by the explicit list of BACI deviations below. CEPII's BACI code list is
ISO numeric except where noted; this script reproduces it without reading it.

Run:  python data/baci/make_country_table.py [--check CEPII_country_codes.csv]
``--check`` only compares the result with a CEPII table (same code -> same ISO3).
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import pycountry

OUT = Path(__file__).resolve().parent / "country_codes.csv"

#: ISO territories that BACI does not list separately (reported with a parent
#: country or not reported at all). Taiwan (ISO 158) appears as BACI 490.
NOT_IN_BACI = {
    10: "Antarctica", 74: "Bouvet Island", 158: "Taiwan (BACI 490)", 234: "Faroe Islands",
    239: "South Georgia", 248: "Aland Islands", 254: "French Guiana (with France)",
    312: "Guadeloupe (with France)", 334: "Heard and McDonald Islands", 336: "Holy See",
    438: "Liechtenstein (with Switzerland)", 474: "Martinique (with France)",
    492: "Monaco (with France)", 581: "US Minor Outlying Islands", 630: "Puerto Rico (with USA)",
    638: "Reunion (with France)", 663: "Saint Martin (French part)", 732: "Western Sahara",
    744: "Svalbard and Jan Mayen (with Norway)", 831: "Guernsey", 832: "Jersey",
    833: "Isle of Man", 850: "US Virgin Islands (with USA)",
}

#: ISO numeric -> BACI code where BACI uses the UN Comtrade reporter code.
RENUMBERED = {
    250: (251, "France"),  # incl. Monaco, overseas departments
    356: (699, "India"),
    578: (579, "Norway"),  # incl. Svalbard and Jan Mayen
    756: (757, "Switzerland"),  # incl. Liechtenstein
    840: (842, "USA"),  # incl. Puerto Rico, US Virgin Islands
}

#: BACI codes with no current ISO 3166-1 entry: (iso3, iso2, name).
EXTRA = {
    58: ("BEL", "BE", "Belgium-Luxembourg (...1998)"),
    200: ("CSK", "CS", "Czechoslovakia (...1992)"),
    278: ("DDR", "DD", "Dem. Rep. of Germany (...1990)"),
    280: ("DEU", "DE", "Fed. Rep. of Germany (...1990)"),
    490: ("S19", "", "Other Asia, nes (Taiwan)"),
    530: ("ANT", "AN", "Netherlands Antilles (...2010)"),
    697: ("R20", "", "Europe EFTA, nes"),
    711: ("ZA1", "", "Southern African Customs Union (...1999)"),
    736: ("SDN", "SD", "Sudan (...2011)"),
    810: ("SUN", "SU", "USSR (...1990)"),
    849: ("PUS", "PU", "US Misc. Pacific Isds"),
    891: ("SCG", "CS", "Serbia and Montenegro (...2005)"),
}


def build_rows() -> list[tuple[int, str, str, str]]:
    """Rows (baci_code, iso3, iso2, name), sorted by code."""
    rows = []
    for c in pycountry.countries:
        iso_num = int(c.numeric)
        if iso_num in NOT_IN_BACI:
            continue
        code, name = RENUMBERED.get(iso_num, (iso_num, getattr(c, "common_name", None) or c.name))
        rows.append((code, c.alpha_3, c.alpha_2, name))
    rows += [(code, *v) for code, v in EXTRA.items()]
    rows.sort()
    codes = [r[0] for r in rows]
    if len(codes) != len(set(codes)):
        raise SystemExit("duplicate BACI codes in generated table")
    return rows


def check(rows, cepii_csv: Path) -> int:
    """Compare with a CEPII table; return the number of mismatches (printed)."""
    with open(cepii_csv, newline="", encoding="utf-8", errors="replace") as fh:
        ref = {int(r["country_code"]): r["country_iso3"] for r in csv.DictReader(fh)}
    ours = {r[0]: r[1] for r in rows}
    bad = sorted(set(ref) ^ set(ours)) + sorted(c for c in set(ref) & set(ours) if ref[c] != ours[c])
    for c in bad:
        print(f"mismatch {c}: ours={ours.get(c)} cepii={ref.get(c)}")
    print(f"{len(ours)} ours, {len(ref)} CEPII, {len(bad)} mismatches")
    return len(bad)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", type=Path, help="CEPII country_codes_*.csv to compare with")
    args = ap.parse_args(argv)
    rows = build_rows()
    tmp = OUT.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["baci_code", "iso3", "iso2", "name"])
        w.writerows(rows)
    tmp.replace(OUT)
    print(f"wrote {OUT} ({len(rows)} countries, pycountry {getattr(pycountry, '__version__', '?')})")
    return check(rows, args.check) if args.check else 0


if __name__ == "__main__":
    sys.exit(main())
