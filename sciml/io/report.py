"""``report.md``: a run directory described on one page (summary, images, exported files, config).

Everything is read from the run directory, so the report can be (re)written at any time after a run.
Image links are relative: the report is readable wherever the directory is copied.
"""

from __future__ import annotations

import json
from pathlib import Path

from sciml.io.export import MANIFEST
from sciml.io.history import read_metrics
from sciml.io.render import STATUS

HISTORY_DIR, FIELDS_DIR, RENDERS_DIR = "plots", "fields", "renders"


def _value(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _table(rows: list[tuple[str, object]], header: tuple[str, str] = ("", "")) -> list[str]:
    lines = [f"| {header[0]} | {header[1]} |", "|---|---|"]
    return lines + [f"| {k} | {_value(v)} |" for k, v in rows]


def _images(run_dir: Path, folder: str, suffixes: tuple[str, ...] = (".png", ".gif")) -> list[str]:
    path = run_dir / folder
    if not path.is_dir():
        return []
    return [f"![{p.stem}]({folder}/{p.name})" for p in sorted(path.iterdir()) if p.suffix in suffixes]


def _paraview(manifest: dict) -> list[str]:
    lines = ["| file | kind | grid | point data |", "|---|---|---|---|"]
    for d in manifest["datasets"]:
        grid = " × ".join(f"{a} ({n})" for a, n in zip(d["axes"], d["shape"])) + f", {d['cell_type']} cells"
        if d["fixed"]:
            grid += "; fixed " + ", ".join(f"{k} = {v:.4g}" for k, v in d["fixed"].items())
        kind = f"time series, {len(d['times'])} steps" if d["kind"] == "series" else "grid"
        lines.append(f"| [`{FIELDS_DIR}/{d['file']}`]({FIELDS_DIR}/{d['file']}) | {kind} | {grid} | "
                     f"{', '.join(d['fields'])} |")
    lines += ["", "Open in ParaView: *File → Open* the `.vtu` file, or the `.xdmf` file (reader *Xdmf3 Reader S*; "
              "keep the `.h5` file beside it), press *Apply*, pick a point-data array in the colouring box; "
              "*Play* steps through a time series. Or from a shell: `paraview fields/field.vtu`.",
              f"`<u>_error` is prediction − {manifest['truth'] or 'exact'}."]
    return lines


def write_report(run_dir: str | Path) -> Path:
    """Write ``run_dir/report.md`` from what the directory holds; returns its path."""
    run = Path(run_dir)
    summary = json.loads((run / "summary.json").read_text()) if (run / "summary.json").is_file() else {}
    lines = [f"# Run report: {summary.get('pde', run.name)}", "", f"Run directory: `{run.resolve()}`", ""]
    if summary:
        unknowns = summary.pop("unknowns", {})
        lines += ["## Summary", "", *_table(list(summary.items()), ("quantity", "value")), ""]
        if unknowns:
            lines += ["## Unknown coefficients (Laplace standard deviation, 95 % interval)", "",
                      "| unknown | value | std | 95 % interval |", "|---|---|---|---|"]
            lines += [f"| {name} | {u['value']:.6g} | {_value(u['std'])} | "
                      + ("—" if u["ci95"] is None else f"[{u['ci95'][0]:.6g}, {u['ci95'][1]:.6g}]") + " |"
                      for name, u in unknowns.items()]
            lines.append("")
    rows = read_metrics(run)
    if rows:
        lines += [f"## Last logged step ({rows[-1].get('step')})", "",
                  *_table([(k, v) for k, v in rows[-1].items() if k != "step"], ("metric", "value")), ""]
    history = _images(run, HISTORY_DIR)
    if history:
        lines += ["## Training history", "", *[f"{img}\n" for img in history]]
    solution = ["![prediction](prediction.png)"] if (run / "prediction.png").is_file() else []
    solution += _images(run, RENDERS_DIR)
    status = run / RENDERS_DIR / STATUS
    if solution or status.is_file():
        lines += ["## Solution", "", *[f"{img}\n" for img in solution]]
        if status.is_file() and not json.loads(status.read_text())["ok"]:
            lines += [f"Renders: {json.loads(status.read_text())['message']}", ""]
    if (run / FIELDS_DIR / MANIFEST).is_file():
        manifest = json.loads((run / FIELDS_DIR / MANIFEST).read_text())
        lines += ["## Exported fields", "", *_paraview(manifest), ""]
    if (run / "config.yaml").is_file():
        lines += ["## Config", "", "```yaml", (run / "config.yaml").read_text().rstrip(), "```", ""]
    path = run / "report.md"
    path.write_text("\n".join(lines))
    return path
