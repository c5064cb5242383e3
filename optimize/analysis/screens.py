"""Dependency screens on BACI flows: European Commission 2021, CEPII GeoDep, single-country (Korea).

Every screen takes the flows DataFrame (t, i, j, k, v, q; v in BACI kUSD) and returns one
tidy row per product (and year where it applies) with each criterion's value, its pass
flag and ``flagged`` (all criteria pass). Values are USD (``*_usd`` columns), shares are
0..1, HHI is the sum of squared supplier shares (0..1); suppliers are ISO3 with the BACI
code beside them (``*_code``); ``attrs["settings"]`` holds the screen's settings. Importer
sets with several members (a bloc such as the EU27) are treated as one importer: its
*suppliers* are exporters outside the set and its *exports* are exports to destinations
outside the set ("extra-bloc"), as the EC does.
``optimize.analysis.fixability`` reads a screen beside a re-allocation.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from optimize.analysis.exposure import hhi
from optimize.data.countries import to_iso3
from optimize.errors import DataError, InputError
from optimize.units import USD_PER_KUSD, usd_columns
from optimize.vocab import SINGLE_COUNTRY_THRESHOLDS

_REQUIRED = ("t", "i", "j", "k", "v")
#: GeoDep's import/export ratio when the importer exports none of k (CEPII: "we impose the value of 9999").
GEODEP_ZERO_EXPORT_RATIO = 9999.0


# ------------------------------------------------------------------ helpers
def _check_flows(flows: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in _REQUIRED if c not in flows.columns]
    if missing:
        raise DataError(
            f"flows lack column(s) {missing}",
            file="flows DataFrame",
            field=missing[0],
            fix="pass TradeData.flows (columns t, i, j, k, v, q)",
        )
    return flows


def _codes(codes: Iterable[int], what: str) -> np.ndarray:
    arr = np.unique(np.asarray(list(codes), dtype=np.int64))
    if arr.size == 0:
        raise InputError(f"empty {what}", field=what, fix=f"give at least one BACI country code for {what}")
    return arr


def _select_years(flows: pd.DataFrame, years: Sequence[int] | int | None) -> pd.DataFrame:
    if years is None:
        return flows
    wanted = [int(years)] if np.isscalar(years) else [int(y) for y in years]
    out = flows[flows["t"].isin(wanted)]
    if out.empty:
        have = sorted(int(y) for y in pd.unique(flows["t"]))
        raise InputError(f"no flows for year(s) {wanted}", field="t", fix=f"choose among the years present: {have}")
    return out


def hhi_by(values: pd.DataFrame, keys: list[str], supplier: str = "i") -> pd.DataFrame:
    """HHI (0..1) and total (``total_usd``, USD; ``v`` in kUSD) of ``v`` per ``keys``, over ``supplier`` shares."""
    per = values.groupby(keys + [supplier], sort=True, observed=True)["v"].sum().reset_index()
    groups = per.groupby(keys, sort=True, observed=True)
    out = groups.agg(total_kusd=("v", "sum")).reset_index()
    code = groups.ngroup().to_numpy(dtype=float)  # NaN for rows whose key is missing (dropped by groupby)
    kept = ~np.isnan(code)
    out["hhi"] = hhi(code[kept].astype(np.int64), per["v"].to_numpy(dtype=float)[kept], len(out))
    return usd_columns(out)


def _ratio(num: pd.Series, den: pd.Series, zero_den: float = np.inf) -> np.ndarray:
    """num / den with ``zero_den`` where den is 0 and num > 0 (+inf; GeoDep: 9999), NaN where both are 0."""
    n = num.to_numpy(dtype=float)
    d = den.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = n / d
    r[(d <= 0) & (n > 0)] = zero_den
    r[(d <= 0) & (n <= 0)] = np.nan
    return r


def _importer_side(flows: pd.DataFrame, codes: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(imports into the set from outside, all imports into the set, exports from the set to outside)."""
    into = flows["j"].isin(codes)
    from_set = flows["i"].isin(codes)
    return flows[into & ~from_set], flows[into], flows[from_set & ~into]


def _sum_by(df: pd.DataFrame, keys: list[str], name: str) -> pd.DataFrame:
    """The sum of ``v`` (kUSD) per ``keys`` in USD, as column ``name``."""
    return (df.groupby(keys, sort=True, observed=True)["v"].sum() * USD_PER_KUSD).rename(name).reset_index()


def _with_settings(out: pd.DataFrame, screen: str, codes: np.ndarray, thresholds: dict, **settings) -> pd.DataFrame:
    """``out`` with its settings in ``attrs``: screen, importer codes, thresholds and ``settings``
    (``attrs["settings"]`` gathers them for summary.json; the other keys are read by ``fixability``)."""
    importer_codes = tuple(int(c) for c in codes)
    out.attrs.update(screen=screen, thresholds=thresholds, importer_codes=importer_codes, **settings)
    out.attrs["settings"] = {"screen": screen, "importer_codes": list(importer_codes), "thresholds": thresholds,
                             **{k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}}
    return out


# ------------------------------------------------------------------ EC 2021
def ec_screen(
    flows: pd.DataFrame,
    bloc_codes: Iterable[int],
    *,
    hhi_threshold: float = 0.4,
    extra_share_threshold: float = 0.5,
    import_export_ratio: float = 1.0,
    year: int | None = None,
) -> pd.DataFrame:
    """European Commission (2021) dependency screen, one row per (product, year).

    Criteria (strict ``>``): ``hhi_extra`` = HHI of the bloc's extra-bloc imports
    (shares among extra-bloc suppliers) > ``hhi_threshold``; ``extra_share`` =
    extra-bloc imports / all bloc imports (intra-bloc included) > ``extra_share_threshold``;
    ``import_export_ratio`` = extra-bloc imports / *extra-bloc exports* of the bloc
    (members' exports of k to non-members; intra-bloc trade cancels out) >
    ``import_export_ratio`` (inf when the bloc does not export k). Values in USD.
    """
    flows = _select_years(_check_flows(flows), year)
    codes = _codes(bloc_codes, "bloc_codes")
    extra_in, all_in, extra_out = _importer_side(flows, codes)
    keys = ["k", "t"]
    h = hhi_by(extra_in, keys).rename(columns={"total_usd": "extra_imports_usd", "hhi": "hhi_extra"})
    tot = _sum_by(all_in, keys, "total_imports_usd")
    exp = _sum_by(extra_out, keys, "extra_exports_usd")
    out = tot.merge(h, on=keys, how="left").merge(exp, on=keys, how="left")
    out[["extra_imports_usd", "extra_exports_usd"]] = out[["extra_imports_usd", "extra_exports_usd"]].fillna(0.0)
    out["extra_share"] = _ratio(out["extra_imports_usd"], out["total_imports_usd"])
    out["import_export_ratio"] = _ratio(out["extra_imports_usd"], out["extra_exports_usd"])
    out["pass_hhi"] = out["hhi_extra"].fillna(0.0) > hhi_threshold
    out["pass_extra_share"] = out["extra_share"].fillna(0.0) > extra_share_threshold
    out["pass_ratio"] = out["import_export_ratio"].fillna(0.0) > import_export_ratio
    out["flagged"] = out["pass_hhi"] & out["pass_extra_share"] & out["pass_ratio"]
    out = out.rename(columns={"t": "year"}).sort_values(["k", "year"], kind="stable").reset_index(drop=True)
    out = out[["k", "year", "total_imports_usd", "extra_imports_usd", "extra_exports_usd", "hhi_extra", "extra_share",
               "import_export_ratio", "pass_hhi", "pass_extra_share", "pass_ratio", "flagged"]]
    thresholds = {"hhi": hhi_threshold, "extra_share": extra_share_threshold, "ratio": import_export_ratio}
    return _with_settings(out, "ec", codes, thresholds, intra_bloc="exclude",
                          share_of="the importer set's imports from outside the set (EC 2021)")


# ------------------------------------------------------------------ CEPII GeoDep
def geodep_yearly(flows: pd.DataFrame, importer_codes: Iterable[int]) -> pd.DataFrame:
    """GeoDep criteria values per (k, year): importer HHI (extra-set suppliers), world-export
    HHI (all exporters of k), importer's imports / exports of k (extra-set; 9999 when it exports
    none of k, NaN when it neither imports nor exports k), values in USD."""
    flows = _check_flows(flows)
    codes = _codes(importer_codes, "importer_codes")
    extra_in, _, extra_out = _importer_side(flows, codes)
    keys = ["k", "t"]
    grid = flows[keys].drop_duplicates()
    h_imp = hhi_by(extra_in, keys).rename(columns={"total_usd": "imports_usd", "hhi": "hhi_importer"})
    h_world = hhi_by(flows, keys).rename(columns={"total_usd": "world_exports_usd", "hhi": "hhi_world_exports"})
    exp = _sum_by(extra_out, keys, "exports_usd")
    out = grid.merge(h_imp, on=keys, how="left").merge(h_world, on=keys, how="left").merge(exp, on=keys, how="left")
    out[["imports_usd", "exports_usd"]] = out[["imports_usd", "exports_usd"]].fillna(0.0)
    out["import_export_ratio"] = _ratio(out["imports_usd"], out["exports_usd"], GEODEP_ZERO_EXPORT_RATIO)
    return out.rename(columns={"t": "year"}).sort_values(["k", "year"], kind="stable").reset_index(drop=True)


def geodep_criteria(yearly: pd.DataFrame, hhi_importer: float = 0.4, hhi_world_exports: float = 0.4,
                    ratio: float = 1.0) -> pd.DataFrame:
    """``geodep_yearly`` rows with each GeoDep criterion of the year (strict ``>``; missing values fail):
    ``c_importer``, ``c_world``, ``c_ratio`` and ``c_all`` (the three together)."""
    out = yearly.assign(
        c_importer=yearly["hhi_importer"].fillna(0.0) > hhi_importer,
        c_world=yearly["hhi_world_exports"].fillna(0.0) > hhi_world_exports,
        c_ratio=yearly["import_export_ratio"].fillna(0.0) > ratio,
    )
    out["c_all"] = out["c_importer"] & out["c_world"] & out["c_ratio"]
    return out


def geodep_screen(
    flows: pd.DataFrame,
    importer_codes: Iterable[int],
    *,
    years: Sequence[int] | None = None,
    hhi_importer: float = 0.4,
    hhi_world_exports: float = 0.4,
    ratio: float = 1.0,
    min_years: int = 2,
    window: int = 3,
) -> pd.DataFrame:
    """CEPII GeoDep screen, one row per product over the last ``window`` years of the data.

    Per year, ``all_criteria`` = importer HHI > ``hhi_importer`` and world-export HHI >
    ``hhi_world_exports`` and imports / exports > ``ratio`` (strict ``>``; no exports:
    ratio 9999). A product is ``flagged`` when ``all_criteria`` holds in at least
    ``min_years`` of the ``window`` consecutive years ending with the latest year selected
    (CEPII's criterion 4: the three criteria together, in the same years). A year without
    imports of k fails. Columns: the latest year's values, ``n_<criterion>`` (years passing
    each criterion on its own, information only), ``n_years_all_criteria``, ``flagged``,
    ``years`` and ``note``. With fewer years than ``window`` the rule is applied to the
    years present (at least ``min(min_years, n)``) and ``note`` says so.
    """
    if min_years < 1 or window < 1 or min_years > window:
        raise InputError(
            f"min_years={min_years}, window={window}", field="min_years", fix="use 1 <= min_years <= window"
        )
    flows = _select_years(_check_flows(flows), years)
    present = sorted(int(y) for y in pd.unique(flows["t"]))
    last = present[-1]
    win_years = [y for y in range(last - window + 1, last + 1)]
    flows = flows[flows["t"].isin(win_years)]
    n_avail = len(set(win_years) & set(present))
    need = min(min_years, n_avail)
    yearly = geodep_criteria(geodep_yearly(flows, importer_codes), hhi_importer, hhi_world_exports, ratio)
    counts = yearly.groupby("k", sort=True)[["c_importer", "c_world", "c_ratio", "c_all"]].sum()
    latest = yearly.sort_values(["k", "year"]).groupby("k", sort=True).tail(1).set_index("k")
    out = latest[["year", "imports_usd", "exports_usd", "world_exports_usd", "hhi_importer", "hhi_world_exports",
                  "import_export_ratio"]].copy()
    out = out.rename(columns={"year": "latest_year"})
    for c, name in (("c_importer", "n_hhi_importer"), ("c_world", "n_hhi_world_exports"), ("c_ratio", "n_ratio"),
                    ("c_all", "n_years_all_criteria")):
        out[name] = counts[c].astype(int)
    out["flagged"] = out["n_years_all_criteria"] >= need
    used = sorted(set(win_years) & set(present))
    out["years"] = ",".join(str(y) for y in used)
    if n_avail == 1:
        note = "single year: persistence rule (min_years of window) not checked; criteria applied to one year"
    elif n_avail < window:
        note = f"only {n_avail} of {window} years present: all three criteria must hold together in {need} of {n_avail}"
    else:
        note = f"all three criteria hold together in >= {need} of {window} years"
    out["note"] = note
    out = out.reset_index().sort_values("k", kind="stable").reset_index(drop=True)
    thresholds = {"hhi_importer": hhi_importer, "hhi_world_exports": hhi_world_exports, "ratio": ratio}
    return _with_settings(out, "geodep", _codes(importer_codes, "importer_codes"), thresholds, intra_bloc="exclude",
                          share_of="the importer set's imports from outside the set (CEPII GeoDep)",
                          min_years=need, window_years=tuple(win_years))


# ------------------------------------------------------------------ single country (Korea)
def single_country_screen(
    flows: pd.DataFrame,
    importer_codes: Iterable[int],
    *,
    thresholds: Sequence[float] = SINGLE_COUNTRY_THRESHOLDS,
    supplier: int | None = None,
    stage: str | None = None,
    min_value_usd: float = 0.0,
    year: int | None = None,
    stages: pd.DataFrame | None = None,
    intra_bloc: str = "include",
) -> pd.DataFrame:
    """Korea-style screen: products where one supplier holds more than each threshold
    of the importer's imports (``total_usd``, USD), one row per (product, year).

    The same definition as the run's ``single_country`` table: with
    ``intra_bloc="include"`` (default) shares are of all the set's imports, trade
    between its members included (members are suppliers); ``"exclude"``: of its
    imports from outside the set only (EC 2021). ``attrs["settings"]["share_of"]`` says which.

    ``supplier`` (BACI code) restricts the test to that supplier's share (e.g. China);
    otherwise the top supplier counts (ties: lowest code). Suppliers are ISO3
    (``top_supplier``, ``supplier``) with the BACI code beside them (``*_code``). ``stage``
    keeps products of one value-chain stage, from ``stages`` (DataFrame with k, stage) or
    ``optimize.data.stages``. Products with imports below ``min_value_usd`` (USD) are dropped.
    Columns ``above_<pct>`` per threshold and ``flagged`` (above the lowest threshold);
    ``count_flags`` gives the counts.
    """
    flows = _select_years(_check_flows(flows), year)
    codes = _codes(importer_codes, "importer_codes")
    ths = sorted(float(x) for x in thresholds)
    if not ths or any(not (0.0 < x < 1.0) for x in ths):
        raise InputError(f"thresholds {list(thresholds)}", field="thresholds",
                         fix="give shares strictly between 0 and 1")
    if intra_bloc not in ("include", "exclude"):
        raise InputError(f"unknown intra-bloc choice {intra_bloc!r}", field="intra_bloc", fix="use include or exclude")
    extra_in, all_in, _ = _importer_side(flows, codes)
    per = _supplier_shares(all_in if intra_bloc == "include" else extra_in)
    out = _top_suppliers(per)
    if supplier is not None:
        keys = ["k", "t"]
        sup = per[per["i"] == int(supplier)][keys + ["share"]].rename(columns={"share": "supplier_share"})
        out = out.merge(sup, on=keys, how="left")
        out["supplier_share"] = out["supplier_share"].fillna(0.0)
        out["supplier"] = _iso3([int(supplier)] * len(out))
        out["supplier_code"] = int(supplier)
        tested = out["supplier_share"]
    else:
        tested = out["top_share"]
    for th in ths:
        out[f"above_{round(th * 100):d}"] = tested.to_numpy() > th
    out["flagged"] = tested.to_numpy() > ths[0]
    out = out[out["total_usd"] >= min_value_usd]
    if stage is not None:
        out = _keep_stage(out, stage, stages)
    out = out.rename(columns={"t": "year"}).sort_values(["k", "year"], kind="stable").reset_index(drop=True)
    share_of = ("all the importer's imports, trade between members of the importer set included"
                if intra_bloc == "include" else "the importer set's imports from outside the set")
    return _with_settings(out, "single", codes, {"share": ths}, intra_bloc=intra_bloc, share_of=share_of,
                          supplier=None if supplier is None else str(_iso3([int(supplier)])[0]),
                          supplier_code=None if supplier is None else int(supplier), stage=stage,
                          min_value_usd=float(min_value_usd))


def _supplier_shares(imports: pd.DataFrame) -> pd.DataFrame:
    """Per (k, t, supplier i): value ``v`` (kUSD), the product-year total ``total_usd`` (USD) and ``share`` 0..1."""
    keys = ["k", "t"]
    per = imports.groupby(keys + ["i"], sort=True, observed=True)["v"].sum().reset_index()
    total = per.groupby(keys, sort=True, observed=True)["v"].transform("sum")
    per = per.assign(total_usd=total * USD_PER_KUSD, share=per["v"] / total.where(total > 0))
    return per[total.to_numpy() > 0]


def _top_suppliers(per: pd.DataFrame) -> pd.DataFrame:
    """The largest supplier per (k, t) (ties: lowest code): total_usd, top_supplier (ISO3), its code, top_share."""
    keys = ["k", "t"]
    top = per.sort_values(keys + ["v", "i"], ascending=[True, True, False, True], kind="stable")
    top = top.groupby(keys, sort=True).head(1).rename(columns={"i": "top_supplier_code", "share": "top_share"})
    top.insert(top.columns.get_loc("top_supplier_code"), "top_supplier", _iso3(top["top_supplier_code"]))
    return top[keys + ["total_usd", "top_supplier", "top_supplier_code", "top_share"]].reset_index(drop=True)


def _iso3(codes) -> np.ndarray:
    """ISO3 of BACI codes (``'?<code>'`` for unknown ones)."""
    arr = np.asarray(codes, dtype=np.int64)
    return to_iso3(arr) if arr.size else np.array([], dtype=object)


def _keep_stage(out: pd.DataFrame, stage: str, stages: pd.DataFrame | None) -> pd.DataFrame:
    """The rows of ``out`` whose product is in value-chain ``stage`` (from ``stages`` or the bundled table)."""
    if stages is not None:
        table = stages
        known = sorted(str(s) for s in pd.unique(table["stage"].dropna())) if "stage" in table else []
    else:
        table, known = _stage_table(sorted(pd.unique(out["k"])))
    if not {"k", "stage"} <= set(table.columns):
        raise InputError("stage table lacks columns k, stage", field="stage", fix="pass a DataFrame[k, stage]")
    if stage not in known:
        raise InputError(f"unknown stage {stage!r}", field="stage", fix=f"choose one of {known}")
    out = out.merge(table[["k", "stage"]].drop_duplicates("k"), on="k", how="left")
    return out[out["stage"] == stage]


def _stage_table(products: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """(DataFrame[k, stage] for ``products``, every stage name) from ``optimize.data.stages`` (HS22 table)."""
    try:
        from optimize.data import stages as st  # noqa: PLC0415 - optional dependency inside the package
    except ImportError as exc:
        raise InputError(
            "value-chain stages are not available (optimize.data.stages is missing)",
            field="stage",
            fix="pass stages=DataFrame[k, stage] or drop --stage",
        ) from exc
    return st.assign_stages(products), [*st.STAGES, st.UNCLASSIFIED]


def count_flags(screen: pd.DataFrame) -> dict[str, int]:
    """Number of flagged rows, and of rows above each threshold for the single-country screen."""
    counts = {"rows": int(len(screen)), "flagged": int(screen["flagged"].sum())}
    for c in screen.columns:
        if c.startswith("above_") or c.startswith("pass_"):
            counts[c] = int(screen[c].sum())
    return counts
