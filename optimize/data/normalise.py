"""Raw BACI tables cast to ``ARROW_SCHEMA`` before any filter or check (Arrow kernels).

HS codes are trimmed, lose a trailing '.0' and are zero-padded to six characters;
empty codes and null tokens become null (reported as missing by ``validate``); text
quantities are trimmed with null tokens made null. Columns already in the schema's
form skip the work: six-digit codes are left as they are, digit-only codes only padded.
"""
from __future__ import annotations

import pyarrow as pa

from optimize.data.trade import ARROW_SCHEMA
from optimize.data.validate import NULL_TOKENS


def normalise_table(tbl: pa.Table) -> pa.Table:
    """Cast a raw table to ``ARROW_SCHEMA`` before any filter: k trimmed, '.0' dropped and zero-padded to 6
    (empty or a null token -> null, reported as missing), text q trimmed with null tokens -> null.
    Raises ArrowInvalid."""
    import pyarrow.compute as pc

    tokens = pa.array(list(NULL_TOKENS))
    cols = []
    for f in ARROW_SCHEMA:
        col = tbl[f.name]
        if f.name == "k":
            col = normalise_codes(col)
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = pc.utf8_trim_whitespace(col)
            is_null = pc.is_in(pc.utf8_upper(col), value_set=tokens)
            col = pc.if_else(is_null, pa.scalar(None, pa.string()), col).cast(f.type)
        elif col.type != f.type:
            col = col.cast(f.type)
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=ARROW_SCHEMA)


def normalise_codes(col):
    """HS codes as ``normalise_table`` makes them: trimmed, '.0' dropped, zero-padded to 6; empty -> null."""
    import pyarrow.compute as pc

    if _plain_hs6(col):
        return col  # six digits already: trimming, '.0', null tokens and padding change nothing
    if _digits(col):
        return pc.utf8_lpad(col, width=6, padding="0")  # digits only (BACI CSVs drop leading zeros)
    col = pc.utf8_trim_whitespace(col.cast(pa.string()))
    col = pc.replace_substring_regex(col, pattern=r"\.0$", replacement="")
    col = pc.if_else(pc.is_in(pc.utf8_upper(col), value_set=pa.array(list(NULL_TOKENS))),
                     pa.scalar(None, pa.string()), col)
    return pc.utf8_lpad(col, width=6, padding="0")


def is_normal(tbl: pa.Table) -> bool:
    """True when ``normalise_table`` does no more than cast ``tbl``'s columns to ``ARROW_SCHEMA``: every HS
    code is six ASCII digits (text, no null) and no other column is text."""
    def text(c):
        return pa.types.is_string(tbl[c].type) or pa.types.is_large_string(tbl[c].type)
    k = tbl["k"]
    if any(text(c) for c in tbl.column_names if c != "k") or not text("k") or k.null_count:
        return False
    return _plain_hs6(k if pa.types.is_string(k.type) else k.cast(pa.string()))


def _plain_hs6(col) -> bool:
    """True when a column is text whose every value is six ASCII digits (no null)."""
    import pyarrow.compute as pc

    if not pa.types.is_string(col.type) or col.null_count:
        return False
    return bool(pc.all(pc.and_(pc.equal(pc.utf8_length(col), 6), pc.ascii_is_decimal(col))).as_py() is not False)


def _digits(col) -> bool:
    """True when a column is text whose every value is one or more ASCII digits (no null)."""
    import pyarrow.compute as pc

    if not pa.types.is_string(col.type) or col.null_count:
        return False
    return pc.all(pc.ascii_is_decimal(col)).as_py() is not False
