"""Steady incompressible Navier-Stokes, ``ν = 1/100``, outputs ``(u, v, p)`` (PINNACLE.md §2.11–2.12):

    u u_x + v u_y + p_x − νΔu = 0,    u v_x + v v_y + p_y − νΔv = 0,    u_x + v_y = 0.

- NS2d-C (``NS2DLidDriven``, PINNacle's ``NS2D_LidDriven`` with ``a = 4``): the cavity ``[0, 1]²``, lid
  ``u = a x(1 − x)``, ``v = 0`` at ``y = 1``, ``u = v = 0`` on the other walls, and the gauge ``p(0, 0) = 0`` as
  a one-point data term. Loss terms ``mom_x, mom_y, cont, top_u, top_v, wall_u, wall_v, p_point``. Scored on
  ``lid_driven_a4.npz`` (10,201 nodes).
- NS2d-CG (``NS2DBackStep``, PINNacle's ``NS2D_BackStep`` without obstacles): the backward-facing step
  ``[0, 4] × [0, 2]`` minus ``[0, 2] × [1, 2]``, inlet ``u = 4y(1 − y)``, ``v = 0`` at ``x = 0``, outlet ``p = 0`` at
  ``x = 4`` (pointwise, as coded; §1.8 item 5), ``u = v = 0`` on every other segment. Loss terms ``mom_x, mom_y,
  cont, in_u, in_v, out_p, wall_u, wall_v``. Scored on ``ns_0_obstacle.npz`` (12,910 nodes).

Points 8,192 / 2,048, the boundary points shared among the conditions by length. The L2RE is joint over
``(u, v, p)``.

NS2d-C with ``hard_bc=True`` imposes the wall and lid conditions exactly (the ``top_*`` and ``wall_*`` terms are
dropped; the gauge stays a data term) with an approximate distance function in the manner of Sukumar &
Srivastava 2022 (CMAME 389, 114333): ``u = g + φ N_u``, ``v = φ N_v``, ``p = N_p`` with ``φ = 16 x(1 − x) y(1 − y)``
(zero on the four walls, 1 at the centre) and the lift ``g = a x(1 − x) y`` (the lid profile at ``y = 1``, zero on
the other walls).

NS2d-CG with ``hard_bc=True`` imposes every condition exactly (only the three residuals are left): ``u = g + φ N_u``,
``v = φ N_v``, ``p = (1 − x/4) N_p`` (zero at the outlet), with ``φ = x y (2 − y) ψ / 8`` and ``ψ = a ∨ b`` the
R-disjunction of ``a = 1 − y`` and ``b = x − 2`` (zero on both faces of the step, positive in the channel; not
smooth at the re-entrant corner only, where the flow is not either: within 0.01 of it the factor's derivatives
are those of ``r = 0.01``), and the lift ``g = 4y(1 − y) (1 − x/2)³₊`` (the
inlet's profile at ``x = 0``, zero on every wall, twice continuously differentiable).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pdes.pinnacle._common import BASE, PinnacleProblem
from sciml.fields import Field
from sciml.geometry import Box, Difference, FixedPoints
from sciml.models.constrained import (
    Constant,
    FromJet,
    HardConstraint,
    Jet,
    PerOutput,
    affine_jet,
    box_jet,
    direction_matrix,
    jet_product,
    jet_union,
)
from sciml.problem import SharedPoints, Term


class SteadyNavierStokes(PinnacleProblem):
    """The momentum and continuity residuals; subclasses add their conditions."""

    variables = ["x", "y"]
    outputs = ["u", "v", "p"]
    time_variable = None
    time = None
    counts = BASE
    viscosity = 0.01
    hard_bc = False
    pde_term_names = ("mom_x", "mom_y", "cont")

    def mom_x(self, f: Field) -> Tensor:
        """``u u_x + v u_y + p_x − νΔu``."""
        u, v = f["u"], f["v"]
        return u.value * u.d("x") + v.value * u.d("y") + f["p"].d("x") - self.viscosity * u.laplacian

    def mom_y(self, f: Field) -> Tensor:
        """``u v_x + v v_y + p_y − νΔv``."""
        u, v = f["u"], f["v"]
        return u.value * v.d("x") + v.value * v.d("y") + f["p"].d("y") - self.viscosity * v.laplacian

    def cont(self, f: Field) -> Tensor:
        """``u_x + v_y``."""
        return f["u"].d("x") + f["v"].d("y")

    def pde_terms(self) -> dict[str, Term]:
        """The three residuals at one point set (PINNacle evaluates its PDE's components together): the
        second and third take the first's points (:class:`~sciml.problem.SharedPoints`), so a step evaluates
        the network's jets once for the three."""
        first, *rest = self.pde_term_names
        sampler = self.residual_sampler()
        return {first: Term(sampler, getattr(self, first), self.batch[first]),
                **{name: Term(SharedPoints(first, sampler), getattr(self, name), self.batch[name]) for name in rest}}

    def terms(self) -> dict[str, Term]:
        """The residuals, the conditions unless ``hard_bc`` imposes them, and the terms every variant keeps."""
        conditions = {} if self.hard_bc else self.condition_terms()
        return {**self.pde_terms(), **conditions, **self.kept_terms()}

    def kept_terms(self) -> dict[str, Term]:
        """Terms left as loss terms with ``hard_bc`` too (none unless a subclass says)."""
        return {}

    def condition_terms(self) -> dict[str, Term]:
        """The boundary conditions as loss terms (dropped with ``hard_bc``)."""
        raise NotImplementedError

    def hard_parts(self) -> tuple[PerOutput, PerOutput]:
        """The per-output factor and offset of ``u = g + φ N`` that impose the conditions (``hard_bc``)."""
        raise NotImplementedError

    def constrain(self, model: nn.Module) -> nn.Module:
        """``(u, v, p) = g + φ N`` with ``hard_bc`` (:meth:`hard_parts`), else the network itself."""
        model = super().constrain(model)
        return HardConstraint(model, *self.hard_parts()) if self.hard_bc else model

    @staticmethod
    def zero(component: str):
        """The residual ``f[component]`` of the condition ``component = 0``."""
        def residual(f: Field) -> Tensor:
            return f[component].value
        return residual


class CavityFactor(FromJet):
    """``φ = 16 x(1 − x) y(1 − y)``: zero on the walls of ``[0, 1]²``, 1 at its centre."""

    def jet(self, x: Tensor, dims: Tensor) -> Jet:
        value, d1, d2 = box_jet(x, dims, [(0.0, 1.0), (0.0, 1.0)])
        return 16 * value, 16 * d1, 16 * d2


class LidLift(FromJet):
    """``g = a x(1 − x) y``: the lid's velocity at ``y = 1``, zero on the other three walls."""

    def __init__(self, lid: float) -> None:
        self.lid = lid

    def jet(self, x: Tensor, dims: Tensor) -> Jet:
        v, n = direction_matrix(x, dims), x.shape[0]
        profile = box_jet(x, dims, [(0.0, 1.0)])
        height = (x[:, 1], v[:, 1].expand(n, -1), x.new_zeros(n, v.shape[0]))
        value, d1, d2 = jet_product(profile, height)
        return self.lid * value, self.lid * d1, self.lid * d2


class NS2DLidDriven(SteadyNavierStokes):
    name = "pinnacle_ns2d_c"
    data_file = "lid_driven_a4.npz"
    walls = ("box.lo0", "box.hi0", "box.lo1")

    def __init__(self, lid: float = 4.0, sampling: str = "hammersley",
                 batch_size: int | dict[str, int] | None = None, hard_bc: bool = False) -> None:
        self.lid, self.hard_bc = float(lid), bool(hard_bc)
        self.space = Difference(Box([(0.0, 1.0), (0.0, 1.0)]))
        pde = self.counts["domain"] + self.counts["boundary"]
        defaults = {"mom_x": pde, "mom_y": pde, "cont": pde, "p_point": 1}
        if not self.hard_bc:
            shares = self.boundary_shares({"top": "box.hi1", "wall": list(self.walls)})
            defaults |= {"top_u": shares["top"], "top_v": shares["top"], "wall_u": shares["wall"],
                         "wall_v": shares["wall"]}
        self.setup(sampling, batch_size, defaults)

    def top_u(self, f: Field) -> Tensor:
        """``u − a x(1 − x)`` on the lid."""
        x = f.var("x")
        return f["u"].value - self.lid * x * (1 - x)

    def kept_terms(self) -> dict[str, Term]:
        """The pressure gauge ``p(0, 0) = 0``."""
        gauge = FixedPoints(torch.zeros(1, 2, dtype=torch.float64))
        return {"p_point": Term(gauge, self.zero("p"), self.batch["p_point"])}

    def condition_terms(self) -> dict[str, Term]:
        return {
            "top_u": Term(self.boundary_sampler("box.hi1"), self.top_u, self.batch["top_u"]),
            "top_v": Term(self.boundary_sampler("box.hi1"), self.zero("v"), self.batch["top_v"]),
            "wall_u": Term(self.boundary_sampler(list(self.walls)), self.zero("u"), self.batch["wall_u"]),
            "wall_v": Term(self.boundary_sampler(list(self.walls)), self.zero("v"), self.batch["wall_v"]),
        }

    def hard_parts(self) -> tuple[PerOutput, PerOutput]:
        """``u = g + φ N_u``, ``v = φ N_v``, ``p = N_p`` (the module docstring)."""
        factor = CavityFactor()
        return (PerOutput([factor, factor, Constant(1.0)]),
                PerOutput([LidLift(self.lid), Constant(0.0), Constant(0.0)]))


class StepFactor(FromJet):
    """``φ = x y (2 − y) (a ∨ b) / 8``, ``a = 1 − y``, ``b = x − 2``: zero on the inlet and on every wall of the
    back-step channel, positive inside it and on the outlet (the module docstring). Within ``corner_floor`` of
    the step's corner the derivatives take ``r = corner_floor`` in their denominators (the protocol's boundary
    points include the corner itself, where the second derivatives of ``a ∨ b`` are infinite)."""

    corner_floor = 1e-2

    def jet(self, x: Tensor, dims: Tensor) -> Jet:
        corner = jet_union(affine_jet(x, dims, (0.0, -1.0), 1.0), affine_jet(x, dims, (1.0, 0.0), -2.0),
                           floor=self.corner_floor)
        channel = jet_product(affine_jet(x, dims, (0.0, 1.0)), affine_jet(x, dims, (0.0, -1.0), 2.0))
        walls = jet_product(affine_jet(x, dims, (1.0, 0.0)), channel)
        value, d1, d2 = jet_product(walls, corner)
        return value / 8, d1 / 8, d2 / 8


class InletLift(FromJet):
    """``g = 4y(1 − y) r³``, ``r = max(1 − x/2, 0)``: the inlet profile at ``x = 0``, zero on every wall."""

    def jet(self, x: Tensor, dims: Tensor) -> Jet:
        v, n = direction_matrix(x, dims), x.shape[0]
        r = (1 - x[:, 0] / 2).clamp_min(0)
        vx = v[:, 0].expand(n, -1)
        decay = (r**3, -1.5 * r.square()[:, None] * vx, 1.5 * r[:, None] * vx.square())
        profile = jet_product(affine_jet(x, dims, (0.0, 4.0)), affine_jet(x, dims, (0.0, -1.0), 1.0))
        return jet_product(profile, decay)


class OutletFactor(FromJet):
    """``1 − x/4``: zero at the outlet ``x = 4``, where ``p = 0``."""

    def jet(self, x: Tensor, dims: Tensor) -> Jet:
        return affine_jet(x, dims, (-0.25, 0.0), 1.0)


class NS2DBackStep(SteadyNavierStokes):
    name = "pinnacle_ns2d_cg"
    data_file = "ns_0_obstacle.npz"
    inlet, outlet = "box.lo0", "box.hi0"
    walls = ("box.lo1", "box.hi1", "step.*")

    def __init__(self, sampling: str = "hammersley", batch_size: int | dict[str, int] | None = None,
                 hard_bc: bool = False) -> None:
        self.hard_bc = bool(hard_bc)
        self.space = Difference(Box([(0.0, 4.0), (0.0, 2.0)]), [Box([(0.0, 2.0), (1.0, 2.0)])], names=["box", "step"])
        pde = self.counts["domain"] + self.counts["boundary"]
        defaults = {"mom_x": pde, "mom_y": pde, "cont": pde}
        if not self.hard_bc:
            shares = self.boundary_shares({"in": self.inlet, "out": self.outlet, "wall": list(self.walls)})
            defaults |= {"in_u": shares["in"], "in_v": shares["in"], "out_p": shares["out"],
                         "wall_u": shares["wall"], "wall_v": shares["wall"]}
        self.setup(sampling, batch_size, defaults)

    def in_u(self, f: Field) -> Tensor:
        """``u − 4y(1 − y)`` at the inlet."""
        y = f.var("y")
        return f["u"].value - 4 * y * (1 - y)

    def hard_parts(self) -> tuple[PerOutput, PerOutput]:
        """``u = g + φ N_u``, ``v = φ N_v``, ``p = (1 − x/4) N_p`` (the module docstring)."""
        factor = StepFactor()
        return (PerOutput([factor, factor, OutletFactor()]),
                PerOutput([InletLift(), Constant(0.0), Constant(0.0)]))

    def condition_terms(self) -> dict[str, Term]:
        return {
            "in_u": Term(self.boundary_sampler(self.inlet), self.in_u, self.batch["in_u"]),
            "in_v": Term(self.boundary_sampler(self.inlet), self.zero("v"), self.batch["in_v"]),
            "out_p": Term(self.boundary_sampler(self.outlet), self.zero("p"), self.batch["out_p"]),
            "wall_u": Term(self.boundary_sampler(list(self.walls)), self.zero("u"), self.batch["wall_u"]),
            "wall_v": Term(self.boundary_sampler(list(self.walls)), self.zero("v"), self.batch["wall_v"]),
        }
