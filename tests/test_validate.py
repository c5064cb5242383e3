"""validate_flows: each defect is found, with the right rows, and clean tables pass."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.data.validate import raise_for_problems, validate_flows
from optimize.errors import DataError

KNOWN = {4, 56, 76, 156, 842}


def clean(n=4):
    return pd.DataFrame({"t": [2023] * n, "i": [4, 4, 156, 842][:n], "j": [56, 76, 56, 76][:n],
                         "k": ["010121", "850440", "850440", "271600"][:n], "v": [1.0, 2.0, 3.0, 4.0][:n],
                         "q": [np.nan, 1.0, 2.0, 3.0][:n]})


def kinds(problems):
    return {p.kind: p for p in problems}


def test_clean_passes():
    assert validate_flows(clean(), countries=KNOWN) == []


@pytest.mark.parametrize("col,value,kind,row", [
    ("v", -1.0, "negative", 3), ("v", np.inf, "non_finite", 2), ("v", np.nan, "missing_value", 1),
    ("k", "85044", "malformed_hs6", None), ("k", "8504A0", "malformed_hs6", 4), ("k", "1234567", "malformed_hs6", 2),
    ("i", 999, "unknown_country", 3), ("q", -5.0, "negative", 2),
])
def test_single_defect(col, value, kind, row):
    df = clean().astype({"k": object})
    r = row or 1
    if kind == "malformed_hs6" and value == "85044":  # 5 digits pad fine -> not a problem
        df.loc[0, col] = value
        assert validate_flows(df, countries=KNOWN) == []
        return
    df[col] = df[col].astype(object)
    df.loc[r - 1, col] = value
    found = kinds(validate_flows(df, file="f.csv", countries=KNOWN))
    assert kind in found
    assert found[kind].rows == (r,) and found[kind].count == 1 and found[kind].file == "f.csv"


def test_raw_strings_and_self_trade_and_years():
    raw = pd.DataFrame({"t": ["2023", "2022", "2023"], "i": ["4", "56", "x"], "j": ["56", "56", "4"],
                        "k": ["10121", "850440", "850440"], "v": ["1", "2", "3"], "q": ["NA", "   NA", ""]})
    found = kinds(validate_flows(raw, countries=KNOWN, expect_single_year=True))
    assert found["self_trade"].rows == (2,)
    assert found["non_numeric"].rows == (3,) and found["non_numeric"].field == "i"
    assert found["several_years"].rows == (2,)
    assert "negative" not in found and "missing_value" not in found  # NA quantities are allowed


def test_columns_and_empty():
    assert kinds(validate_flows(clean().drop(columns="q")))["missing_column"].field == "q"
    assert kinds(validate_flows(clean().assign(x=1)))["extra_column"].field == "x"
    assert kinds(validate_flows(clean().iloc[:0]))["empty"].count == 1


def test_raise_lists_all():
    df = clean()
    df.loc[1, "v"] = -3.0
    df.loc[3, "j"] = 12345
    with pytest.raises(DataError) as e:
        raise_for_problems(validate_flows(df, file="x.csv", countries=KNOWN))
    msg = str(e.value)
    assert "x.csv" in msg and "negative" in msg and "unknown_country" in msg and "rows 2" in msg and "rows 4" in msg


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=40))
def test_duplicates_oracle(keys):
    """Rows reported as duplicates are exactly the later repeats of a key (hand oracle with a set)."""
    codes = [4, 56, 76, 156]
    df = pd.DataFrame({"t": 2023, "i": [codes[a] for a, _, _ in keys], "j": [codes[b] + 1000 for _, b, _ in keys],
                       "k": [f"{c:06d}" for _, _, c in keys], "v": 1.0, "q": 1.0})
    seen, expect = set(), []
    for n, key in enumerate(keys, start=1):
        if key in seen:
            expect.append(n)
        seen.add(key)
    found = kinds(validate_flows(df))
    if expect:
        assert found["duplicate_key"].count == len(expect)
        assert found["duplicate_key"].rows == tuple(expect[:5])
    else:
        assert "duplicate_key" not in found
