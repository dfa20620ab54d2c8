"""Off-screen pyvista renders of exported fields; run in its own process by :mod:`sciml.io.render`.

``python -m sciml.io.render_worker FIELDS_DIR OUT_DIR`` reads ``FIELDS_DIR/manifest.json`` (written by
:func:`sciml.io.export.export_solution`) and writes, for every data set, ``<name>.png``: prediction, exact
solution and ``|error|`` side by side with colour bars and axis labels (a time series shows its last
step), and ``<name>.gif`` with every step of a time series. ``OUT_DIR/renders.json`` records each image's
size and, per panel, the colour range VTK's mapper used, so that callers can check it against the data.

VTK may crash the process (SIGSEGV) when no OpenGL stack is usable: that is why this runs apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import meshio
import numpy as np

from sciml.io.export import read_manifest

PANEL = (420, 360)
FRAME_PANEL = (300, 260)
CMAPS = {"value": "viridis", "error": "magma"}


def panels(fields: list[str], output: str) -> list[tuple[str, str, str]]:
    """``(array, title, kind)`` of the panels shown for ``output``: prediction, exact, |error|."""
    shown = [(output, f"{output} (prediction)", "value")]
    if f"{output}_exact" in fields:
        shown += [(f"{output}_exact", f"{output} (exact)", "value"),
                  (f"{output}_error", f"{output} error (abs)", "error")]
    return shown


def ranges(frames: list[dict[str, np.ndarray]], shown: list[tuple[str, str, str]]) -> list[tuple[float, float]]:
    """Colour range per panel over all frames; prediction and exact share one range, the error starts at 0."""
    values = np.concatenate([np.ravel(f[a]) for f in frames for a, _, kind in shown if kind == "value"])
    finite = values[np.isfinite(values)]
    out = []
    for array, _, kind in shown:
        if kind == "value":
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        else:
            errors = np.abs(np.concatenate([np.ravel(f[array]) for f in frames]))
            lo, hi = 0.0, float(errors[np.isfinite(errors)].max(initial=0.0))
        out.append((lo, hi if hi > lo else lo + 1e-12))  # a constant field still needs a non-empty range
    return out


def cutaway(mesh):
    """A 3-D grid with the octant facing the isometric camera removed, so the interior shows.

    The result carries ``ids``, the index of each of its points in ``mesh``, to map new data onto it.
    """
    m = mesh.copy(deep=True)
    m.clear_data()
    m.point_data["ids"] = np.arange(m.n_points)
    lo, hi = np.asarray(m.bounds[0::2]), np.asarray(m.bounds[1::2])
    mid = (lo + hi) / 2
    octant = [v for pair in zip(mid, hi + (hi - lo)) for v in pair]
    return m.clip_box(octant, invert=True, crinkle=True)


def stretch(mesh, dim: int, max_ratio: float = 2.5):
    """A copy of ``mesh`` whose axes all span the longest one when their extents differ by more than
    ``max_ratio`` (e.g. ``x ∈ [0, 2π]`` against ``t ∈ [0, 1]``); the axis labels keep the true values."""
    m = mesh.copy(deep=True)
    lo, hi = np.asarray(m.bounds[0::2])[:dim], np.asarray(m.bounds[1::2])[:dim]
    extent = hi - lo
    if extent.max() > max_ratio * extent.min() > 0:
        m.points[:, :dim] = lo + (m.points[:, :dim] - lo) * (extent.max() / extent)
    return m


class Figure:
    """One row of panels over a mesh; :meth:`show` updates the data (a time step) and returns the image."""

    def __init__(self, pv, mesh, axes: list[str], shown, clims, panel_size: tuple[int, int]) -> None:
        self.pv, self.shown, self.dim = pv, shown, len(axes)
        self.plotter = pv.Plotter(shape=(1, len(shown)), off_screen=True, border=False,
                                  window_size=(panel_size[0] * len(shown), panel_size[1]))
        self.meshes, self.actors, self.charts = [], [], []
        if self.dim > 1:
            true_bounds = list(mesh.bounds)
            stretched = stretch(mesh, self.dim)
        for i, ((_, title, kind), clim) in enumerate(zip(shown, clims)):
            self.plotter.subplot(0, i)
            if self.dim == 1:
                chart = pv.Chart2D(x_label=axes[0], y_label=title)
                x = mesh.points[:, 0]
                line = chart.line(x, np.zeros_like(x), color="tab:blue" if kind == "value" else "tab:red", width=2)
                chart.x_range, chart.y_range = [float(x.min()), float(x.max())], list(clim)
                self.plotter.add_chart(chart)
                self.charts.append((chart, line, x))
                continue
            m = cutaway(stretched) if self.dim == 3 else stretched.copy(deep=True)
            m.point_data["value"] = np.zeros(m.n_points)
            actor = self.plotter.add_mesh(m, scalars="value", clim=clim, cmap=CMAPS[kind], lighting=self.dim == 3,
                                          scalar_bar_args={"title": title, "vertical": True, "fmt": "%.3g",
                                                           "position_x": 0.86, "position_y": 0.1, "width": 0.06,
                                                           "height": 0.75, "title_font_size": 12,
                                                           "label_font_size": 10})
            self.plotter.show_bounds(xtitle=axes[0], ytitle=axes[1], ztitle=axes[2] if self.dim == 3 else "",
                                     font_size=9, location="outer", grid=False, fmt="%.3g", axes_ranges=true_bounds)
            if self.dim == 2:
                self.plotter.view_xy()
            else:
                self.plotter.view_isometric()
            self.plotter.camera.zoom(0.8)
            self.meshes.append(m)
            self.actors.append(actor)

    def show(self, data: dict[str, np.ndarray], label: str | None = None) -> np.ndarray:
        for i, (array, _, kind) in enumerate(self.shown):
            values = np.asarray(data[array], dtype=float)
            values = np.abs(values) if kind == "error" else values
            if self.dim == 1:
                _, line, x = self.charts[i]
                line.update(x, values)
            else:
                m = self.meshes[i]
                m.point_data["value"] = values[m.point_data["ids"]] if "ids" in m.point_data else values
        if label is not None:
            self.plotter.subplot(0, 0)
            self.plotter.add_text(label, position="upper_edge", font_size=8, name="time")
        self.plotter.render()
        return self.plotter.screenshot(return_img=True)

    def colour_ranges(self) -> list[list[float]]:
        """The scalar range each panel's mapper actually uses (for 1-D charts, the y range)."""
        if self.dim == 1:
            return [list(map(float, chart.y_range)) for chart, _, _ in self.charts]
        return [list(map(float, actor.mapper.scalar_range)) for actor in self.actors]

    def close(self) -> None:
        self.plotter.close()


def read_series(path: Path) -> tuple[meshio.Mesh, list[tuple[float, dict[str, np.ndarray]]]]:
    reader = meshio.xdmf.TimeSeriesReader(path)
    points, cells = reader.read_points_cells()
    frames = []
    for k in range(reader.num_steps):
        t, point_data, _ = reader.read_data(k)
        frames.append((float(t), point_data))
    return meshio.Mesh(points, cells), frames


def render_dataset(pv, fields_dir: Path, out_dir: Path, entry: dict, output: str) -> dict[str, dict]:
    """PNG (and, for a time series, GIF) of one exported data set; returns their records."""
    import imageio.v3 as iio  # noqa: PLC0415

    if entry["kind"] == "grid":
        mesh = meshio.read(fields_dir / entry["file"])
        frames = [(None, mesh.point_data)]
    else:
        mesh, frames = read_series(fields_dir / entry["file"])
    grid = pv.from_meshio(meshio.Mesh(mesh.points, mesh.cells))
    shown = panels(list(frames[0][1]), output)
    clims = ranges([f for _, f in frames], shown)
    records = {}
    figure = Figure(pv, grid, entry["axes"], shown, clims, PANEL)
    t, last = frames[-1]
    label = None if t is None else f"{entry['time_variable']} = {t:.4g}"
    image = figure.show(last, label)
    png = out_dir / f"{entry['name']}.png"
    iio.imwrite(png, image)
    records[png.name] = {"source": entry["file"], "size": [image.shape[1], image.shape[0]],
                         "panels": [{"array": a, "title": title, "colour_range": r}
                                    for (a, title, _), r in zip(shown, figure.colour_ranges())]}
    figure.close()
    if len(frames) > 1:
        figure = Figure(pv, grid, entry["axes"], shown, clims, FRAME_PANEL)
        images = [figure.show(data, f"{entry['time_variable']} = {t:.4g}") for t, data in frames]
        figure.close()
        gif = out_dir / f"{entry['name']}.gif"
        iio.imwrite(gif, np.stack(images), duration=100, loop=0)
        records[gif.name] = {"source": entry["file"], "frames": len(images),
                             "size": [images[0].shape[1], images[0].shape[0]]}
    return records


def main(argv: list[str]) -> int:
    fields_dir, out_dir = Path(argv[0]), Path(argv[1])
    manifest = read_manifest(fields_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    import pyvista as pv  # noqa: PLC0415 (VTK is loaded only in this process)

    pv.OFF_SCREEN = True
    records: dict[str, dict] = {}
    for entry in manifest["datasets"]:
        records.update(render_dataset(pv, fields_dir, out_dir, entry, manifest["primary"]))
    (out_dir / "renders.json").write_text(json.dumps(records, indent=2) + "\n")
    print(json.dumps(sorted(records)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
