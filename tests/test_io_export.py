"""Field export: structured cells, VTU / XDMF round trips, slices and reference-data grids."""

import math

import meshio
import numpy as np
import pytest
import torch

from sciml.errors import ConfigError
from sciml.geometry import BoxBoundarySampler, BoxSampler, TimeProduct
from sciml.io.export import ExportSettings, ExportTooLarge, export_solution, read_manifest
from sciml.io.grids import grid_lines, layout, structured_cells
from sciml.io.outputs import write_outputs
from sciml.problem import Problem, Reference, Term


class Box(Problem):
    """u = Π sin(π x_i) + 0.1 Σ x_i on [0, 1]^d (values only: no training here)."""

    name = "box"

    def __init__(self, dim):
        self.variables = [f"x{i}" for i in range(dim)]

    def bounds(self):
        return [(0.0, 1.0)] * self.dim

    def exact(self, x):
        return (torch.sin(math.pi * x).prod(1) + 0.1 * x.sum(1)).unsqueeze(1)

    def terms(self):
        return {"pde": Term(BoxSampler(self.bounds()), lambda u: u.laplacian, 8)}


class Heat(Problem):
    """u_t = κ u_xx on [0, 1] × [0, 1], u = exp(-κ π² t) sin(π x)."""

    name = "heat"
    variables = ["x", "t"]
    kappa = 0.5

    def bounds(self):
        return [(0.0, 1.0), (0.0, 1.0)]

    def exact(self, x):
        return (torch.exp(-self.kappa * math.pi**2 * x[:, 1]) * torch.sin(math.pi * x[:, 0])).unsqueeze(1)

    def terms(self):
        space = BoxSampler([(0.0, 1.0)])
        return {"pde": Term(BoxSampler(self.bounds()), lambda u: u.d("t") - self.kappa * u.d("x", "x"), 8),
                "bc": Term(TimeProduct(BoxBoundarySampler([(0.0, 1.0)]), 0.0, 1.0), lambda u: u.value, 8),
                "ic": Term(TimeProduct(space, t_value=0.0), lambda u: u.value - self.exact(u.x)[:, 0], 8)}


def fake_model(problem):
    """A 'network' with a known, non-trivial error: 1.1 u + 0.05 x_0."""
    return lambda x: 1.1 * problem.exact(x) + 0.05 * x[:, :1]


def brute_force_cells(shape):
    """Cells by explicit loops over the grid (VTK corner order)."""
    index = np.arange(np.prod(shape)).reshape(shape)
    cells = []
    for corner in np.ndindex(*[n - 1 for n in shape]):
        i = corner
        if len(shape) == 1:
            cells.append([index[i[0]], index[i[0] + 1]])
        elif len(shape) == 2:
            a, b = i
            cells.append([index[a, b], index[a + 1, b], index[a + 1, b + 1], index[a, b + 1]])
        else:
            a, b, c = i
            face = [(a, b), (a + 1, b), (a + 1, b + 1), (a, b + 1)]
            cells.append([index[p, q, c] for p, q in face] + [index[p, q, c + 1] for p, q in face])
    return np.array(cells)


@pytest.mark.parametrize("shape", [(5,), (4, 3), (3, 4, 2)])
def test_structured_cells_match_brute_force_and_are_positively_oriented(shape):
    cells = structured_cells(shape)
    np.testing.assert_array_equal(cells, brute_force_cells(shape))
    pts = np.stack(np.meshgrid(*[np.linspace(0, 1, n) for n in shape], indexing="ij"), -1).reshape(-1, len(shape))
    if len(shape) == 2:  # shoelace area of each quad: positive (counter-clockwise), sums to the box
        x, y = pts[cells, 0], pts[cells, 1]
        area = 0.5 * (x * np.roll(y, -1, 1) - np.roll(x, -1, 1) * y).sum(1)
        assert np.all(area > 0) and np.isclose(area.sum(), 1.0)
    if len(shape) == 3:  # the top face lies on the side the bottom face's normal points to
        bottom, top = pts[cells[:, :4]], pts[cells[:, 4:]]
        normal = np.cross(bottom[:, 1] - bottom[:, 0], bottom[:, 3] - bottom[:, 0])
        assert np.all(((top.mean(1) - bottom.mean(1)) * normal).sum(1) > 0)


@pytest.mark.parametrize("dim,cell_type", [(1, "line"), (2, "quad"), (3, "hexahedron")])
def test_vtu_round_trip_values_and_cells(tmp_path, dim, cell_type):
    problem = Box(dim)
    predict = fake_model(problem)
    res = 9
    manifest = export_solution(problem, predict, tmp_path, torch.float64, "cpu", ExportSettings(resolution=res))
    entry = read_manifest(tmp_path)["datasets"][0]
    assert manifest.is_file() and entry["kind"] == "grid" and entry["shape"] == [res] * dim
    mesh = meshio.read(tmp_path / entry["file"])
    assert [c.type for c in mesh.cells] == [cell_type]
    np.testing.assert_array_equal(mesh.cells[0].data, structured_cells([res] * dim))
    assert mesh.cells[0].data.shape[0] == (res - 1) ** dim
    axis = np.linspace(0.0, 1.0, res)
    grid = np.stack(np.meshgrid(*[axis] * dim, indexing="ij"), -1).reshape(-1, dim)
    np.testing.assert_allclose(mesh.points[:, :dim], grid, atol=1e-15)
    assert np.all(mesh.points[:, dim:] == 0)
    x = torch.as_tensor(grid)
    exact, pred = problem.exact(x)[:, 0].numpy(), predict(x)[:, 0].numpy()
    np.testing.assert_allclose(mesh.point_data["u"], pred, rtol=0, atol=1e-14)
    np.testing.assert_allclose(mesh.point_data["u_exact"], exact, rtol=0, atol=1e-14)
    np.testing.assert_allclose(mesh.point_data["u_error"], pred - exact, rtol=0, atol=1e-14)


def test_xdmf_time_series_round_trip_from_another_directory(tmp_path, monkeypatch):
    problem = Heat()
    predict = fake_model(problem)
    out = tmp_path / "run" / "fields"
    export_solution(problem, predict, out, torch.float64, "cpu", ExportSettings(resolution=17, time_steps=6))
    manifest = read_manifest(out)
    series, spacetime = manifest["datasets"]
    assert series["kind"] == "series" and series["axes"] == ["x"] and spacetime["axes"] == ["x", "t"]
    assert (out / "field.h5").is_file()
    monkeypatch.chdir(tmp_path)  # the XDMF file finds its HDF5 data relative to itself
    reader = meshio.xdmf.TimeSeriesReader(out / "field.xdmf")
    points, cells = reader.read_points_cells()
    assert [c.type for c in cells] == ["line"] and cells[0].data.shape == (16, 2)
    np.testing.assert_array_equal(cells[0].data, structured_cells([17]))
    assert reader.num_steps == 6
    for k, t_expected in enumerate(np.linspace(0.0, 1.0, 6)):
        t, data, _ = reader.read_data(k)
        assert t == pytest.approx(t_expected)
        x = torch.as_tensor(np.stack([points[:, 0], np.full(17, t)], 1))
        np.testing.assert_allclose(data["u"], predict(x)[:, 0].numpy(), atol=1e-14)
        np.testing.assert_allclose(data["u_exact"], problem.exact(x)[:, 0].numpy(), atol=1e-14)
    st = meshio.read(out / "spacetime.vtu")
    assert st.cells[0].type == "quad" and st.cells[0].data.shape[0] == 16 * 5
    x = torch.as_tensor(st.points[:, :2])
    np.testing.assert_allclose(st.point_data["u_error"], (predict(x) - problem.exact(x))[:, 0].numpy(), atol=1e-14)


def test_slices_of_a_high_dimensional_problem(tmp_path):
    problem = Box(5)
    predict = fake_model(problem)
    slices = [{"axes": ["x0", "x1"]}, {"axes": ["x3", "x1"], "at": {"x0": 0.25, "x4": 0.9}}]
    export_solution(problem, predict, tmp_path, torch.float64, "cpu", ExportSettings(resolution=7, slices=slices))
    first, second = read_manifest(tmp_path)["datasets"]
    assert first["fixed"] == {"x2": 0.5, "x3": 0.5, "x4": 0.5}
    assert second["axes"] == ["x3", "x1"] and second["fixed"] == {"x0": 0.25, "x2": 0.5, "x4": 0.9}
    mesh = meshio.read(tmp_path / second["file"])
    assert mesh.cells[0].type == "quad"
    x = np.zeros((mesh.points.shape[0], 5))
    x[:, 3], x[:, 1] = mesh.points[:, 0], mesh.points[:, 1]
    x[:, 0], x[:, 2], x[:, 4] = 0.25, 0.5, 0.9
    np.testing.assert_allclose(mesh.point_data["u_exact"], problem.exact(torch.as_tensor(x))[:, 0].numpy(),
                               atol=1e-14)


@pytest.mark.parametrize("slices,key", [([{"axes": ["x0"]}], "slices[0].axes"),
                                        ([{"axes": ["x0", "q"]}], "slices[0].axes"),
                                        ([{"axes": ["x0", "x1"], "at": {"x1": 0.3}}], "slices[0].at")])
def test_bad_slices_name_the_key(slices, key):
    with pytest.raises(ConfigError) as info:
        layout([f"x{i}" for i in range(4)], None, [(0.0, 1.0)] * 4, 5, slices=slices)
    assert info.value.key == key


class GriddedData(Heat):
    """No closed form: reference data on a (t, x) grid (t-major, as data files often are)."""

    def exact(self, x):
        return None

    def reference(self, generator, dtype, device, resolution=100, num_points=20_000):
        t, x = torch.linspace(0, 1, 5, dtype=dtype), torch.linspace(0, 1, 8, dtype=dtype) ** 2
        tt, xx = torch.meshgrid(t, x, indexing="ij")
        pts = torch.stack([xx.reshape(-1), tt.reshape(-1)], 1)
        return Reference(pts, Heat.exact(self, pts), grid_shape=(5, 8))


def test_reference_data_grid_is_exported_on_its_own_points(tmp_path):
    problem = GriddedData()
    ref = problem.reference(None, torch.float64, "cpu")
    lines, axis_of = grid_lines(ref.x.numpy(), ref.grid_shape)
    assert axis_of == [1, 0] and len(lines[0]) == 8 and len(lines[1]) == 5
    predict = fake_model(Heat())
    export_solution(problem, predict, tmp_path, torch.float64, "cpu", ExportSettings(resolution=50, time_steps=50))
    manifest = read_manifest(tmp_path)
    assert manifest["truth"] == "reference" and manifest["datasets"][0]["times"] == pytest.approx(lines[1].tolist())
    st = meshio.read(tmp_path / "spacetime.vtu")
    assert st.point_data["u"].shape == (40,)
    x = torch.as_tensor(st.points[:, :2])
    np.testing.assert_allclose(st.points[::5, 0], lines[0])  # x-major, t varies fastest
    np.testing.assert_allclose(st.point_data["u_exact"], Heat().exact(x)[:, 0].numpy(), atol=1e-14)


def test_grid_lines_rejects_scattered_points():
    x = np.random.default_rng(0).random((12, 2))
    assert grid_lines(x, (3, 4)) is None


def test_export_of_a_huge_dimension_is_refused_not_attempted(tmp_path, capsys):
    """At d = 10⁶ a 129² slice would need 124 GiB of inputs: the export is skipped with a message."""
    class Huge(Problem):
        name = "huge"
        variables = [f"x{i}" for i in range(1_000_000)]
        time_variable = None

        def bounds(self):
            return [(-1.0, 1.0)] * 1_000_000

        def terms(self):
            return {}

    def predict(x):
        raise AssertionError("no point should be evaluated")

    with pytest.raises(ExportTooLarge, match="GiB"):
        export_solution(Huge(), predict, tmp_path / "fields")
    write_outputs(tmp_path, Huge(), predict, torch.float32, "cpu", plots=False, report=False)
    assert "fields not exported" in capsys.readouterr().err
