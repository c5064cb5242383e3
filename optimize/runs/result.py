"""``RunResult``: one solved cell with its scenario, instance, allocation, tables and run facts; writes its outputs."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from optimize.analysis.metrics import ResultTables
from optimize.args import checked
from optimize.config.scenario import Scenario
from optimize.model.engine import Allocation
from optimize.model.instance import Instance
from optimize.output import manifest as _manifest
from optimize.output.facts import RunFacts


@dataclass(frozen=True)
class OutputFiles:
    """A run's output folder in memory: ``files`` ({relative path: bytes}), and the ``manifest`` fields and
    ``run_key`` its manifest.json is written with (``atomic.write_dir``)."""

    files: dict[str, bytes]
    manifest: dict
    run_key: str

    def write(self, out_dir: str | Path, *, overwrite: bool = False) -> Path:
        """Write the folder once, atomically (``atomic.write_dir``: the rules of ``atomic.atomic_dir``)."""
        from optimize.atomic import write_dir

        return write_dir(out_dir, self.files, overwrite=overwrite, run_key=self.run_key, manifest=self.manifest)


@dataclass
class RunResult:
    """One solved cell: the resolved scenario, the instance, its allocation, tables and run facts."""

    scenario: Scenario
    instance: Instance
    allocation: Allocation
    tables: ResultTables
    meta: RunFacts  # typed run facts; also read as a mapping by the writers

    @property
    def resolved(self) -> dict:
        return self.scenario.resolved()

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic"))

    def manifest(self) -> dict:
        """Versions, input hashes and the resolved scenario (see ``optimize.output.manifest``)."""
        run_meta = {k: v for k, v in self.meta.items() if k not in ("scenario_resolved", "scenario_toml")}
        return _manifest.build_manifest(self.resolved, inputs=self.meta.get("input_hashes", {}), meta=run_meta)

    @checked()
    def write(self, out_dir: str | Path, *, overwrite: bool = False, eur_per_usd: float | None = None,
              xlsx: bool | None = None, figures: bool | None = None,
              extra_text: dict[str, str] | None = None) -> Path:
        """Write every output (``runfiles.write_outputs``) plus manifest.json and scenario.resolved.toml.

        ``eur_per_usd`` (EUR per USD), ``xlsx`` and ``figures`` default (None) to the scenario's
        ``[report]`` section; ``extra_text``: more files, {name: text}. An existing ``out_dir`` holding
        files tradeopt did not write is refused (``OutputError``) unless ``overwrite``; those
        files are never changed (``atomic.atomic_dir``).
        """
        from optimize.output.runfiles import write_outputs

        # manifest and resolved scenario inside the same atomic folder: a killed run leaves all or nothing
        opts = self._report_options(eur_per_usd, xlsx, figures, extra_text)
        return Path(write_outputs(self.tables, self.meta, out_dir, overwrite=overwrite, **opts,
                                  run_key=_manifest.results_key(self.scenario), manifest=self.manifest()))

    def render(self, *, eur_per_usd: float | None = None, xlsx: bool | None = None, figures: bool | None = None,
               extra_text: dict[str, str] | None = None) -> OutputFiles:
        """Every file ``write`` writes, made in memory (``runfiles.render_outputs``; figures by
        ``runfiles.figure_files``), with the manifest fields and run key its folder is written with."""
        from optimize.output.runfiles import figure_files, render_outputs

        opts = self._report_options(eur_per_usd, xlsx, figures, extra_text)
        figs = figure_files(self.tables, self.meta) if opts.pop("figures") else {}
        files = render_outputs(self.tables, self.meta, **opts, figures=lambda: list(figs))
        return OutputFiles({**files, **figs}, self.manifest(), _manifest.results_key(self.scenario))

    def _report_options(self, eur_per_usd, xlsx, figures, extra_text) -> dict:
        """The writers' options: None = the scenario's ``[report]``; scenario.resolved.toml among the texts."""
        rep = self.scenario.report
        return {"eur_per_usd": rep.eur_per_usd or None if eur_per_usd is None else eur_per_usd,
                "xlsx": rep.xlsx if xlsx is None else xlsx, "figures": rep.figures if figures is None else figures,
                "extra_text": {_manifest.RESOLVED_FILE: self.scenario.to_toml(), **(extra_text or {})}}

    def summary_md(self) -> str:
        """The Markdown summary (``report.render_summary_md``)."""
        from optimize.output.report import render_summary_md

        return render_summary_md(self.tables, self.meta, eur_per_usd=self.scenario.report.eur_per_usd or None)
