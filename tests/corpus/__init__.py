"""Generators of broken inputs for the reliability tests (written to tmp dirs, never committed as data).

Every case starts from one small *valid* BACI table (``base_rows``: year 2023,
HS2022 codes of the default basket, real BACI country codes) and breaks one
thing. A case knows the error type it must raise, a word the message must
contain, and the 1-based data row it must name (None when the whole file is
at fault).
"""
from __future__ import annotations

import gzip
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HEADER = "t,i,j,k,v,q"
YEAR = 2023
#: A valid HS22 file name (the pipeline reads the HS revision from it).
NAME = "BACI_HS22_Y2023_V202501.csv"

# exporters: CHN 156, USA 842, RUS 643, JPN 392, KOR 410, CAN 124; importers: FRA 251, DEU 276, NLD 528 (EU), USA
_EXPORTERS = (156, 842, 643, 392, 410, 124)
_IMPORTERS = (251, 276, 528, 842)
#: HS2022 codes of the default basket (energy sector), one of them HS22-only (854143).
PRODUCTS = ("850440", "854143")


def base_rows() -> list[list[str]]:
    """A valid table as lists of CSV fields: every exporter -> every importer (no self trade), both products."""
    rows = []
    for p_idx, k in enumerate(PRODUCTS):
        for e_idx, i in enumerate(_EXPORTERS):
            for m_idx, j in enumerate(_IMPORTERS):
                if i == j:
                    continue
                v = 10.0 * (e_idx + 1) + 3.0 * m_idx + p_idx + (40.0 if i == 156 else 0.0)
                rows.append([str(YEAR), str(i), str(j), k, f"{v:g}", f"{v / 10:g}"])
    return rows


def csv_text(rows: list[list[str]], header: str = HEADER) -> str:
    return header + "\n" + "".join(",".join(r) + "\n" for r in rows)


def write_csv(path: Path, rows: list[list[str]], header: str = HEADER, gz: bool = False) -> Path:
    data = csv_text(rows, header).encode()
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def release_zip(path: Path, years: tuple[int, ...] = (YEAR,)) -> Path:
    """A release-like zip: one BACI_HS22_Y<year>_V202501.csv per year (no code tables: the project's are used)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for y in years:
            rows = [[str(y)] + r[1:] for r in base_rows()]
            zf.writestr(f"BACI_HS22_Y{y}_V202501.csv", csv_text(rows))
    return path


def _set(row: int, col: str, value: str) -> Callable[[list[list[str]]], list[list[str]]]:
    """Mutation: put ``value`` in field ``col`` of 1-based data row ``row``."""
    idx = HEADER.split(",").index(col)

    def f(rows):
        rows[row - 1][idx] = value
        return rows
    return f


@dataclass(frozen=True)
class BadCase:
    """One broken input: ``build(tmp) -> path``; what must happen when it is read."""

    name: str
    build: Callable[[Path], Path]
    error: str | None  # optimize.errors type read_baci must raise; None = the read succeeds
    needle: str  # a word the message must contain (lower case compare)
    row: int | None = None  # 1-based data row the message must name
    field: str | None = None  # column the message must name
    read_kwargs: tuple[tuple[str, object], ...] = ()  # extra read_baci arguments (e.g. years)
    cli_args: tuple[str, ...] = ()  # extra `tradeopt run` options
    run_error: str | None = "same"  # error of `tradeopt run` ("same" = ``error``; None = the run succeeds)

    @property
    def cli_error(self) -> str | None:
        return self.error if self.run_error == "same" else self.run_error


def _rows_case(name, mutate, needle, row=None, field=None, error="DataError"):
    def build(tmp: Path) -> Path:
        return write_csv(tmp / NAME, mutate(base_rows()))
    return BadCase(name, build, error, needle, row, field)


def _bytes_case(name, filename, make_bytes, needle, **kw):
    def build(tmp: Path) -> Path:
        p = tmp / filename
        p.write_bytes(make_bytes())
        return p
    return BadCase(name, build, kw.pop("error", "DataError"), needle, **kw)


def _truncated_gzip() -> bytes:
    full = gzip.compress(csv_text(base_rows() * 20).encode(), mtime=0)
    return full[: len(full) // 2]


def _truncated_zip(tmp_name: str = "full.zip") -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(NAME, csv_text(base_rows() * 20))
    data = buf.getvalue()
    return data[: len(data) // 2]


def _zip_case(name, years, read_years, needle, **kw):
    def build(tmp: Path) -> Path:
        return release_zip(tmp / "BACI_HS22_V202501.zip", years)
    return BadCase(name, build, kw.pop("error", "DataError"), needle,
                   read_kwargs=(("years", read_years),), cli_args=("--year", str(read_years)), **kw)


def _two_years(tmp: Path) -> Path:
    rows = base_rows() + [[str(YEAR - 1)] + r[1:] for r in base_rows()[:3]]
    return write_csv(tmp / "BACI_HS22_V202501.csv", rows)


def _int_codes(tmp: Path) -> Path:
    """HS codes written as integers (leading zero lost): 010121-style codes must come back as 6 chars."""
    rows = base_rows() + [[str(YEAR), "156", "251", "10121", "5", "1"], [str(YEAR), "842", "276", "30110.0", "2", "1"]]
    return write_csv(tmp / NAME, rows)


def _hs92_file(tmp: Path) -> Path:
    """An HS92-named file holding only HS22-only codes (854143 does not exist in HS1992)."""
    rows = [r for r in base_rows() if r[3] == "854143"]
    return write_csv(tmp / "BACI_HS92_Y2023_V202501.csv", rows)


def _long_line_member(tmp: Path, line_mb: int = 20) -> Path:
    """A release zip whose member is a header and then ``line_mb`` MB without a line break."""
    z = tmp / "BACI_HS22_V202501.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(NAME, (HEADER + "\n").encode() + b"1" * (line_mb << 20))
    return z


def _spaced_header(tmp: Path) -> Path:
    return write_csv(tmp / NAME, base_rows(), header="t, i, j, k, v, q")


def _bom_header(tmp: Path) -> Path:
    p = tmp / NAME
    p.write_bytes(b"\xef\xbb\xbf" + csv_text(base_rows()).encode())
    return p


def _dup(rows):
    return rows + [list(rows[4])]


BACI_CASES: tuple[BadCase, ...] = (
    _bytes_case("truncated_gzip", NAME + ".gz", _truncated_gzip, "truncated"),
    _bytes_case("truncated_zip", "BACI_HS22_V202501.zip", _truncated_zip, "zip"),
    _bytes_case("empty_file", NAME, lambda: b"", "empty"),
    _bytes_case("header_only", NAME, lambda: (HEADER + "\n").encode(), "header only"),
    _bytes_case("missing_column", NAME, lambda: csv_text([r[:5] for r in base_rows()], "t,i,j,k,v").encode(),
                "missing column", field="q"),
    _bytes_case("wrong_columns", NAME, lambda: csv_text(base_rows(), "year,exp,imp,hs6,value,qty").encode(),
                "--columns t=year,i=exp,j=imp,k=hs6,v=value,q=qty"),
    _bytes_case("extra_column", NAME, lambda: csv_text([r + ["0"] for r in base_rows()], HEADER + ",z").encode(),
                "unexpected column", field="z"),
    _zip_case("zip_without_year", (2021, 2022), 2023, "2023"),
    BadCase("two_years_one_asked", _two_years, None, "", read_kwargs=(("years", YEAR),), cli_args=("--year", "2023")),
    # strict reading flags the second year; `tradeopt run` without --year analyses the latest year
    BadCase("two_years_single_expected", _two_years, "DataError", "several years", row=len(base_rows()) + 1,
            field="t", read_kwargs=(("expect_single_year", True),), run_error=None),
    BadCase("hs_codes_as_integers", _int_codes, None, ""),
    _rows_case("hs_code_too_long", _set(3, "k", "8504400"), "6 digits", row=3, field="k"),
    _rows_case("hs_code_letters", _set(5, "k", "85A440"), "6 digits", row=5, field="k"),
    _rows_case("negative_value", _set(7, "v", "-3"), "negative", row=7, field="v"),
    _rows_case("nan_value", _set(2, "v", "NaN"), "missing", row=2, field="v"),
    _rows_case("infinite_value", _set(6, "v", "inf"), "infinite", row=6, field="v"),
    _rows_case("text_value", _set(4, "v", "lots"), "not a number", row=4, field="v"),
    _rows_case("negative_quantity", _set(8, "q", "-1"), "negative", row=8, field="q"),
    _rows_case("duplicate_key", _dup, "duplicate", row=len(base_rows()) + 1),
    _rows_case("unknown_exporter", _set(9, "i", "999"), "country", row=9, field="i"),
    _rows_case("unknown_importer", _set(10, "j", "1"), "country", row=10, field="j"),
    _rows_case("importer_equals_exporter", _set(1, "j", "156"), "exporter equals importer", row=1),
    _rows_case("year_not_integer", _set(3, "t", "2023.5"), "integer", row=3, field="t"),
    _rows_case("year_out_of_range", _set(11, "t", "20233"), "year outside", row=11, field="t"),
    _rows_case("empty_hs_code", _set(4, "k", ""), "empty", row=4, field="k"),
    _rows_case("blank_hs_code", _set(6, "k", "   "), "empty", row=6, field="k"),
    _rows_case("value_1e308", _set(5, "v", "1e308"), "above 1e+12", row=5, field="v"),
    _rows_case("value_1e20", _set(9, "v", "1e20"), "above 1e+12", row=9, field="v"),
    _rows_case("quantity_1e300", _set(2, "q", "1e300"), "above 1e+12", row=2, field="q"),
    BadCase("line_without_break_in_zip", _long_line_member, "DataError", "line break", row=1),
    BadCase("header_with_spaces", _spaced_header, None, ""),
    BadCase("header_with_utf8_bom", _bom_header, None, ""),
    BadCase("hs92_file_with_hs22_codes", _hs92_file, None, "data.hs_revision", field="basket",
            run_error="ScenarioError"),
)


# ------------------------------------------------------------------ scenario and basket files
@dataclass(frozen=True)
class ScenarioCase:
    """A broken scenario, override or basket: ``args(tmp) -> tradeopt run options``; the key the message names."""

    name: str
    args: Callable[[Path], list[str]]
    key: str  # dotted key / field the error must name
    needle: str  # a word the message must contain (lower case compare)
    names_file: bool = True  # the message names the scenario/basket file


def _toml(text: str) -> Callable[[Path], list[str]]:
    def args(tmp: Path) -> list[str]:
        p = tmp / "bad.toml"
        p.write_text("name = 'bad'\n" + text, encoding="utf-8")
        return ["--scenario", str(p)]
    return args


def _basket(text: str) -> Callable[[Path], list[str]]:
    def args(tmp: Path) -> list[str]:
        p = tmp / "basket.csv"
        p.write_text(text, encoding="utf-8")
        return ["--products", str(p)]
    return args


SCENARIO_CASES: tuple[ScenarioCase, ...] = (
    ScenarioCase("unknown_key", _toml("[cap]\nppp = 3\n"), "cap.ppp", "cap.pp"),
    ScenarioCase("unknown_section", _toml("[solvr]\nbackend = 'highs'\n"), "solvr", "solver"),
    ScenarioCase("wrong_type_cap", _toml("[cap]\npp = 'five'\n"), "cap.pp", "number"),
    ScenarioCase("wrong_type_list", _toml("[risk]\ncountries = 156\n[importer]\ncountries = true\n"),
                 "importer.countries", "list"),
    ScenarioCase("cap_below_0", _toml("[cap]\npp = -1\n"), "cap.pp", "0"),
    ScenarioCase("cap_above_100", _toml("[cap]\npp = 100.5\n"), "cap.pp", "100"),
    ScenarioCase("cap_option_above_100", lambda tmp: ["--cap", "150"], "cap.pp", "100", names_file=False),
    ScenarioCase("product_cap_above_100", _toml("[cap.product_pp]\n850440 = 120.0\n"), "cap.product_pp", "100"),
    ScenarioCase("empty_risk_set", _toml("[risk]\ncountries = []\n"), "risk.countries", "empty"),
    ScenarioCase("empty_risk_option", lambda tmp: ["--set", "risk.countries=[]"], "risk.countries", "empty",
                 names_file=False),
    ScenarioCase("risk_also_friend", lambda tmp: ["--risk", "CHN", "--friends", "JPN,CHN"],
                 "alternatives.friends", "risk", names_file=False),
    ScenarioCase("unknown_importer", lambda tmp: ["--importer", "ATLANTIS"], "importer.countries", "atlantis",
                 names_file=False),
    ScenarioCase("unknown_importer_code", _toml("[importer]\ncountries = ['9999']\n"), "importer.countries",
                 "9999"),
    ScenarioCase("basket_no_product_in_data", _basket("k,sector\n010121,health\n030110,energy\n"), "basket",
                 "none of"),
    ScenarioCase("basket_bad_code", _basket("k,sector\n85044A,energy\n"), "k", "hs6"),
    ScenarioCase("basket_unknown_sector", _basket("k,sector\n850440,weapons\n"), "sector", "weapons"),
    ScenarioCase("products_match_nothing", lambda tmp: ["--products", "999999"], "basket", "none of",
                 names_file=False),
    ScenarioCase("year_beyond_any_integer", _toml("[data]\nyear = 99999999999999999999\n"), "data.year", "2100"),
    ScenarioCase("year_option_huge", lambda tmp: ["--year", "99999999999999999999"], "data.year", "2100",
                 names_file=False),
    ScenarioCase("eur_rate_infinite", _toml("[report]\neur_per_usd = inf\n"), "report.eur_per_usd", "finite"),
    ScenarioCase("eur_rate_option_nan", lambda tmp: ["--eur-per-usd", "nan"], "report.eur_per_usd", "finite",
                 names_file=False),
    ScenarioCase("products_range_matches_nothing", lambda tmp: ["--products", "01-03"], "basket.products", "matches no",
                 names_file=False),
)


# ------------------------------------------------------------------ helpers for the tests
#: The checkout's cli.py (run as a script by the fault tests).
CLI_FILE = Path(__file__).resolve().parents[2] / "cli.py"


def leftovers(folder: Path) -> list[str]:
    """Temporary or hidden files anywhere below ``folder`` (what an interrupted atomic write leaves)."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.name.startswith(".") or p.name.endswith((".tmp", ".part")))


def snapshot(root: Path) -> dict[str, object]:
    """Every entry under ``root`` (symlinks not followed): file -> bytes, symlink -> ('link', target), folder -> 'dir'."""
    import os

    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            out[rel] = ("link", os.readlink(p)) if p.is_symlink() else ("dir" if p.is_dir() else p.read_bytes())
    return out


def files_below(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


#: Files every complete `tradeopt run` output folder holds.
RUN_OUTPUTS = ("summary.json", "summary.md", "flows.parquet", "products.csv", "exposure.csv", "manifest.json",
               "scenario.resolved.toml")


def check_complete_run_dir(out: Path) -> dict:
    """Assert ``out`` is a complete run output folder; return its summary.json."""
    import json

    import pandas as pd

    missing = [f for f in RUN_OUTPUTS if not (out / f).is_file()]
    assert not missing, f"{out} lacks {missing}"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    pd.read_parquet(out / "flows.parquet")
    pd.read_csv(out / "products.csv")
    return summary
