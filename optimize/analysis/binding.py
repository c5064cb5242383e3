"""Binding caps: which alternative exporters' caps limit the cut, and what one more
percentage point of cap would remove (kUSD of risk imports).

Per product the LP separates (docs/model.md, closed form): while risk imports remain
after the re-allocation, every alternative sits at its upper bound and one more kUSD
of cap for any of them removes one kUSD of risk imports (times the risk weight of the
highest-weight risk supplier still selling, since the LP cuts that one first). When
the product ends with no risk imports, no cap binds (marginal 0).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from optimize.model.instance import Instance
from optimize.model.lp import closed_form
from optimize.vocab import DEFAULT_CAP_BASIS

#: A pair's cap binds in the run's binding table when its marginal exceeds this.
MARGINAL_TOL = 1e-9


def cap_basis_kusd(instance: Instance) -> np.ndarray:
    """(N,) the quantity the cap's percentage points apply to (kUSD), from ``meta['cap_basis']``."""
    basis = instance.meta.get("cap_basis", DEFAULT_CAP_BASIS)
    if basis == "importer-market":
        return np.asarray(instance.total_kusd, dtype=float)[instance.pair_product]
    if basis == "rest-of-world":
        return np.asarray(instance.row_exports_kusd, dtype=float)
    return np.asarray(instance.world_exports_kusd, dtype=float)


def _x_after(instance: Instance, allocation) -> np.ndarray:
    """Flows after (kUSD): the allocation's, or the closed-form optimum (``lp.closed_form``, default rules)."""
    if allocation is not None:
        return np.asarray(allocation.x_after_kusd, dtype=float)
    return closed_form(instance)


def binding_caps(instance: Instance, allocation=None, *, rel_tol: float = 1e-9) -> pd.DataFrame:
    """One row per alternative pair with a positive cap, sorted by (k, exporter).

    Columns (kUSD unless stated): ``k``, ``exporter``, ``cap_kusd``, ``used_kusd``
    (x after - x today), ``binds`` (at its upper bound while risk imports remain),
    ``marginal`` (risk kUSD removed per extra kUSD of cap: ``allocation.cap_marginal``
    when given, else recomputed), ``one_pp_kusd`` (1% of the cap basis),
    ``extra_cap_kusd`` (what +1 pp adds, limited by the exporter's exports outside the
    importer), ``removed_per_pp_kusd`` = marginal x 1% of the basis (linear) and
    ``removed_per_pp_exact_kusd`` (the re-solved change: extra cap limited by the
    residual risk of the product's highest-weight risk suppliers).
    """
    x = _x_after(instance, allocation)
    p = instance.pair_product
    n_p = instance.n_products
    x0 = np.asarray(instance.x0_kusd, dtype=float)
    up = np.asarray(instance.upper_kusd, dtype=float)
    cap = np.asarray(instance.cap_kusd, dtype=float)
    risk = np.asarray(instance.is_risk, dtype=bool)
    alt = np.asarray(instance.alternatives(), dtype=bool) & ~risk
    w = np.asarray(instance.risk_weight, dtype=float)
    scale = np.maximum(np.asarray(instance.total_kusd, dtype=float)[p], 1.0)
    tol = rel_tol * scale

    remaining = risk & (x > tol)
    w_top = np.full(n_p, 0.0)
    np.maximum.at(w_top, p[remaining], w[remaining])
    at_top = remaining & np.isclose(w, w_top[p])
    residual_top = np.bincount(p, weights=np.where(at_top, x, 0.0), minlength=n_p)

    cap_active = up >= x0 + cap - tol  # the cap, not a share limit or ban, sets the upper bound
    at_upper = x >= up - tol
    binds = alt & (cap > 0) & at_upper & cap_active & (w_top[p] > 0)
    if allocation is not None and getattr(allocation, "cap_marginal", None) is not None:
        marginal = np.asarray(allocation.cap_marginal, dtype=float)
    else:
        marginal = np.where(binds, w_top[p], 0.0)

    basis = cap_basis_kusd(instance)
    one_pp = basis / 100.0
    row = np.asarray(instance.row_exports_kusd, dtype=float)
    extra_cap = np.where(alt & cap_active, np.maximum(np.minimum(cap + one_pp, row) - cap, 0.0), 0.0)
    exact = np.where(binds, np.minimum(extra_cap, residual_top[p]) * w_top[p], 0.0)

    keep = alt & (cap > 0)
    out = pd.DataFrame(
        {
            "k": np.asarray(instance.products)[p[keep]],
            "exporter": np.asarray(instance.pair_exporter)[keep].astype(np.int64),
            "cap_kusd": cap[keep],
            "used_kusd": (x - x0)[keep],
            "binds": binds[keep],
            "marginal": marginal[keep],
            "one_pp_kusd": one_pp[keep],
            "extra_cap_kusd": extra_cap[keep],
            "removed_per_pp_kusd": (marginal * one_pp)[keep],
            "removed_per_pp_exact_kusd": exact[keep],
        }
    )
    return out.sort_values(["k", "exporter"], kind="stable").reset_index(drop=True)


def top_binding_exporters(table: pd.DataFrame, sectors: pd.DataFrame | None = None, *, n: int = 10) -> pd.DataFrame:
    """Top ``n`` exporters per sector by risk imports one more pp of their cap would remove.

    ``table`` is ``binding_caps`` output; ``sectors`` a DataFrame[k, sector] (one sector
    per product; products without one go to "other"; None = one sector "all").
    Columns: sector, exporter, n_binding (products), removed_per_pp_kusd,
    removed_per_pp_exact_kusd, rank (1 = largest).
    """
    b = table[table["binds"]]
    if sectors is None:
        b = b.assign(sector="all")
    else:
        smap = sectors.drop_duplicates("k").set_index("k")["sector"]
        b = b.assign(sector=b["k"].map(smap).fillna("other").astype(str))
    g = (
        b.groupby(["sector", "exporter"], sort=True)
        .agg(n_binding=("k", "size"), removed_per_pp_kusd=("removed_per_pp_kusd", "sum"),
             removed_per_pp_exact_kusd=("removed_per_pp_exact_kusd", "sum"))
        .reset_index()
        .sort_values(["sector", "removed_per_pp_kusd", "exporter"], ascending=[True, False, True], kind="stable")
    )
    g["rank"] = g.groupby("sector", sort=True).cumcount() + 1
    return g[g["rank"] <= n].reset_index(drop=True)


def binding_table(flows: pd.DataFrame, sectors: np.ndarray, sector_of_pair: np.ndarray, marginal: np.ndarray,
                  exp_names: np.ndarray, exp_pos: np.ndarray, per_sector: int = 5) -> pd.DataFrame:
    """The run's ``binding`` table: per sector, the exporters whose caps bind with the largest marginal exposure
    reduction (``marginal``: the allocation's ``cap_marginal`` per pair of the run's ``flows`` table, USD).

    ``sectors``/``exp_names``: the labels; ``sector_of_pair``/``exp_pos``: each pair's position in them."""
    m = (marginal > MARGINAL_TOL) & ~flows["is_risk"].to_numpy()
    rows = np.flatnonzero(m)
    cols = ["sector", "exporter", "name", "n_products", "cap_usd", "cap_marginal_max", "cap_marginal_mean"]
    if rows.shape[0] == 0:
        return pd.DataFrame(columns=cols)
    code = exp_pos[rows]  # one integer per (sector, exporter), in their order; labels per group, not per pair
    df = pd.DataFrame({"key": sector_of_pair[rows] * (int(code.max()) + 1) + code, "row": rows,
                       "cap_usd": flows["cap_usd"].to_numpy()[rows], "marginal": marginal[rows]})
    out = df.groupby("key", sort=True).agg(
        n_products=("marginal", "size"), cap_usd=("cap_usd", "sum"), row=("row", "first"),
        cap_marginal_max=("marginal", "max"), cap_marginal_mean=("marginal", "mean")).reset_index(drop=True)
    first = out["row"].to_numpy()
    out.insert(0, "sector", pd.Series(sectors[sector_of_pair[first]].astype(object)))  # labels per group
    out["exporter"] = flows["exporter"].take(first).to_numpy().astype(str)
    out["name"] = exp_names[exp_pos[first]].astype(str)
    out = out.sort_values(["sector", "cap_marginal_max", "cap_usd", "exporter"], ascending=[True, False, False, True])
    return out.groupby("sector", sort=True).head(per_sector).reset_index(drop=True)[cols]
