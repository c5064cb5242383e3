"""Every file of a run's output folder made in memory, {relative path: bytes}, then written once.

``render_outputs`` makes summary.json, the tables (``tablefile.table_bytes``: CSV and
Parquet; flows.parquet), datapackage.json, scenario.resolved.toml|json, summary.md and
results.xlsx as bytes; the figures come from the caller (drawn into the output's
temporary folder by ``runfiles.write_outputs``' figure process, or in memory by
``figure_files``). ``runfiles.write_outputs`` writes them into ``atomic.atomic_dir``; a
batch cell sends them from its worker to the batch client, which writes them once
(``runs.batch``): no file is written, read back and written again.
"""
from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path

from optimize.atomic import atomic_dir
from optimize.errors import OutputError
from optimize.output.datapackage import datapackage_text, provenance
from optimize.output.manifest import jsonable
from optimize.output.settings import run_settings, settings_caption
from optimize.output.tablefile import parquet_bytes, table_bytes
from optimize.ownership import write_recorded

#: The run tables written as CSV and Parquet (when the run has them), after flows.parquet.
CSV_TABLES = ("products", "beneficiaries", "exposure", "by_sector", "by_stage", "concentration", "single_country",
              "binding", "bands")


def figure_subtitle(meta: Mapping) -> str:
    """The settings caption under every figure title ('' without a resolved scenario)."""
    return settings_caption(run_settings(meta)) if meta.get("scenario_resolved") else ""


def figure_files(tables, meta: Mapping) -> dict[str, bytes]:
    """The run's figures in memory ({figures/name.png|svg: bytes}, ``plots.figure_bytes``)."""
    from optimize.output.plots import figure_bytes

    return figure_bytes(tables, "figures", synthetic=bool(meta.get("synthetic")), subtitle=figure_subtitle(meta))


def _tables(frames: Mapping) -> tuple[dict[str, bytes], dict]:
    """flows.parquet and each ``CSV_TABLES`` frame as CSV and Parquet bytes; and {file name: frame}."""
    files, typed = {"flows.parquet": parquet_bytes(frames["flows"])}, {"flows.parquet": frames["flows"]}
    for name in CSV_TABLES:
        if name in frames:
            files[f"{name}.csv"], files[f"{name}.parquet"] = table_bytes(frames[name])
            typed[f"{name}.csv"] = typed[f"{name}.parquet"] = frames[name]
    return files, typed


def render_outputs(tables, meta: Mapping, *, eur_per_usd: float | None = None, xlsx: bool = False,
                   extra_text: Mapping[str, str] | None = None,
                   figures: Callable[[], list[str]] | None = None) -> dict[str, bytes]:
    """Every file of a run but its figures, {relative path: bytes} (values USD; ``*_eur`` columns with a rate).

    ``figures``: called once the tables are made, returns the figures' relative paths (summary.md links
    them); ``extra_text``: more {file name: text} (e.g. scenario.resolved.toml)."""
    from optimize.output.report import render_summary_md, summary_dict, with_eur

    if eur_per_usd is not None and not (eur_per_usd > 0):
        raise ValueError("eur_per_usd must be a positive rate (EUR per USD)")
    frames = {name: with_eur(df, eur_per_usd) for name, df in tables.frames().items() if df is not None}
    summary = summary_dict(tables, meta, eur_per_usd=eur_per_usd)
    files = {"summary.json": (json.dumps(summary, indent=2, allow_nan=False) + "\n").encode()}
    made, typed = _tables(frames)
    files.update(made)
    about = provenance(meta)
    files["datapackage.json"] = datapackage_text(
        typed, name=f"tradeopt-{meta.get('scenario') or 'run'}-{meta.get('importer', '')}-{meta.get('year', '')}",
        title=about.pop("title"), synthetic=bool(meta.get("synthetic")), about=about).encode()
    if meta.get("scenario_toml"):
        files["scenario.resolved.toml"] = str(meta["scenario_toml"]).encode()
    if meta.get("scenario_resolved") is not None:
        files["scenario.resolved.json"] = (json.dumps(jsonable(meta["scenario_resolved"]), indent=2, sort_keys=True)
                                           + "\n").encode()
    md = render_summary_md(tables, dict(meta), eur_per_usd=eur_per_usd, figures=figures() if figures else [])
    files["summary.md"] = md.encode()
    if xlsx:
        from optimize.output.xlsx import write_xlsx

        book = io.BytesIO()
        write_xlsx(frames, {**{f"setting: {k}": v for k, v in summary["settings"].items()}, **summary["totals"]},
                   book)
        files["results.xlsx"] = book.getvalue()
    for name, text in sorted((extra_text or {}).items()):
        files[name] = text.encode()
    return files


@contextlib.contextmanager
def _figure_process(tables, meta: dict, folder: Path, figures: bool):
    """Yield what draws the run's figures into ``folder``/figures (``figproc.figure_drawer``: the process
    `tradeopt run` prestarted, drawing while the tables are made; None without ``figures``); a process
    is ended on leaving, before the atomic folder is committed or removed."""
    if not figures:
        yield None
        return
    from optimize.output.figproc import figure_drawer

    with figure_drawer() as drawer:
        drawer.draw(tables, folder / "figures", synthetic=bool(meta.get("synthetic")), subtitle=figure_subtitle(meta))
        yield drawer


def write_outputs(tables, meta: dict, out_dir, *, eur_per_usd: float | None = None, xlsx: bool = False,
                  figures: bool = True, extra_text: dict[str, str] | None = None, overwrite: bool = False,
                  run_key: str | None = None, manifest: dict | None = None) -> Path:
    """Write every output into ``out_dir`` atomically (a failed write leaves ``out_dir`` untouched).

    Files (``runfiles.render_outputs``, made in memory, each written once): summary.json, summary.md,
    flows.parquet, products/beneficiaries/exposure/by_sector/by_stage/concentration/single_country(/binding).csv
    and .parquet, datapackage.json, scenario.resolved.toml|json when meta has it, results.xlsx with ``xlsx``,
    figures/*.png|svg with ``figures``; ``extra_text``: more {file name: text} written inside the same atomic
    folder (e.g. scenario.resolved.toml); ``manifest``: the fields of manifest.json
    (``output.manifest.build_manifest``), written once with the files' records;
    ``run_key``: ``output.manifest.results_key``.
    An existing ``out_dir`` follows ``atomic.atomic_dir``'s rule: content tradeopt did not
    write (or another ``run_key``'s results) is refused (``OutputError``) unless ``overwrite``; never changed.
    """
    out_dir = Path(out_dir)
    if eur_per_usd is not None and not (eur_per_usd > 0):
        raise ValueError("eur_per_usd must be a positive rate (EUR per USD)")
    try:
        with atomic_dir(out_dir, overwrite=overwrite, run_key=run_key, manifest=manifest) as tmp, \
                _figure_process(tables, meta, tmp, figures) as fig_proc:  # drawn while the tables are made

            def drawn() -> list[str]:
                return [p.relative_to(tmp).as_posix() for p in fig_proc.result()] if fig_proc is not None else []

            for rel, data in render_outputs(tables, meta, eur_per_usd=eur_per_usd, xlsx=xlsx, extra_text=extra_text,
                                            figures=drawn).items():
                write_recorded(tmp / rel, data)
    except OSError as exc:
        raise OutputError(f"cannot write outputs to {out_dir}: {exc.strerror or exc}",
                          fix="check free disk space and permissions, or choose another --out") from exc
    return out_dir
