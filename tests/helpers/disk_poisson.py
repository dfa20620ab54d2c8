"""A user-style problem on a DeepXDE geometry: ``Δu = −4`` on the unit disk, ``u = 0`` on its circle
(exact ``u = 1 − x² − y²``), with quasi-random interior points (a sampler with state of its own)."""

from __future__ import annotations

from torch import Tensor

from sciml.geometry.samplers import DeepXDESampler, deepxde_geometry
from sciml.problem import Problem, Term


class DiskPoisson(Problem):
    name = "disk_poisson"
    variables = ["x", "y"]
    time_variable = None

    def __init__(self, method: str = "Halton") -> None:
        self.disk = deepxde_geometry("Disk", center=[0.0, 0.0], radius=1.0)
        self.method = method

    def bounds(self) -> list[tuple[float, float]]:
        return [(-1.0, 1.0), (-1.0, 1.0)]

    def exact(self, x: Tensor) -> Tensor:
        return (1 - x.square().sum(dim=1)).unsqueeze(1)

    def terms(self) -> dict[str, Term]:
        return {
            "pde": Term(DeepXDESampler(self.disk, "interior", self.method), lambda u: u.laplacian + 4.0, 64),
            "bc": Term(DeepXDESampler(self.disk, "boundary"), lambda u: u.value, 32),
        }
