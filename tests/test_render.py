"""Off-screen renders: image size, not blank, colour range = data range; the GL-failure guard."""

import ctypes.util
import json
import sys

import imageio.v3 as iio
import meshio
import numpy as np
import pytest
import torch
from test_io_export import Box, Heat, fake_model

from sciml.io.export import ExportSettings, export_solution
from sciml.io.render import render_fields, run_isolated
from sciml.io.render_worker import FRAME_PANEL, PANEL, panels, ranges, stretch


def rendered(fields, out):
    result = render_fields(fields, out, timeout=240)
    if not result.ok and "crashed" in result.message:
        pytest.skip(f"no OpenGL stack on this machine: {result.message}")
    assert result.ok, result.message
    return result, json.loads((out / "renders.json").read_text())


@pytest.fixture(scope="module")
def plane(tmp_path_factory):
    root = tmp_path_factory.mktemp("plane")
    export_solution(Box(2), fake_model(Box(2)), root / "fields", torch.float64, "cpu", ExportSettings(resolution=33))
    return root, *rendered(root / "fields", root / "renders")


def test_render_is_not_blank_and_has_the_panel_layout(plane):
    root, result, records = plane
    assert [p.name for p in result.images] == ["field.png"]
    image = iio.imread(root / "renders" / "field.png")
    assert image.shape[:2] == (PANEL[1], 3 * PANEL[0])
    assert records["field.png"]["size"] == [3 * PANEL[0], PANEL[1]]
    for k in range(3):  # every panel draws something: many distinct colours, large pixel variance
        panel = image[:, k * PANEL[0]:(k + 1) * PANEL[0], :3].reshape(-1, 3)
        assert panel.astype(float).std() > 20
        assert len(np.unique(panel, axis=0)) > 200


def test_colour_ranges_match_the_data(plane):
    root, _, records = plane
    data = meshio.read(root / "fields" / "field.vtu").point_data
    panels = {p["array"]: p["colour_range"] for p in records["field.png"]["panels"]}
    values = np.concatenate([data["u"], data["u_exact"]])
    assert panels["u"] == pytest.approx([values.min(), values.max()], abs=1e-12)
    assert panels["u_exact"] == panels["u"]
    assert panels["u_error"] == pytest.approx([0.0, np.abs(data["u_error"]).max()], abs=1e-12)


def test_time_series_gets_a_png_and_an_animation(tmp_path):
    export_solution(Heat(), fake_model(Heat()), tmp_path / "fields", torch.float64, "cpu",
                    ExportSettings(resolution=33, time_steps=4))
    result, records = rendered(tmp_path / "fields", tmp_path / "renders")
    assert sorted(p.name for p in result.images) == ["field.gif", "field.png", "spacetime.png"]
    frames = iio.imread(tmp_path / "renders" / "field.gif")
    assert frames.shape[:3] == (4, FRAME_PANEL[1], 3 * FRAME_PANEL[0]) and records["field.gif"]["frames"] == 4
    # the solution decays: the first and last frames differ
    assert np.abs(frames[0].astype(float) - frames[-1].astype(float)).mean() > 1
    # the 1-D chart's y range spans the data of every step (prediction and exact share it)
    reader = meshio.xdmf.TimeSeriesReader(tmp_path / "fields" / "field.xdmf")
    reader.read_points_cells()
    steps = [reader.read_data(k)[1] for k in range(reader.num_steps)]
    values = np.concatenate([np.r_[s["u"], s["u_exact"]] for s in steps])
    assert records["field.png"]["panels"][0]["colour_range"] == pytest.approx([values.min(), values.max()], rel=1e-6)


def test_guard_turns_a_segfault_into_a_message():
    crash = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]
    result = run_isolated(crash, timeout=60, env={"VTK_DEFAULT_OPENGL_WINDOW": "vtkBogusWindow"})
    assert not result.ok
    assert "SIGSEGV" in result.message and "VTK_DEFAULT_OPENGL_WINDOW=vtkBogusWindow" in result.message


def test_guard_reports_errors_and_time_outs():
    failed = run_isolated([sys.executable, "-c", "raise SystemExit('no such mesh')"], timeout=60)
    assert not failed.ok and "no such mesh" in failed.message
    slow = run_isolated([sys.executable, "-c", "import time; time.sleep(30)"], timeout=1)
    assert not slow.ok and "did not finish within 1 s" in slow.message


def test_guard_sets_an_egl_window_unless_one_is_chosen(monkeypatch):
    check = "import os, sys; sys.exit(os.environ['VTK_DEFAULT_OPENGL_WINDOW'] != 'vtkEGLRenderWindow')"
    show = [sys.executable, "-c", check]
    monkeypatch.delenv("VTK_DEFAULT_OPENGL_WINDOW", raising=False)
    assert run_isolated(show, timeout=60).ok
    monkeypatch.setenv("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")
    assert not run_isolated(show, timeout=60).ok


@pytest.mark.skipif(ctypes.util.find_library("OSMesa") is not None, reason="OSMesa present: no crash to observe")
def test_real_renderer_with_an_unusable_window_class_gives_a_message(tmp_path):
    export_solution(Box(2), fake_model(Box(2)), tmp_path / "fields", torch.float64, "cpu", ExportSettings(resolution=9))
    result = render_fields(tmp_path / "fields", tmp_path / "renders", timeout=120,
                           env={"VTK_DEFAULT_OPENGL_WINDOW": "vtkOSOpenGLRenderWindow"})
    assert not result.ok and result.message.startswith("rendering")
    assert not (tmp_path / "renders" / "field.png").exists()
    status = json.loads((tmp_path / "renders" / "status.json").read_text())
    assert status == {"ok": False, "message": result.message}


def test_colour_ranges_skip_non_finite_values_and_span_every_frame():
    steps = [{"u": np.array([1.0, np.nan, 3.0]), "u_exact": np.array([0.5, 2.0, 2.0]),
              "u_error": np.array([0.5, np.nan, 1.0])},
             {"u": np.array([-2.0, 0.0, 0.0]), "u_exact": np.array([0.0, 0.0, 0.0]),
              "u_error": np.array([-2.0, 0.0, 0.0])}]
    shown = panels(list(steps[0]), "u")
    assert [a for a, _, _ in shown] == ["u", "u_exact", "u_error"]
    assert ranges(steps, shown) == [(-2.0, 3.0), (-2.0, 3.0), (0.0, 2.0)]
    assert ranges([{"u": np.full(3, 0.7)}], panels(["u"], "u")) == [(0.7, 0.7 + 1e-12)]


def test_long_thin_domains_are_stretched_for_display_only():
    pv = pytest.importorskip("pyvista")  # building meshes needs no OpenGL
    thin = pv.ImageData(dimensions=(9, 5, 1), spacing=(2 * np.pi / 8, 0.25, 1.0)).cast_to_unstructured_grid()
    shown = stretch(thin, 2)
    np.testing.assert_allclose(shown.bounds[:4], [0, 2 * np.pi, 0, 2 * np.pi])
    np.testing.assert_allclose(thin.bounds[:4], [0, 2 * np.pi, 0, 1])  # the data set itself is untouched
    square = pv.ImageData(dimensions=(5, 5, 1), spacing=(0.25, 0.5, 1.0)).cast_to_unstructured_grid()
    np.testing.assert_allclose(stretch(square, 2).points, square.points)
