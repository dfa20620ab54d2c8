"""``sciml-render RUN_DIR``: off-screen PNG renders (GIF for time series) of a run's solution field.

Renders the fields exported in ``RUN_DIR/fields`` (exporting them first from the checkpoint when missing,
or always with ``--refresh``) into ``RUN_DIR/renders`` and updates ``report.md``. Rendering runs in a child
process: without a usable OpenGL stack it prints one clear message and exits with status 1.
"""

from __future__ import annotations

import argparse
import sys

from sciml.cli.build import resolve_device
from sciml.cli.export import common_arguments, guarded, predictor, settings_from_run
from sciml.cli.runs import load_run
from sciml.io.export import MANIFEST


def render(args: argparse.Namespace) -> int:
    from sciml.io.outputs import write_outputs  # noqa: PLC0415 (matplotlib and meshio only when used)
    from sciml.io.render import render_fields  # noqa: PLC0415
    from sciml.io.report import FIELDS_DIR, RENDERS_DIR, write_report  # noqa: PLC0415

    fields = args.run_dir / FIELDS_DIR
    if args.refresh or args.resolution or args.time_steps or not (fields / MANIFEST).is_file():
        device = resolve_device(args.device)
        run = load_run(args.run_dir, args.checkpoint, str(device))
        settings = settings_from_run(run.config, args.resolution, args.time_steps)
        write_outputs(run.directory, run.problem, predictor(run), run.dtype, device, settings, plots=False,
                      report=False)
    result = render_fields(fields, args.run_dir / RENDERS_DIR, args.timeout)
    write_report(args.run_dir)
    if not result.ok:
        print(f"error: render: {result.message}", file=sys.stderr, flush=True)
        return 1
    print("\n".join(str(p) for p in result.images), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sciml-render", description=__doc__.splitlines()[0].split(": ", 1)[1])
    common_arguments(parser)
    parser.add_argument("--refresh", action="store_true", help="export the fields again from the checkpoint")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a render is abandoned")
    args = parser.parse_args(argv)
    return guarded(lambda: render(args))


if __name__ == "__main__":
    sys.exit(main())
