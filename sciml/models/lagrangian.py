"""The two-branch network of the Lagrangian PINN (Mojgani, Balajewicz & Hassanzadeh, CMAME 2023, Sec. 3).

Inputs are ``(ξ, t)``: ``ξ`` labels the particle by its position at ``t = 0``. The characteristic branch
gives its position ``X(ξ, t) = ξ + s·N_X(ξ, t)`` (depth 2, width 50 in the paper); the scale ``s``
(e.g. the transport speed ``c``) keeps ``N_X = O(1)`` for long displacements. With ``exact_start=True``
(default) it is ``X = ξ + s·t·N_X``, so ``X(ξ, 0) = ξ`` holds exactly (time starts at 0). ``N_X`` starts as
the constant ``x_start`` (its last layer is zero but for that bias): ``0`` starts from resting particles,
``1`` from the characteristics of the transport speed ``s`` (exact for constant-speed convection), which
keeps ``X_ξ`` away from 0 early in training when ``s`` is large. The state branch
gives ``U(ξ, t) = N_U(ξ, t)`` (depth 5, width 50). Outputs are ``[X, U_1, ..., U_k]``.

With ``period=L`` both branches see ``ξ`` through a :class:`~sciml.models.periodic.PeriodicEmbedding`, so
``X(ξ + L, t) = X(ξ, t) + L`` and ``U(ξ + L, t) = U(ξ, t)`` hold exactly (periodic domains).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sciml.engines.base import coordinate_jet
from sciml.errors import ConfigError
from sciml.models.jets import direction_matrix
from sciml.models.mlp import MLP
from sciml.models.periodic import PeriodicMLP


class LagrangianNet(nn.Module):
    """``(ξ, t) ↦ [X, U]``: characteristic and state branches, each an MLP (or a periodic MLP)."""

    def __init__(self, in_dim: int, out_dim: int, x_width: int = 50, x_depth: int = 2, u_width: int = 50,
                 u_depth: int = 5, activation: str = "tanh", init: str = "xavier_normal",
                 period: float | None = None, harmonics: int = 1, x_scale: float = 1.0,
                 exact_start: bool = True, x_start: float = 0.0,
                 input_stats: tuple[Tensor, Tensor] | None = None) -> None:
        super().__init__()
        if in_dim != 2:
            raise ConfigError("model", f"the Lagrangian net takes (ξ, t), so in_dim must be 2, got {in_dim}")
        if not float(x_scale) >= 0:
            raise ConfigError("x_scale", f"must be non-negative, got {x_scale}")
        self.state_dim, self.x_scale, self.exact_start = out_dim, float(x_scale), exact_start

        def branch(out: int, width: int, depth: int) -> nn.Module:
            if period is None:
                return MLP(2, out, width, depth, activation, init, input_stats=input_stats)
            return PeriodicMLP(2, out, [period, None], harmonics, width, depth, activation, init, input_stats)

        self.characteristic = branch(1, x_width, x_depth)
        last = [m for m in self.characteristic.modules() if isinstance(m, nn.Linear)][-1]
        nn.init.zeros_(last.weight)  # start from X = ξ + s·t·x_start: no particles cross (X_ξ = 1)
        nn.init.constant_(last.bias, float(x_start))
        self.state = branch(out_dim, u_width, u_depth)

    def forward(self, x: Tensor) -> Tensor:
        shift = self.characteristic(x) * (x[:, 1:2] if self.exact_start else 1.0)
        return torch.cat([x[:, :1] + self.x_scale * shift, self.state(x)], dim=1)

    def taylor(self, x: Tensor, dims: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Value, first and second derivatives of ``[X, U]`` along ``dims`` (coordinates or directions ``v``,
        see :func:`coordinate_jet`)."""
        xs, x1, x2 = coordinate_jet(self.characteristic, x, dims)
        us, u1, u2 = coordinate_jet(self.state, x, dims)
        along = direction_matrix(dims, x.shape[1], x1).unsqueeze(0)  # (1, m, 2): components (v_ξ, v_t)
        if self.exact_start:  # product rule for t·N_X along v: (t N)' = t N' + v_t N, (t N)'' = t N'' + 2 v_t N'
            t, along_t = x[:, 1:2].unsqueeze(1), along[..., 1:2]
            xs, x1, x2 = x[:, 1:2] * xs, t * x1 + xs.unsqueeze(1) * along_t, t * x2 + 2 * x1 * along_t
        # ξ itself: first derivative v_ξ, second 0
        s = self.x_scale
        x1 = s * x1 + along[..., 0:1]
        return (torch.cat([x[:, :1] + s * xs, us], dim=1), torch.cat([x1, u1], dim=2),
                torch.cat([s * x2, u2], dim=2))
