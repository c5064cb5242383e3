"""Instance(s) -> LP arrays (CSR), and the closed-form optimum of the separable model.

Columns: for each instance in order, its N pair flows x (kUSD, pair order), then
one shortfall column per product that may end short (export bans). Rows: one
totals row per (instance, product) (``sum_e x + u = T``), then coupling rows:
``joint`` (an alternative's extra supply of a product summed over importers
<= its cap) and ``exporter_total`` (an exporter's extra over all products
<= pp% of its exports of those products). The share limit and bans are bounds,
already in ``Instance.upper_kusd``.

Joint cap rule: the shared cap of exporter a for product k is the *minimum* of
the instances' ``cap_kusd`` for (k, a) over every instance where a is an
alternative for k (a zero cap in one instance makes the shared cap zero). With the default world-exports basis the
p% part does not depend on the importer, so the minimum only picks the tightest
"no production increase" limit (exports outside the importer), which keeps
every instance's own bound valid as well.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimize.model.instance import Instance
from optimize.model.tiebreak import distribute
from optimize.solve.highs import HighsModel
from optimize.solve.problem import (  # noqa: F401  (re-exported for model users)
    ROW_EXPORTER_TOTAL,
    ROW_JOINT,
    ROW_OBJECTIVE,
    ROW_TOTAL,
    SHORTFALL_PENALTY,
    LPArrays,
)


def build_lp(instances: list[Instance], *, joint: bool = False, exporter_total_pp: float | None = None) -> LPArrays:
    """The exposure LP over ``instances`` (kUSD), with optional coupling rows."""
    n_inst = len(instances)
    sizes = np.array([inst.n_pairs for inst in instances], dtype=np.int64)
    col_start = np.concatenate([[0], np.cumsum(sizes)])
    n_pairs = int(col_start[-1])
    max_w = max(float(inst.risk_weight.max(initial=0.0)) for inst in instances)
    penalty = SHORTFALL_PENALTY * max(max_w, 1.0)

    # pair columns
    c = np.concatenate([inst.risk_weight for inst in instances])
    lo = np.concatenate([inst.lower() for inst in instances])
    up = np.concatenate([inst.upper_kusd for inst in instances])
    col_inst = np.repeat(np.arange(n_inst, dtype=np.int32), sizes)
    col_pair = np.concatenate([np.arange(s, dtype=np.int32) for s in sizes])
    col_prod = np.concatenate([inst.pair_product for inst in instances]).astype(np.int32)
    prod_start = np.concatenate([[0], np.cumsum([inst.n_products for inst in instances])])
    total_row_of_col = prod_start[col_inst] + col_prod

    # shortfall columns
    sf_inst, sf_prod = [], []
    for idx, inst in enumerate(instances):
        if inst.shortfall_allowed is not None:
            p = np.flatnonzero(inst.shortfall_allowed).astype(np.int32)
            sf_inst.append(np.full(p.shape[0], idx, dtype=np.int32))
            sf_prod.append(p)
    sf_inst = np.concatenate(sf_inst) if sf_inst else np.zeros(0, np.int32)
    sf_prod = np.concatenate(sf_prod) if sf_prod else np.zeros(0, np.int32)
    n_sf = sf_inst.shape[0]
    all_totals = np.concatenate([inst.total_kusd for inst in instances])
    sf_total = all_totals[prod_start[sf_inst] + sf_prod] if n_sf else np.zeros(0)

    c = np.concatenate([c, np.full(n_sf, penalty)])
    lo = np.concatenate([lo, np.zeros(n_sf)])
    up = np.concatenate([up, sf_total])
    col_inst = np.concatenate([col_inst, sf_inst])
    col_pair = np.concatenate([col_pair, np.full(n_sf, -1, dtype=np.int32)])
    col_prod = np.concatenate([col_prod, sf_prod])

    n_total_rows = int(prod_start[-1])
    totals = np.concatenate([inst.total_kusd for inst in instances])
    rows = [np.concatenate([total_row_of_col, prod_start[sf_inst] + sf_prod]).astype(np.int64)]
    cols = [np.arange(n_pairs + n_sf, dtype=np.int64)]
    row_lo, row_up = [totals], [totals]
    kinds = [np.full(n_total_rows, ROW_TOTAL, np.int8)]
    next_row = n_total_rows

    alt = np.concatenate([inst.alternatives() for inst in instances])
    alt_cols = np.flatnonzero(alt)
    x0_all = np.concatenate([inst.x0_kusd for inst in instances])
    alt_frame = pd.DataFrame({
        "col": alt_cols,
        "inst": col_inst[alt_cols],
        "hs6": np.concatenate([inst.products[inst.pair_product] for inst in instances])[alt_cols],
        "exporter": np.concatenate([inst.pair_exporter for inst in instances])[alt_cols],
        "x0": x0_all[alt_cols],
        "cap": np.concatenate([inst.cap_kusd for inst in instances])[alt_cols],
        "world": np.concatenate([inst.world_exports_kusd for inst in instances])[alt_cols],
    })

    if joint and n_inst > 1 and not alt_frame.empty:
        g = alt_frame.groupby(["hs6", "exporter"], sort=True)
        size = g["col"].transform("size").to_numpy()
        shared = alt_frame.loc[size > 1]
        if not shared.empty:
            gid = shared.groupby(["hs6", "exporter"], sort=True).ngroup().to_numpy()
            agg = shared.groupby(["hs6", "exporter"], sort=True).agg(x0=("x0", "sum"), cap=("cap", "min"))
            rows.append(next_row + gid)
            cols.append(shared["col"].to_numpy())
            row_lo.append(np.full(len(agg), -np.inf))
            row_up.append(agg["x0"].to_numpy() + agg["cap"].to_numpy())
            kinds.append(np.full(len(agg), ROW_JOINT, np.int8))
            next_row += len(agg)

    alt_frame = alt_frame.loc[alt_frame["cap"] > 0] if exporter_total_pp is not None else alt_frame
    if exporter_total_pp is not None and not alt_frame.empty:
        key = ["exporter"] if joint else ["inst", "exporter"]
        gid = alt_frame.groupby(key, sort=True).ngroup().to_numpy()
        x0_sum = alt_frame.groupby(key, sort=True)["x0"].sum()
        uniq = alt_frame.drop_duplicates(["hs6", "exporter"] if joint else ["inst", "hs6", "exporter"])
        world_sum = uniq.groupby(key, sort=True)["world"].sum()
        rows.append(next_row + gid)
        cols.append(alt_frame["col"].to_numpy())
        row_lo.append(np.full(len(x0_sum), -np.inf))
        row_up.append(x0_sum.to_numpy() + float(exporter_total_pp) / 100.0 * world_sum.to_numpy())
        kinds.append(np.full(len(x0_sum), ROW_EXPORTER_TOTAL, np.int8))
        next_row += len(x0_sum)

    r = np.concatenate(rows)
    cc = np.concatenate(cols)
    a = sp.csr_matrix((np.ones(r.shape[0]), (r, cc)), shape=(next_row, n_pairs + n_sf))
    a.sort_indices()
    return LPArrays(
        c=c.astype(float), col_lower=lo.astype(float), col_upper=up.astype(float),
        indptr=a.indptr.astype(np.int32), indices=a.indices.astype(np.int32), data=a.data.astype(float),
        row_lower=np.concatenate(row_lo).astype(float), row_upper=np.concatenate(row_up).astype(float),
        col_instance=col_inst, col_pair=col_pair, col_product=col_prod, row_kind=np.concatenate(kinds),
        instance_col_start=col_start, shortfall_penalty=penalty,
        meta={"joint": joint, "exporter_total_pp": exporter_total_pp},
    )


#: Exporter code of the merged non-risk column of a product (see ``merge_nonrisk``).
MERGED_EXPORTER = -1


def merge_nonrisk(instance: Instance) -> Instance:
    """The same separable LP with each product's non-risk pairs merged into one pair.

    Non-risk columns of a product have cost 0 and appear only in that product's
    totals row, so replacing them by one column bounded by the sums of their
    bounds is an exact reduction (the optimal exposure and the risk columns'
    values are unchanged). The tie-break then spreads the merged value over the
    real alternatives. This shrinks a full-year LP from ~1M to ~P*(1+|R|) columns.
    Not valid with coupling rows (joint capacity, exporter totals), which
    reference individual alternatives.
    """
    from dataclasses import replace

    P = instance.n_products
    risk = instance.is_risk
    nonrisk = ~risk
    pp = instance.pair_product
    has_nonrisk = np.bincount(pp[nonrisk], minlength=P) > 0
    merged_prod = np.flatnonzero(has_nonrisk).astype(np.int32)

    def sums(values: np.ndarray) -> np.ndarray:
        return np.bincount(pp[nonrisk], weights=values[nonrisk], minlength=P)[merged_prod]

    keep = np.flatnonzero(risk)
    alt_weights = instance.alternatives()[nonrisk].astype(float)
    alt_any = np.bincount(pp[nonrisk], weights=alt_weights, minlength=P)[merged_prod] > 0

    def cat(risk_part: np.ndarray, merged_part: np.ndarray) -> np.ndarray:
        return np.concatenate([risk_part[keep], merged_part])

    nan = np.full(merged_prod.shape[0], np.nan)
    return replace(
        instance,
        pair_product=np.concatenate([pp[keep], merged_prod]).astype(np.int32),
        pair_exporter=np.concatenate([instance.pair_exporter[keep],
                                      np.full(merged_prod.shape[0], MERGED_EXPORTER)]).astype(np.int32),
        x0_kusd=cat(instance.x0_kusd, sums(instance.x0_kusd)),
        cap_kusd=cat(instance.cap_kusd, sums(instance.cap_kusd)),
        upper_kusd=cat(instance.upper_kusd, sums(instance.upper_kusd)),
        is_risk=np.concatenate([np.ones(keep.shape[0], bool), np.zeros(merged_prod.shape[0], bool)]),
        risk_weight=cat(instance.risk_weight, np.zeros(merged_prod.shape[0])),
        world_exports_kusd=cat(instance.world_exports_kusd, nan),
        row_exports_kusd=cat(instance.row_exports_kusd, nan),
        x0_tonnes=cat(instance.x0_tonnes, nan),
        world_tonnes=cat(instance.world_tonnes, nan),
        lower_kusd=cat(instance.lower(), sums(instance.lower())),
        upper_base_kusd=None if instance.upper_base_kusd is None
        else cat(instance.upper_base_kusd, sums(instance.upper_base_kusd)),
        is_alternative=np.concatenate([np.zeros(keep.shape[0], bool), alt_any]),
    )


LP_SUFFIXES = (".lp", ".mps")


def check_lp_path(path: str | Path, *, overwrite: bool = False) -> Path:
    """Preflight of ``--save-lp``: a .lp/.mps file in a writable folder, not replacing a file unless ``overwrite``."""
    from optimize.atomic import check_out_file
    from optimize.errors import OutputError

    if Path(path).suffix.lower() not in LP_SUFFIXES:
        raise OutputError(f"cannot write the LP to {path}: unknown format {Path(path).suffix or '(no suffix)'}",
                          fix="name the file *.lp or *.mps")
    try:
        return check_out_file(path, overwrite=overwrite)
    except OutputError as exc:
        raise OutputError(f"cannot write the LP to {path}: {exc.message}", fix=exc.fix) from exc


def write_lp(lp: LPArrays, path: str | Path) -> Path:
    """Write the LP to ``path`` (format from the suffix: .mps or .lp) through HiGHS, atomically.

    A failure (unknown suffix, unwritable folder, HiGHS error) is ``OutputError`` naming the path.
    ``path`` itself is replaced if it exists (``check_lp_path`` is the caller's preflight).
    """
    from optimize.atomic import atomic_file
    from optimize.errors import OutputError

    check_lp_path(path, overwrite=True)
    suffix = Path(path).suffix.lower()
    with atomic_file(path, overwrite=True, suffix=suffix) as tmp:
        written = HighsModel(lp, algorithm=None).write(tmp)
        if not (written and _complete(tmp, suffix)):  # HiGHS does not see a short write (disk full, file size limit)
            raise OutputError(f"HiGHS could not write the whole LP to {path}",
                              fix="check the folder and free disk space, or name the file *.lp or *.mps")
    return Path(path)


def _complete(path: Path, suffix: str) -> bool:
    """True when ``path`` ends with the format's end line (``ENDATA`` for MPS, ``end`` for LP), flushed to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        size = os.fstat(fd).st_size
        tail = os.pread(fd, 64, max(0, size - 64))
    finally:
        os.close(fd)
    return tail.rstrip().endswith(b"ENDATA" if suffix == ".mps" else b"end")


def separable_totals(instance: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per product (P,) totals at the optimum of the separable model, kUSD:
    (non-risk flows after, risk flows after, shortfall). Alternatives first take
    as much as their upper bounds allow; risk covers the rest; shortfall what
    neither can (non-zero only where bans allow it)."""
    P = instance.n_products
    risk = instance.is_risk
    up = instance.upper_kusd
    pp = instance.pair_product
    nonrisk_up = np.bincount(pp, weights=np.where(risk, 0.0, up), minlength=P)
    risk_up = np.bincount(pp, weights=np.where(risk, up, 0.0), minlength=P)
    return separable_split(instance.total_kusd, nonrisk_up, risk_up)


def separable_split(total_kusd, nonrisk_up_kusd, risk_up_kusd) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The closed form (the one copy), per product: (non-risk after, risk after, shortfall), kUSD.

    ``total_kusd``: the imports to cover; ``nonrisk_up_kusd``/``risk_up_kusd``: the sums of the
    upper bounds of the non-risk and risk suppliers. Alternatives first take what their upper
    bounds allow, risk covers the rest, shortfall what neither can (bans only)."""
    nonrisk_after = np.minimum(nonrisk_up_kusd, total_kusd)
    risk_after = np.minimum(risk_up_kusd, total_kusd - nonrisk_after)
    return nonrisk_after, risk_after, np.maximum(total_kusd - nonrisk_after - risk_after, 0.0)


def closed_form(
    instance: Instance,
    *,
    risk_split: str = "proportional",
    spread: str = "proportional",
    priority: tuple[int, ...] = (),
) -> np.ndarray:
    """(N,) flows after (kUSD) of the separable model, without an LP solver.

    Risk after per product is ``max(0, R_k - C_k)`` (generalised to the bounds
    of bans and share limits); ties are broken by ``optimize.model.tiebreak``.
    """
    nonrisk_after, risk_after, _ = separable_totals(instance)
    return distribute(instance, nonrisk_after, risk_after, risk_split=risk_split, spread=spread, priority=priority)
