"""What a finished run leaves for people to look at, and the end-of-run callback that writes it.

``run_dir/fields/`` (VTU / XDMF for ParaView, :mod:`sciml.io.export`), ``run_dir/plots/`` (metric history,
:mod:`sciml.io.history`), ``run_dir/renders/`` (pyvista PNG / GIF, :mod:`sciml.io.render`) and
``run_dir/report.md`` (:mod:`sciml.io.report`). :func:`write_outputs` is called with a problem and a
prediction function, either by :class:`RunOutputs` at the end of training or by ``sciml-export`` /
``sciml-render`` from a saved checkpoint, so both give the same files.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from sciml.errors import ConfigError, positive_int
from sciml.io.export import ExportSettings, ExportTooLarge, Predict, export_solution
from sciml.io.grids import layout
from sciml.io.history import plot_history, read_metrics
from sciml.io.render import RenderResult, render_fields
from sciml.io.report import FIELDS_DIR, HISTORY_DIR, RENDERS_DIR, write_report
from sciml.problem import Problem


def write_outputs(run_dir: str | Path, problem: Problem, predict: Predict, dtype: torch.dtype,
                  device: torch.device | str, settings: ExportSettings | None = None, export: bool = True,
                  plots: bool = True, render: bool = False, report: bool = True,
                  render_timeout: float = 300.0) -> RenderResult | None:
    """Write the chosen outputs into ``run_dir``; returns the render outcome when renders were asked for.

    A failed render (no OpenGL, time-out) is reported on stderr and in ``report.md``, never raised.
    """
    run = Path(run_dir)
    if export:
        try:
            export_solution(problem, predict, run / FIELDS_DIR, dtype, device, settings)
        except ExportTooLarge as error:  # a finished training run is never lost to its export
            print(f"warning: fields not exported: {error}", file=sys.stderr, flush=True)
    if plots:
        plot_history(read_metrics(run), run / HISTORY_DIR)
    result = None
    if render:
        result = render_fields(run / FIELDS_DIR, run / RENDERS_DIR, render_timeout)
        if not result.ok:
            print(f"warning: renders skipped: {result.message}", file=sys.stderr, flush=True)
    if report:
        write_report(run)
    return result


class RunOutputs:
    """End-of-run callback (``callbacks.outputs`` in the config): exports, plots, renders and the report.

    Args:
        export / plots / render / report: which outputs to write (renders run in a separate process).
        resolution / time_steps / slices: the export grid, see :class:`sciml.io.export.ExportSettings`.
        render_timeout: seconds after which a render is abandoned.
    """

    def __init__(self, export: bool = True, plots: bool = True, render: bool = False, report: bool = True,
                 resolution: int | None = None, time_steps: int = 51, slices: Sequence[dict] | None = None,
                 render_timeout: float = 300.0) -> None:
        if resolution is not None and positive_int(resolution, "resolution") < 2:
            raise ConfigError("resolution", f"must be at least 2, got {resolution}")
        self.export, self.plots, self.render, self.report = export, plots, render, report
        self.settings = ExportSettings(resolution, positive_int(time_steps, "time_steps"), slices)
        self.render_timeout = render_timeout
        self.result: RenderResult | None = None

    def on_train_start(self, trainer) -> None:
        """Check the export layout against the problem before training, not after it."""
        if not self.export:
            return
        problem = trainer.problem
        tvar = problem.time_variable if problem.time_variable in problem.variables else None
        try:
            layout(problem.variables, tvar, problem.bounds() or [(0.0, 1.0)] * problem.dim,
                   self.settings.resolution, self.settings.time_steps, self.settings.slices)
        except ConfigError as error:
            raise (error if error.key.startswith("pde") else error.prefixed("callbacks.outputs")) from None

    def on_train_end(self, trainer, summary: dict) -> None:
        if trainer.files is None:
            return
        self.result = write_outputs(trainer.files.dir, trainer.problem, trainer.predict, trainer.dtype,
                                    trainer.device, self.settings, self.export, self.plots,
                                    self.render and self.export, self.report, self.render_timeout)
