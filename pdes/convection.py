"""Linear convection ``u_t + β u_x = 0`` on ``x ∈ [0, 2π)`` periodic, ``t ∈ [0, 1]``, ``u₀ = sin x``.

Exact solution ``u = sin(x − β t)``. The failure mode studied by Krishnapriyan et al. (NeurIPS 2021) for
``β ≳ 30``, and the benchmark of Rathore et al. (ICML 2024, β = 40, best 1.94e-3 with Adam → L-BFGS →
Newton-CG). The special case ``ν = 0`` of :class:`pdes.convection_diffusion.ConvectionDiffusion`.
"""

from __future__ import annotations

from pdes.convection_diffusion import ConvectionDiffusion


class Convection(ConvectionDiffusion):
    name = "convection"

    def __init__(self, beta: float = 40.0, t1: float = 1.0, batch_size: int | dict[str, int] | None = None,
                 periodic_bc: bool = True, hard_ic: bool = False) -> None:
        super().__init__(speed=beta, viscosity=0.0, t1=t1, batch_size=batch_size, periodic_bc=periodic_bc,
                         hard_ic=hard_ic)
