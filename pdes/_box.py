"""Shared pieces of problems posed on a box with Dirichlet data from a closed-form solution."""

from __future__ import annotations

import math

from torch import Tensor

from sciml.errors import ConfigError, positive_int
from sciml.fields import Field
from sciml.geometry import BoxBoundarySampler, BoxSampler
from sciml.problem import Problem, Term, batch_sizes


class DirichletBoxProblem(Problem):
    """``residual(u) = 0`` inside a box, ``u = exact`` on its boundary.

    Subclasses implement :meth:`exact` and :meth:`pde_residual`. With ``face_sum`` (which needs ``per_face``:
    equal shares of the boundary batch on every face) the boundary loss is the *sum* over the ``2·dim`` faces
    of each face's mean square, as Wang, Teng & Perdikaris (2020, Eq. 2.3) write it, instead of one mean over
    all boundary points (``2·dim`` times smaller); the residual is scaled by ``√(2·dim)`` to that end.
    """

    def __init__(self, dim: int, lo: float, hi: float, batch_size: int | dict[str, int],
                 per_face: bool = False, face_sum: bool = False) -> None:
        self.size = positive_int(dim, "dim")
        if not hi > lo:
            raise ConfigError("hi", f"must exceed lo, got lo={lo}, hi={hi}")
        if face_sum and not per_face:
            raise ConfigError("face_sum", "needs per_face=true (the same number of points on every face)")
        self.lo, self.hi, self.per_face = float(lo), float(hi), per_face
        self.bc_scale = math.sqrt(2 * self.size) if face_sum else 1.0
        self.variables = ["x", "y", "z"][: self.size] if self.size <= 3 else [f"x{i}" for i in range(self.size)]
        self.batch = batch_sizes(batch_size, ["pde", "bc"])

    def bounds(self) -> list[tuple[float, float]]:
        return [(self.lo, self.hi)] * self.size

    def pde_residual(self, u: Field) -> Tensor:
        raise NotImplementedError

    def bc_residual(self, u: Field) -> Tensor:
        return (u.value - self.exact(u.x)[:, 0]) * self.bc_scale

    def terms(self) -> dict[str, Term]:
        return {
            "pde": Term(BoxSampler(self.bounds()), self.pde_residual, self.batch["pde"]),
            "bc": Term(BoxBoundarySampler(self.bounds(), per_face=self.per_face), self.bc_residual,
                       self.batch["bc"]),
        }
