"""How well a re-allocation predicted what trade did: the model's gains of Y0 against the realised changes
from Y0 to Y1, per (product, exporter) pair of the importer's imports (values USD).

``pair_changes`` lines up the model's predicted gain (after - before, Y0's run) with the realised change
(Y1's imports - Y0's) of every non-risk pair of the Y0 products (a supplier new in Y1 has predicted 0);
``fit`` gives Spearman's rank correlation (``scipy.stats.spearmanr``) and ``captured_share``: the part of
the realised gains of non-risk suppliers (positive changes) that went to pairs the model gave a gain.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Columns of the per-pair comparison (``backtest_pairs.csv``).
PAIR_COLUMNS = ("k", "exporter", "exporter_code", "before_usd", "predicted_usd", "realised_usd")


def pair_changes(flows0: pd.DataFrame, flows1: pd.DataFrame) -> pd.DataFrame:
    """``flows0``: the Y0 run's flows table (k, exporter, exporter_code, before_usd, after_usd, is_risk);
    ``flows1``: the Y1 run's (its ``before_usd`` = the realised imports). Returns ``PAIR_COLUMNS`` for the
    non-risk pairs of the Y0 products (pairs of either year), sorted by (k, exporter_code)."""
    risk = set(flows0.loc[flows0["is_risk"].astype(bool), "exporter_code"].astype(int))
    zero = flows0.loc[~flows0["is_risk"].astype(bool)]
    y0 = zero.assign(predicted_usd=zero["after_usd"] - zero["before_usd"])[
        ["k", "exporter", "exporter_code", "before_usd", "predicted_usd"]]
    one = flows1.loc[flows1["k"].isin(set(flows0["k"])) & ~flows1["exporter_code"].astype(int).isin(risk)]
    one = one[["k", "exporter", "exporter_code", "before_usd"]].rename(columns={"before_usd": "y1_usd"})
    both = y0.merge(one, on=["k", "exporter_code"], how="outer", suffixes=("", "_1"))
    both["exporter"] = both["exporter"].fillna(both.pop("exporter_1"))
    both = both.fillna({"before_usd": 0.0, "predicted_usd": 0.0, "y1_usd": 0.0})
    both["realised_usd"] = both.pop("y1_usd") - both["before_usd"]
    both["exporter_code"] = both["exporter_code"].astype(int)
    return both.sort_values(["k", "exporter_code"], kind="stable").reset_index(drop=True)[list(PAIR_COLUMNS)]


def fit(pairs: pd.DataFrame) -> dict:
    """{spearman, captured_share, n_pairs} of ``pair_changes`` rows; NaN where undefined (constant ranks,
    no realised gain)."""
    from scipy.stats import spearmanr

    pred = pairs["predicted_usd"].to_numpy(dtype=float)
    real = pairs["realised_usd"].to_numpy(dtype=float)
    rho = np.nan
    if len(pairs) > 1 and np.ptp(pred) > 0 and np.ptp(real) > 0:
        rho = float(spearmanr(pred, real).statistic)
    gains = np.clip(real, 0.0, None)
    captured = float(gains[pred > 0].sum() / gains.sum()) if gains.sum() > 0 else np.nan
    return {"spearman": rho, "captured_share": captured, "n_pairs": int(len(pairs))}


def best_cap(table: pd.DataFrame) -> tuple[str, float] | None:
    """(cap basis, cap in pp) whose predicted cut of the risk share is closest to the realised cut (ties: the
    smaller cap, then the basis listed first); None without a finite gap."""
    gap = (table["predicted_cut"] - table["realised_cut"]).abs()
    ok = table.loc[gap.notna()].assign(gap=gap[gap.notna()]).sort_values(["gap", "cap_pp"], kind="stable")
    return (str(ok["cap_basis"].iloc[0]), float(ok["cap_pp"].iloc[0])) if len(ok) else None


def all_shares(instance, x_after_kusd) -> tuple[float, float]:
    """The basket's risk share (all risk countries, 0..1) before and after ``x_after_kusd`` (kUSD): the ``ALL``
    row of the run's exposure table (``exposure.cell_metrics`` of the kernel's totals)."""
    from optimize.analysis.exposure import cell_metrics
    from optimize.model.kernel import totals_of

    m = cell_metrics(totals_of(instance, x_after_kusd))
    return float(m.share_before[0, -1]), float(m.share_after[0, -1])


def pair_flows(instance, x_after_kusd, countries: pd.DataFrame) -> pd.DataFrame:
    """The run's flows table (``metrics.flows_table``: one row per pair, USD) of ``instance`` with flows after
    ``x_after_kusd`` (kUSD; ``instance.x0_kusd``: the observed flows, nothing solved)."""
    from optimize.analysis.metrics import flows_table
    from optimize.units import kusd_to_usd

    x0, x1 = (kusd_to_usd(np.asarray(x, dtype=float)) for x in (instance.x0_kusd, x_after_kusd))
    return flows_table(instance, x0, x1, countries)[0]
