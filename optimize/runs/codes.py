"""The data's HS revision, and the user's HS6 codes expressed in it (said so, never silently cut).

``known_revision`` is the revision known before reading (``data.hs_revision``, the file name,
the embedded sample); ``prepare`` detects it from the codes otherwise
(``revision.detect_revision``). ``convert_scenario`` and ``convert_basket`` express the user's
codes (``basket.products``, ``ban.products``, ``cap.product_pp`` keys, a basket file) in the
data's revision: a code absent from that revision's BACI product list but valid in another is
converted with the UNSD correlation (``concordance.concord_codes``) and one console line; a code
valid in no revision is a ``ScenarioError`` naming it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from optimize.config.scenario import Scenario
from optimize.data.revision import FROM_NAME, FROM_SETTING, SAMPLE, Revision, code_set, detect_revision, revisions_of
from optimize.data.trade import TradeData
from optimize.errors import ScenarioError
from optimize.vocab import plural

log = logging.getLogger("tradeopt.run")  # prepare logs each conversion line here (the console line)
__all__ = ["Conversion", "Revision", "known_revision", "convert_codes", "convert_scenario", "convert_basket",
           "revision_mismatch", "shipped_basket_note"]


@dataclass(frozen=True)
class Conversion:
    """User codes of ``what`` (e.g. ``basket.products``) converted from ``from_revisions`` to ``to_revision``:
    ``n_in`` codes became ``n_out``; ``changed`` maps each converted code to its targets (empty = none)."""

    what: str
    from_revisions: tuple[str, ...]
    to_revision: str
    n_in: int
    n_out: int
    changed: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def line(self) -> str:
        """``"basket HS22 -> HS17: 4 codes -> 4 (854159 -> 854150)"``."""
        pairs = ", ".join(f"{k} -> {'+'.join(v) or 'none'}" for k, v in self.changed.items())
        return (f"{self.what} {'/'.join(self.from_revisions)} -> {self.to_revision}: "
                f"{plural(self.n_in, 'code')} -> {self.n_out} ({pairs})")

    def as_dict(self) -> dict:
        return {"what": self.what, "from": list(self.from_revisions), "to": self.to_revision, "n_in": self.n_in,
                "n_out": self.n_out, "changed": {k: list(v) for k, v in self.changed.items()}}


def known_revision(scen: Scenario, data) -> Revision | None:
    """The data's HS revision if known before reading: the scenario key, a TradeData's own, the file name,
    or the embedded sample (HS2022); None when it must be detected from the codes."""
    from optimize.data.baci import parse_name
    from optimize.data.hs_links import normalize_revision

    if scen.data.hs_revision:
        return Revision(normalize_revision(scen.data.hs_revision), FROM_SETTING)
    if isinstance(data, TradeData):
        return Revision(data.hs_revision, FROM_NAME) if data.hs_revision else None
    if isinstance(data, pd.DataFrame):
        return None
    path = data if isinstance(data, (str, Path)) else (scen.data.baci or None)
    if path is None:
        return Revision("HS22", SAMPLE)
    hs = parse_name(Path(path).name).get("hs")
    return Revision(hs.upper(), FROM_NAME) if hs and hs.upper().startswith("HS") else None


def shipped_basket_note(scen: Scenario, revision: str | None) -> str | None:
    """What mapping the shipped HS2022 basket to the data's revision did (counts, cut fan-outs, lost codes);
    None for HS22 data or a user's basket."""
    if scen.basket.file or scen.basket.products or revision in (None, "HS22"):
        return None
    from optimize.data.basket import shipped_basket

    rep = shipped_basket(revision)[1]  # the mapping load_basket made (once per revision)
    return (f"shipped basket {rep.summary()}" + (f"; cut: {', '.join(rep.capped)}" if rep.capped else "")
            + (f"; lost: {', '.join(rep.lost)}" if rep.lost else ""))


def revision_mismatch(rev: Revision, codes, year: int) -> str | None:
    """A warning when the data's codes of ``year`` are not all in the product list of the revision taken
    from the file name or the setting (the file may be of another revision); None when they are."""
    if rev.source not in (FROM_NAME, FROM_SETTING) or not rev.code:
        return None
    foreign = sorted(set(codes) - code_set(rev.code))
    if not foreign:
        return None
    best = detect_revision(codes, year)
    hint = (f"; they fit {best.code} better ({best.detail}): if the file is {best.code}, set "
            f"--set data.hs_revision={best.code}") if best.code != rev.code else ""
    return (f"{len(foreign)} of {len(set(codes))} product codes in {year} are not in the {rev.code} product list "
            f"(revision {rev.source}), e.g. {', '.join(foreign[:5])}{hint}")


def convert_codes(codes, to_revision: str, what: str) -> tuple[dict[str, list[str]], Conversion | None]:
    """Each of ``codes`` -> its codes in ``to_revision`` (itself when valid there), and the Conversion (None
    when nothing changed). A code valid in no revision raises ``ScenarioError`` naming ``what`` and it."""
    from optimize.data.concordance import concord_codes

    codes = list(dict.fromkeys(str(c).strip().zfill(6) for c in codes))
    valid = code_set(to_revision)
    outside = [c for c in codes if c not in valid]
    out = {c: [c] for c in codes if c in valid}
    if not outside:
        return out, None
    nowhere = [c for c in outside if not revisions_of(c)]
    if nowhere:
        raise ScenarioError(f"{plural(len(nowhere), 'code')} valid in no HS revision: {', '.join(nowhere)}",
                            field=what, fix="use 6-digit codes of a CEPII BACI product list (HS92 ... HS22)")
    own = detect_revision(codes).code  # the list's own revision: where its codes are found together
    by_source: dict[str, list[str]] = {}
    for c in outside:
        revs = revisions_of(c)
        by_source.setdefault(own if own in revs else revs[-1], []).append(c)
    for src, group in sorted(by_source.items()):
        pairs = concord_codes(group, src, to_revision).pairs
        for c in group:
            out[c] = sorted(pairs.loc[pairs["k_from"] == c, "k_to"])
    changed = {c: tuple(out[c]) for c in outside}
    n_out = len({t for c in codes for t in out[c]})
    conv = Conversion(what, tuple(sorted(by_source)), to_revision, len(codes), n_out, changed)
    return {c: out[c] for c in codes}, conv


def _six_digit(token: str) -> bool:
    return token.isdigit() and len(token) in (5, 6)


def convert_scenario(scen: Scenario, revision: str) -> tuple[Scenario, list[Conversion]]:
    """``scen`` with ``basket.products`` codes, ``ban.products`` and ``cap.product_pp`` keys in ``revision``."""
    from optimize.data.basket import product_tokens

    updates: dict = {}
    convs: list[Conversion] = []
    if scen.basket.products:
        tokens, _ = product_tokens(scen.basket.products)
        mapping, conv = convert_codes([t for t in tokens if _six_digit(t)], revision, "basket.products")
        if conv:
            convs.append(conv)
            new = [t for tok in tokens for t in (mapping[tok.zfill(6)] if _six_digit(tok) else [tok])]
            updates["basket.products"] = ",".join(dict.fromkeys(new))
    if scen.ban.products:
        mapping, conv = convert_codes(scen.ban.products, revision, "ban.products")
        if conv:
            convs.append(conv)
            updates["ban.products"] = sorted({t for v in mapping.values() for t in v})
    if scen.cap.product_pp:
        mapping, conv = convert_codes(list(scen.cap.product_pp), revision, "cap.product_pp")
        if conv:
            convs.append(conv)
            pp: dict[str, float] = {}
            for k, v in scen.cap.product_pp.items():  # merged keys keep the strictest cap
                for t in mapping[str(k).zfill(6)]:
                    pp[t] = min(pp.get(t, v), v)
            updates["cap.product_pp"] = pp
    return (scen.update(updates, source=f"{scen.name} (codes in {revision})") if updates else scen), convs


def convert_basket(basket: pd.DataFrame, revision: str) -> tuple[pd.DataFrame, Conversion | None]:
    """A user basket (``k``, ``sector``, ...) with its codes in ``revision``; a target reached from several
    codes keeps the first row's sector."""
    mapping, conv = convert_codes(basket["k"], revision, "basket")
    if conv is None:
        return basket, None
    rows = basket.assign(k=basket["k"].map(lambda k: mapping[k])).explode("k").dropna(subset=["k"])
    return rows.drop_duplicates("k").sort_values("k", kind="mergesort").reset_index(drop=True), conv
