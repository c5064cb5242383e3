"""Convert a BACI source (zip, CSV, CSV.gz) to a validated parquet copy, atomically, beside it or at ``out``.

``convert_target`` picks the default name (the last suffix(es) -> ``.parquet``; a ``BACI*``
copy that ``read_baci(<folder>)`` would read twice goes to ``<folder>/parquet/``).
"""
from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from optimize.data.baci import _read_table
from optimize.data.frame import check_duplicate_keys
from optimize.errors import DataError, OutputError


def convert_target(src: Path, out: str | Path | None = None) -> Path:
    """Where ``convert`` writes: ``out``, else beside ``src`` with its last suffix(es) -> ``.parquet``.

    ``flows.2022.csv`` -> ``flows.2022.parquet``, ``x.csv.gz`` -> ``x.parquet``. A default
    that ``read_baci(<its folder>)`` would read together with ``src`` (a ``BACI*`` name in the
    folder holding ``src``) goes to ``<folder>/parquet/`` instead; an explicit ``out`` there
    is refused (``OutputError``): the folder would hold every row twice.
    """

    folder = src if src.is_dir() else src.parent
    if out is None:
        name = src.name
        for suffix in (".csv.gz", ".csv", ".zip", ".parquet", ".gz"):
            if name.lower().endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                break
        target = folder / f"{name}.parquet"
        return folder / "parquet" / target.name if _read_together(target, folder) else target
    target = Path(out).expanduser()
    if _read_together(target, folder):
        raise OutputError(f"{target} would sit in {folder} beside its source {src.name}: reading that folder "
                          "(--baci) would then see every row twice", fix=f"write it elsewhere, e.g. "
                          f"--out {folder / 'parquet' / target.name}")
    return target


def _read_together(target: Path, folder: Path) -> bool:
    """True when ``read_baci(folder)`` would read ``target`` as one more flow file."""
    return (target.name.upper().startswith("BACI") and target.name.endswith(".parquet")
            and target.parent.resolve() == folder.resolve())


def convert(path: str | Path, to: str = "parquet", out: str | Path | None = None, *, overwrite: bool = False,
            **read_kwargs) -> Path:
    """Write a validated copy of a BACI source as parquet (atomic); returns the output path.

    Output path: ``convert_target``. An existing output file is replaced only with
    ``overwrite`` (``OutputError`` otherwise, before the source is read).
    """
    from optimize.atomic import atomic_file, check_out_file

    if to != "parquet":
        raise DataError(f"unsupported output format '{to}'", field="to", fix="use to='parquet'")
    src = Path(path).expanduser()
    target = convert_target(src, out)
    if target.resolve() == src.resolve():
        raise DataError("output would overwrite the input", file=str(src), fix="pass out=<another file>")
    check_out_file(target, overwrite=overwrite)  # fail before reading a large file (exit 5)
    read_kwargs.setdefault("cache", False)
    tbl, sources, _, _, _ = _read_table(src, **{"years": None, "products": None, "importers": None,
                                          "exporters": None, "cache_dir": None, "validate": True,
                                          "expect_single_year": False, **read_kwargs})
    if len(sources) > 1 or sources[0][1] is None and sources[0][0].suffix == ".parquet":
        check_duplicate_keys(tbl, sources[0][2] if len(sources) == 1 else str(src))  # a CSV checked itself
    with atomic_file(target, overwrite=overwrite) as tmp:
        pq.write_table(tbl, str(tmp), compression="zstd")
    return target
