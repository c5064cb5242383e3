"""Output folders of screens and analyses, written by the code that writes a run's tables.

``write_folder(out, {"screen_ec": df}, summary, ...)`` writes, atomically and as tradeopt's
(``atomic.atomic_dir``: ``manifest.json`` lists the files), each table as ``<name>.csv`` and
``<name>.parquet`` (``write_table``, the run's table writer), ``summary.json`` (the settings and
counts) and ``datapackage.json``; an optional figure writer adds ``figures/*.png|svg``.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from optimize.atomic import atomic_dir
from optimize.errors import OutputError
from optimize.output.datapackage import data_provenance, write_datapackage
from optimize.output.manifest import jsonable
from optimize.output.tablefile import table_bytes
from optimize.ownership import write_recorded


def write_table(frame: pd.DataFrame, folder: Path, name: str) -> dict[str, pd.DataFrame]:
    """``folder/<name>.csv`` and ``<name>.parquet`` of ``frame`` (``tablefile.table_bytes``, hashed as written);
    returns {file name: frame} for the datapackage."""
    csv, parquet = table_bytes(frame)
    write_recorded(folder / f"{name}.csv", csv)
    write_recorded(folder / f"{name}.parquet", parquet)
    return {f"{name}.csv": frame, f"{name}.parquet": frame}


def write_folder(out_dir: str | Path, tables: Mapping[str, pd.DataFrame], summary: dict, *, title: str,
                 synthetic: bool = False, overwrite: bool = False,
                 figures: Callable[[Path], list[Path]] | None = None, figures_in: str = "figures",
                 texts: Mapping[str, str] | None = None, run_key: str | None = None,
                 files: Mapping[str, bytes] | None = None) -> list[Path]:
    """Write ``tables`` ({name: frame, values USD}), ``summary`` (summary.json) and datapackage.json into
    ``out_dir`` (atomic; an existing folder follows ``atomic.atomic_dir``'s rule, ``overwrite`` and ``run_key``);
    ``figures(folder)`` writes figures into ``folder`` (``out_dir/<figures_in>``, "" = ``out_dir``); ``texts``
    ({file name: text}, e.g. summary.md) are written beside the tables; ``files`` ({relative path: bytes}) as
    they are (a trend's resume record carried on). Returns the paths written."""
    out_dir = Path(out_dir)
    try:
        with atomic_dir(out_dir, overwrite=overwrite, run_key=run_key, files=files) as tmp:
            text = json.dumps(jsonable(summary), indent=2, allow_nan=False, ensure_ascii=False) + "\n"
            (tmp / "summary.json").write_text(text, encoding="utf-8")
            typed: dict[str, pd.DataFrame] = {}
            for name, frame in tables.items():
                typed.update(write_table(frame, tmp, name))
            st = summary.get("settings") or {}
            who = " ".join(str(x) for x in (st.get("importer"), ",".join(map(str, st.get("years") or []))) if x)
            write_datapackage(tmp, typed, name=f"tradeopt-{title}", title=f"tradeopt {title}" + (f": {who}" if who
                              else ""), synthetic=synthetic,
                              about=data_provenance(synthetic=synthetic, data_label=st.get("data_source")))
            for name, text in (texts or {}).items():
                (tmp / name).write_text(text, encoding="utf-8")
            made = [tmp / f for f in ("summary.json", *typed, *(texts or {}), "datapackage.json")]
            made += figures(tmp / figures_in) if figures else []
            written = [out_dir / p.relative_to(tmp) for p in made]
    except OSError as exc:
        raise OutputError(f"cannot write outputs to {out_dir}: {exc.strerror or exc}",
                          fix="check free disk space and permissions, or choose another --out") from exc
    return written


#: The units of screen and analysis tables (summary.json ``units``).
TABLE_UNITS = {"values": "USD (BACI thousands of USD x 1000, FOB)",
               "shares": "fraction 0..1 of the importer's imports of the product (per-product tables) or of the "
                         "basket's imports (exposure)",
               "hhi": "Herfindahl-Hirschman index of supplier shares, 0..1", "caps": "percentage points"}


def screen_summary(table: pd.DataFrame) -> dict:
    """summary.json of a screen: its settings (``attrs["settings"]``: importer, years, thresholds,
    intra-bloc choice, data), the flag counts and the units."""
    from optimize.analysis.screens import count_flags

    return {"screen": table.attrs.get("screen"), "settings": dict(table.attrs.get("settings") or {}),
            "counts": count_flags(table), "synthetic": bool(table.attrs.get("synthetic")), "units": TABLE_UNITS}


def analysis_summary(kind: str, meta: dict, params: dict, extra: dict | None = None) -> dict:
    """summary.json of an analysis: the run's settings (importer, year, cap, risk, intra-bloc, data) with the
    analysis's own ``params``, ``extra`` results (e.g. the cost summary) and the units."""
    from optimize.output.settings import run_settings

    return {"analysis": kind, "settings": {**run_settings(meta), **params}, **(extra or {}),
            "synthetic": bool(meta.get("synthetic")), "units": TABLE_UNITS}
