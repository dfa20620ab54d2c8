"""How far PINNacle's Heat2d-LT reference (COMSOL, data/pinnacle/heat_longtime.npz) lies from solutions of its PDE
computed here, and how far those lie from each other: the L2RE a network equal to each would score.

``u_t = 0.001 Δu + 5 sin(u²)(1 + 2 sin(πt/4)) sin(4πx) sin(2πy)`` on ``[0, 1]²``, ``u = 0`` on the boundary,
``u(·, 0) = sin(4πx) sin(3πy)`` (pdes/pinnacle/heat2d_lt.py), by the method of lines: the 5-point Laplacian on an
``N × N`` grid (``N`` a multiple of 96, so the reference's nodes ``x = (2i + 1)/32``, ``y = (2j + 1)/24`` are grid
points) and classical Runge-Kutta 4 with a fixed step. Near ``|u| = √π`` the reaction ``5 c F(t) sin(u²)`` is
unstable whenever ``c F(t) < 0``, where ``c = sin(4πx) sin(2πy)`` and ``F(t) = 1 + 2 sin(πt/4)``: deviations grow
by a large factor in each period, so a solution's later periods depend on small differences in the earlier ones.
Run: ``python benchmarks/pinnacle/heat2d_lt_reference_error.py [N dt ...]`` (pairs; default ``96 0.01 96 0.005
192 0.005``).
"""

import sys

import numpy as np

from pdes.pinnacle._common import crossed, load
from pdes.pinnacle.heat2d_lt import Heat2DLongTime


def solve(n: int, dt: float, times: np.ndarray) -> np.ndarray:
    """``u`` on the ``(n + 1)²`` grid at ``times`` (multiples of ``dt``), ``(len(times), n + 1, n + 1)``."""
    grid = np.linspace(0.0, 1.0, n + 1)
    x, y = np.meshgrid(grid, grid, indexing="ij")
    c = 5 * np.sin(4 * np.pi * x) * np.sin(2 * np.pi * y)
    u = np.sin(4 * np.pi * x) * np.sin(3 * np.pi * y)
    u[0, :] = u[-1, :] = u[:, 0] = u[:, -1] = 0.0
    scale = 0.001 * n * n

    def rate(v: np.ndarray, t: float) -> np.ndarray:
        out = np.zeros_like(v)
        inner = v[1:-1, 1:-1]
        out[1:-1, 1:-1] = (scale * (v[2:, 1:-1] + v[:-2, 1:-1] + v[1:-1, 2:] + v[1:-1, :-2] - 4 * inner)
                           + c[1:-1, 1:-1] * (1 + 2 * np.sin(np.pi * t / 4)) * np.sin(inner**2))
        return out

    out, t = [], 0.0
    for target in times:
        steps = round((target - t) / dt)
        for _ in range(steps):
            k1 = rate(u, t)
            k2 = rate(u + dt / 2 * k1, t + dt / 2)
            k3 = rate(u + dt / 2 * k2, t + dt / 2)
            k4 = rate(u + dt * k3, t + dt)
            u = u + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            t += dt
        t = float(target)
        out.append(u.copy())
    return np.stack(out)


def at_nodes(field: np.ndarray, n: int, nodes: np.ndarray) -> np.ndarray:
    """Grid values at the reference's nodes (grid points when ``n`` is a multiple of 96), ``(levels, nodes)``."""
    i, j = np.rint(nodes[:, 0] * n).astype(int), np.rint(nodes[:, 1] * n).astype(int)
    assert np.allclose(i / n, nodes[:, 0]) and np.allclose(j / n, nodes[:, 1]), "n must be a multiple of 96"
    return field[:, i, j]


def l2re(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def main() -> None:
    args = [float(a) for a in sys.argv[1:]] or [96, 0.01, 96, 0.005, 192, 0.005]
    data = load(Heat2DLongTime.data_file)
    nodes, times, ref = data["nodes"].astype(np.float64), data["times"].astype(np.float64), data["values"][..., 0].T
    assert crossed(data)[0].shape[0] == ref.size
    solutions = {}
    for n, dt in zip(args[::2], args[1::2]):
        solutions[(int(n), dt)] = at_nodes(solve(int(n), dt, times), int(n), nodes)
    first = times <= 8.0
    print("| solution | L2RE of the reference against it | t ≤ 8 only |")
    print("|---|---|---|")
    for (n, dt), u in solutions.items():
        print(f"| N = {n}, dt = {dt} | {l2re(ref.T, u.T):.3f} | {l2re(ref[first], u[first]):.3f} |")
    keys = list(solutions)
    for a, b in zip(keys, keys[1:]):
        print(f"| N = {a[0]}, dt = {a[1]} against N = {b[0]}, dt = {b[1]} | {l2re(solutions[a], solutions[b]):.3f} "
              f"| {l2re(solutions[a][first], solutions[b][first]):.3f} |")


if __name__ == "__main__":
    main()
