"""results.xlsx: a summary sheet then one sheet per table, ready to hand on: bold frozen header, autofilter,
fitted column widths, and number formats from the column names' units (``datapackage.unit``): shares as
percent, USD/EUR whole with thousands separators, HHI with three decimals, counts with separators."""
from __future__ import annotations

import json

import pandas as pd

from optimize.output.datapackage import unit

#: Excel number format per unit (``datapackage.unit``); integer columns without a unit get COUNT.
FORMATS = {"USD": "#,##0", "EUR": "#,##0", "fraction 0..1": "0.00%", "percentage points": "0.00",
           "Herfindahl-Hirschman index 0..1": "0.000"}
COUNT = "#,##0"


def number_format(column: str, series: pd.Series | None = None) -> str | None:
    """The Excel number format of ``column`` (None: General)."""
    if fmt := FORMATS.get(unit(column) or ""):
        return fmt
    if series is not None and pd.api.types.is_integer_dtype(series) and not pd.api.types.is_bool_dtype(series) \
            and column not in ("exporter_code", "baci_code", "rank", "year", "t"):
        return COUNT
    return None


def _summary_sheet(summary: dict) -> pd.DataFrame:
    return pd.DataFrame({"key": list(summary), "value": [json.dumps(v) if isinstance(v, (dict, list)) else v
                                                         for v in summary.values()]})


def _format_sheet(ws, df: pd.DataFrame, formats: list[str | None]) -> None:
    """Bold frozen header, autofilter, widths, and ``formats`` (one per column) on the data rows."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    if len(df.columns):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(df.columns))}{len(df) + 1}"
    for i, col in enumerate(df.columns, start=1):
        sample = df[col].head(200).astype(str).str.len()
        width = max(len(str(col)) + 3, int(sample.max()) if len(sample) else 0)  # + the filter button
        ws.column_dimensions[get_column_letter(i)].width = min(60, width + 2)
        if formats[i - 1]:
            for (cell,) in ws.iter_rows(min_row=2, max_row=len(df) + 1, min_col=i, max_col=i):
                cell.number_format = formats[i - 1]


def write_xlsx(frames: dict[str, pd.DataFrame], summary: dict, path):
    """One workbook at ``path``: a ``summary`` sheet (key, value; values formatted by their key's unit), then
    one sheet per frame. Returns ``path``."""
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:
        from optimize.errors import missing_extra

        raise missing_extra("xlsx", "results.xlsx (--xlsx)", exc) from exc

    flat = _summary_sheet(summary)
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        flat.to_excel(xl, sheet_name="summary", index=False)
        ws = xl.sheets["summary"]
        _format_sheet(ws, flat, [None, None])
        for row, key in enumerate(flat["key"], start=2):
            if isinstance(flat.at[row - 2, "value"], (int, float)) and (fmt := number_format(str(key))):
                ws.cell(row=row, column=2).number_format = fmt
        for name, df in frames.items():
            df.to_excel(xl, sheet_name=name[:31], index=False)
            _format_sheet(xl.sheets[name[:31]], df, [number_format(str(c), df[c]) for c in df.columns])
    return path
