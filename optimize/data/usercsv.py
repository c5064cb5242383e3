"""The one reader of the small CSV tables a user hands tradeopt (a basket, elasticities, a list of codes, a
country or product table): every cell as text, and one error naming the file when it cannot be parsed."""
from __future__ import annotations

import pandas as pd

from optimize.errors import InputError, ScenarioError

#: What a failed parse raises: I/O errors, and ValueError (pandas' ParserError and EmptyDataError, bad UTF-8).
READ_FAILURES = (OSError, ValueError)


def read_user_csv(source, *, label: str, what: str, fix: str, error: type[InputError] = ScenarioError,
                  field: str | None = None, required: tuple[str, ...] = (), **options) -> pd.DataFrame:
    """``source`` (a path or a binary stream) as a DataFrame of text cells (an empty cell is "", column names
    stripped); a file that cannot be read or parsed (missing, empty, not CSV, not UTF-8) is ``error`` "cannot
    read {what}: ..." naming ``label``, ``field`` and ``fix``, one that lacks a ``required`` column is ``error``
    naming that column. ``options`` go to ``pandas.read_csv`` (e.g. ``header=None``)."""
    try:
        df = pd.read_csv(source, dtype=str, keep_default_na=False, **options)
    except READ_FAILURES as exc:
        raise error(f"cannot read {what}: {exc}", file=label, field=field, fix=fix) from exc
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise error(f"{what} lacks column(s) {', '.join(missing)}", file=label, field=missing[0], fix=fix)
    return df
