"""``sciml-export RUN_DIR``: fields for ParaView, metric plots and ``report.md`` from a saved checkpoint.

Rebuilds the problem and the trained network with :func:`sciml.cli.runs.load_run` and writes what the
end-of-run callback writes (:func:`sciml.io.outputs.write_outputs`), with the grid settings of the run's
``callbacks.outputs`` config unless overridden here. User errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sciml.cli.build import resolve_device
from sciml.cli.runs import LoadedRun, load_run
from sciml.errors import ConfigError
from sciml.fields import evaluate
from sciml.io.export import ExportSettings, Predict


def settings_from_run(cfg: DictConfig, resolution: int | None = None, time_steps: int | None = None) -> ExportSettings:
    """The run's ``callbacks.outputs`` grid settings, with the given values taking precedence."""
    node = OmegaConf.select(cfg, "callbacks.outputs")
    saved = OmegaConf.to_container(node, resolve=True) if node is not None else {}
    assert isinstance(saved, dict)
    default = ExportSettings()
    return ExportSettings(resolution if resolution is not None else saved.get("resolution", default.resolution),
                          time_steps if time_steps is not None else saved.get("time_steps", default.time_steps),
                          saved.get("slices", default.slices))


def predictor(run: LoadedRun) -> Predict:
    return lambda x: evaluate(run.net, x)


def common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a sciml-train run directory (config.yaml, checkpoint.pt)")
    parser.add_argument("--checkpoint", default="checkpoint.pt", help="checkpoint file inside the run directory")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto (default: cpu)")
    parser.add_argument("--resolution", type=int, default=None, help="grid points per spatial axis")
    parser.add_argument("--time-steps", type=int, default=None, help="time steps of a time series")


def guarded(body: Callable[[], int]) -> int:
    """Run ``body``; a :class:`ConfigError` becomes one line on stderr and exit status 2."""
    try:
        return body()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2


def export(args: argparse.Namespace) -> int:
    from sciml.io.outputs import write_outputs  # noqa: PLC0415 (matplotlib and meshio only when used)

    device = resolve_device(args.device)
    run = load_run(args.run_dir, args.checkpoint, str(device))
    settings = settings_from_run(run.config, args.resolution, args.time_steps)
    write_outputs(run.directory, run.problem, predictor(run), run.dtype, device, settings, plots=not args.no_plots)
    print(f"fields: {run.directory / 'fields'}\nreport: {run.directory / 'report.md'}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sciml-export", description=__doc__.splitlines()[0].split(": ", 1)[1])
    common_arguments(parser)
    parser.add_argument("--no-plots", action="store_true", help="skip the metric history plots")
    args = parser.parse_args(argv)
    return guarded(lambda: export(args))


if __name__ == "__main__":
    sys.exit(main())
