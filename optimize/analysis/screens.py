"""Dependency screens on BACI flows: European Commission 2021, CEPII GeoDep, single-country (Korea).

Every screen takes the flows DataFrame (t, i, j, k, v, q; v in kUSD) and returns one
tidy row per product (and year where it applies) with each criterion's value, its pass
flag and ``flagged`` (all criteria pass). Shares are 0..1, HHI is the sum of squared
supplier shares (0..1). Importer sets with several members (a bloc such as the EU27)
are treated as one importer: its *suppliers* are exporters outside the set and its
*exports* are exports to destinations outside the set ("extra-bloc"), as the EC does.
``fixability`` reads a screen beside a re-allocation (``engine.Allocation``).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from optimize.errors import DataError, InputError

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
    """HHI (0..1) and total (kUSD) of ``v`` per ``keys``, over ``supplier`` shares."""
    per = values.groupby(keys + [supplier], sort=True, observed=True)["v"].sum().reset_index()
    tot = per.groupby(keys, sort=True, observed=True)["v"].transform("sum")
    share = np.where(tot > 0, per["v"] / tot.where(tot > 0, 1.0), 0.0)
    per = per.assign(sq=share**2, share=share)
    out = per.groupby(keys, sort=True, observed=True).agg(total_kusd=("v", "sum"), hhi=("sq", "sum")).reset_index()
    out.loc[out["total_kusd"] <= 0, "hhi"] = np.nan
    return out


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
    return df.groupby(keys, sort=True, observed=True)["v"].sum().rename(name).reset_index()


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
    ``import_export_ratio`` (inf when the bloc does not export k). Values in kUSD.
    """
    flows = _select_years(_check_flows(flows), year)
    codes = _codes(bloc_codes, "bloc_codes")
    extra_in, all_in, extra_out = _importer_side(flows, codes)
    keys = ["k", "t"]
    h = hhi_by(extra_in, keys).rename(columns={"total_kusd": "extra_imports_kusd", "hhi": "hhi_extra"})
    tot = _sum_by(all_in, keys, "total_imports_kusd")
    exp = _sum_by(extra_out, keys, "extra_exports_kusd")
    out = tot.merge(h, on=keys, how="left").merge(exp, on=keys, how="left")
    out[["extra_imports_kusd", "extra_exports_kusd"]] = out[["extra_imports_kusd", "extra_exports_kusd"]].fillna(0.0)
    out["extra_share"] = _ratio(out["extra_imports_kusd"], out["total_imports_kusd"])
    out["import_export_ratio"] = _ratio(out["extra_imports_kusd"], out["extra_exports_kusd"])
    out["pass_hhi"] = out["hhi_extra"].fillna(0.0) > hhi_threshold
    out["pass_extra_share"] = out["extra_share"].fillna(0.0) > extra_share_threshold
    out["pass_ratio"] = out["import_export_ratio"].fillna(0.0) > import_export_ratio
    out["flagged"] = out["pass_hhi"] & out["pass_extra_share"] & out["pass_ratio"]
    out = out.rename(columns={"t": "year"}).sort_values(["k", "year"], kind="stable").reset_index(drop=True)
    out.attrs.update(
        screen="ec",
        thresholds={"hhi": hhi_threshold, "extra_share": extra_share_threshold, "ratio": import_export_ratio},
        importer_codes=tuple(int(c) for c in codes),
    )
    return out[
        ["k", "year", "total_imports_kusd", "extra_imports_kusd", "extra_exports_kusd", "hhi_extra", "extra_share",
         "import_export_ratio", "pass_hhi", "pass_extra_share", "pass_ratio", "flagged"]
    ]


# ------------------------------------------------------------------ CEPII GeoDep
def geodep_yearly(flows: pd.DataFrame, importer_codes: Iterable[int]) -> pd.DataFrame:
    """GeoDep criteria values per (k, year): importer HHI (extra-set suppliers), world-export
    HHI (all exporters of k), importer's imports / exports of k (extra-set; 9999 when it exports
    none of k, NaN when it neither imports nor exports k), values in kUSD."""
    flows = _check_flows(flows)
    codes = _codes(importer_codes, "importer_codes")
    extra_in, _, extra_out = _importer_side(flows, codes)
    keys = ["k", "t"]
    grid = flows[keys].drop_duplicates()
    h_imp = hhi_by(extra_in, keys).rename(columns={"total_kusd": "imports_kusd", "hhi": "hhi_importer"})
    h_world = hhi_by(flows, keys).rename(columns={"total_kusd": "world_exports_kusd", "hhi": "hhi_world_exports"})
    exp = _sum_by(extra_out, keys, "exports_kusd")
    out = grid.merge(h_imp, on=keys, how="left").merge(h_world, on=keys, how="left").merge(exp, on=keys, how="left")
    out[["imports_kusd", "exports_kusd"]] = out[["imports_kusd", "exports_kusd"]].fillna(0.0)
    out["import_export_ratio"] = _ratio(out["imports_kusd"], out["exports_kusd"], GEODEP_ZERO_EXPORT_RATIO)
    return out.rename(columns={"t": "year"}).sort_values(["k", "year"], kind="stable").reset_index(drop=True)


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
    yearly = geodep_yearly(flows, importer_codes)
    yearly = yearly.assign(
        c_importer=yearly["hhi_importer"].fillna(0.0) > hhi_importer,
        c_world=yearly["hhi_world_exports"].fillna(0.0) > hhi_world_exports,
        c_ratio=yearly["import_export_ratio"].fillna(0.0) > ratio,
    )
    yearly["c_all"] = yearly["c_importer"] & yearly["c_world"] & yearly["c_ratio"]
    counts = yearly.groupby("k", sort=True)[["c_importer", "c_world", "c_ratio", "c_all"]].sum()
    latest = yearly.sort_values(["k", "year"]).groupby("k", sort=True).tail(1).set_index("k")
    out = latest[["year", "imports_kusd", "exports_kusd", "world_exports_kusd", "hhi_importer", "hhi_world_exports",
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
    out.attrs.update(
        screen="geodep",
        thresholds={"hhi_importer": hhi_importer, "hhi_world_exports": hhi_world_exports, "ratio": ratio},
        importer_codes=tuple(int(c) for c in _codes(importer_codes, "importer_codes")),
        min_years=need,
        window_years=tuple(win_years),
    )
    return out


# ------------------------------------------------------------------ single country (Korea)
def single_country_screen(
    flows: pd.DataFrame,
    importer_codes: Iterable[int],
    *,
    thresholds: Sequence[float] = (0.5, 0.7),
    supplier: int | None = None,
    stage: str | None = None,
    min_value_kusd: float = 0.0,
    year: int | None = None,
    stages: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Korea-style screen: products where one supplier holds more than each threshold
    of the importer's (extra-set) imports, one row per (product, year).

    ``supplier`` (BACI code) restricts the test to that supplier's share (e.g. China);
    otherwise the top supplier counts (ties: lowest code). ``stage`` keeps products of
    one value-chain stage, from ``stages`` (DataFrame with k, stage) or
    ``optimize.data.stages``. Products with imports below ``min_value_kusd`` are dropped.
    Columns ``above_<pct>`` per threshold and ``flagged`` (above the lowest threshold);
    ``count_flags`` gives the counts.
    """
    flows = _select_years(_check_flows(flows), year)
    codes = _codes(importer_codes, "importer_codes")
    ths = sorted(float(x) for x in thresholds)
    if not ths or any(not (0.0 < x < 1.0) for x in ths):
        raise InputError(f"thresholds {list(thresholds)}", field="thresholds", fix="give shares strictly between 0 and 1")
    extra_in, _, _ = _importer_side(flows, codes)
    keys = ["k", "t"]
    per = extra_in.groupby(keys + ["i"], sort=True, observed=True)["v"].sum().reset_index()
    per["total_kusd"] = per.groupby(keys, sort=True, observed=True)["v"].transform("sum")
    per = per[per["total_kusd"] > 0]
    per["share"] = per["v"] / per["total_kusd"]
    # top supplier: largest value, ties broken by lowest exporter code (deterministic)
    top = per.sort_values(keys + ["v", "i"], ascending=[True, True, False, True], kind="stable")
    top = top.groupby(keys, sort=True).head(1)
    out = top.rename(columns={"i": "top_supplier", "share": "top_share"})[keys + ["total_kusd", "top_supplier", "top_share"]]
    if supplier is not None:
        sup = per[per["i"] == int(supplier)][keys + ["share"]].rename(columns={"share": "supplier_share"})
        out = out.merge(sup, on=keys, how="left")
        out["supplier_share"] = out["supplier_share"].fillna(0.0)
        out["supplier"] = int(supplier)
        tested = out["supplier_share"]
    else:
        tested = out["top_share"]
    for th in ths:
        out[f"above_{round(th * 100):d}"] = tested.to_numpy() > th
    out["flagged"] = tested.to_numpy() > ths[0]
    out = out[out["total_kusd"] >= min_value_kusd]
    if stage is not None:
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
        out = out[out["stage"] == stage]
    out = out.rename(columns={"t": "year"}).sort_values(["k", "year"], kind="stable").reset_index(drop=True)
    out.attrs.update(
        screen="single",
        thresholds={"share": ths},
        supplier=supplier,
        importer_codes=tuple(int(c) for c in codes),
    )
    return out


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


# ------------------------------------------------------------------ screens beside a re-allocation
def allocation_supplier_table(allocation) -> pd.DataFrame:
    """Per (k, exporter) flows before/after of an ``engine.Allocation`` (kUSD)."""
    inst = allocation.instance
    return pd.DataFrame(
        {
            "k": np.asarray(inst.products)[inst.pair_product],
            "i": np.asarray(inst.pair_exporter, dtype=np.int64),
            "v_before": np.asarray(inst.x0_kusd, dtype=float),
            "v_after": np.asarray(allocation.x_after_kusd, dtype=float),
            "is_risk": np.asarray(inst.is_risk, dtype=bool),
        }
    )


def fixability(screen: pd.DataFrame, allocation) -> pd.DataFrame:
    """For every flagged product of ``screen``, whether the re-allocation un-flags it.

    Recomputes the importer-side criteria from the allocation's flows after (same
    importer set; suppliers inside the set excluded as in the screens): risk share,
    top-supplier share, extra-set HHI and, for EC/GeoDep, extra-set imports (exports
    are unchanged by a re-allocation). ``fixed`` is True when the product would no
    longer be flagged; ``in_allocation`` is False for products the instance lacks.
    Uses the latest screened year per product.
    """
    kind = screen.attrs.get("screen")
    if kind not in {"ec", "geodep", "single"}:
        raise InputError("screen DataFrame lacks its screen kind", field="attrs['screen']",
                         fix="pass the output of ec_screen, geodep_screen or single_country_screen")
    ycol = "latest_year" if kind == "geodep" else "year"
    flagged = screen[screen["flagged"]].sort_values(["k", ycol]).groupby("k", sort=True).tail(1)
    inst = allocation.instance
    members = np.asarray(inst.importer_codes, dtype=np.int64)
    pairs = allocation_supplier_table(allocation)
    pairs = pairs[~pairs["i"].isin(members)]
    total_b = pairs.groupby("k")["v_before"].transform("sum")
    total_a = pairs.groupby("k")["v_after"].transform("sum")
    pairs = pairs.assign(
        sb=np.where(total_b > 0, pairs["v_before"] / total_b.where(total_b > 0, 1), 0.0),
        sa=np.where(total_a > 0, pairs["v_after"] / total_a.where(total_a > 0, 1), 0.0),
    )
    g = pairs.assign(sb2=pairs["sb"] ** 2, sa2=pairs["sa"] ** 2,
                     rb=pairs["v_before"].where(pairs["is_risk"], 0.0), ra=pairs["v_after"].where(pairs["is_risk"], 0.0))
    agg = g.groupby("k", sort=True).agg(
        extra_imports_before_kusd=("v_before", "sum"), extra_imports_after_kusd=("v_after", "sum"),
        hhi_extra_before=("sb2", "sum"), hhi_extra_after=("sa2", "sum"),
        top_share_before=("sb", "max"), top_share_after=("sa", "max"),
        risk_before_kusd=("rb", "sum"), risk_after_kusd=("ra", "sum"),
    )
    tot_all = pd.Series(np.asarray(inst.total_kusd, dtype=float), index=np.asarray(inst.products), name="total_kusd")
    agg = agg.join(tot_all, how="left")
    agg["risk_share_before"] = agg["risk_before_kusd"] / agg["total_kusd"]
    agg["risk_share_after"] = agg["risk_after_kusd"] / agg["total_kusd"]
    if kind == "single" and screen.attrs.get("supplier") is not None:
        sup = int(screen.attrs["supplier"])
        s = pairs[pairs["i"] == sup].set_index("k")[["sb", "sa"]]
        agg["supplier_share_before"] = s["sb"].reindex(agg.index).fillna(0.0)
        agg["supplier_share_after"] = s["sa"].reindex(agg.index).fillna(0.0)
    out = flagged.merge(agg.reset_index().rename(columns={"index": "k"}), on="k", how="left")
    out["in_allocation"] = out["extra_imports_after_kusd"].notna()
    th = screen.attrs["thresholds"]
    if kind == "single":
        col = "supplier_share_after" if "supplier_share_after" in out else "top_share_after"
        still = out[col] > min(th["share"])
    elif kind == "ec":
        share_after = _ratio(out["extra_imports_after_kusd"], out["total_imports_kusd"])
        ratio_after = _ratio(out["extra_imports_after_kusd"], out["extra_exports_kusd"])
        still = (out["hhi_extra_after"] > th["hhi"]) & (share_after > th["extra_share"]) & (ratio_after > th["ratio"])
    else:
        # the re-allocation changes the latest year only: swap that year's all-criteria outcome
        world = out["hhi_world_exports"].fillna(0.0) > th["hhi_world_exports"]
        before = (out["hhi_importer"].fillna(0.0) > th["hhi_importer"]) & world & (
            out["import_export_ratio"].fillna(0.0) > th["ratio"])
        ratio_after = _ratio(out["extra_imports_after_kusd"], out["exports_kusd"], GEODEP_ZERO_EXPORT_RATIO)
        after = (out["hhi_extra_after"] > th["hhi_importer"]) & world & (ratio_after > th["ratio"])
        n_after = out["n_years_all_criteria"] - before.astype(int) + after.astype(int)
        still = n_after >= screen.attrs["min_years"]
    out["fixed"] = out["in_allocation"] & ~still.fillna(True).astype(bool)
    return out.sort_values("k", kind="stable").reset_index(drop=True)
