"""Loss weights from the neural tangent kernel (Wang, Yu & Perdikaris 2022, "When and why PINNs fail to train:
a neural tangent kernel perspective", J. Comput. Phys. 449, Algorithm 1), in two variants.

``trace`` (Algorithm 1): ``λ_i = Σ_j t_j / t_i`` with ``t_i = tr K_ii / n_i = mean_x ‖∇_θ r_i(x)‖²``, the
mean diagonal of term ``i``'s kernel block. The paper's traces are sums over the points; the mean is taken
here because a term's loss is the *mean* square of its ``n_i`` residuals: under gradient flow on
``Σ_j λ_j L_j`` the residuals of term ``i`` move with the kernel ``2 λ_i K_ii / n_i``, so equal rates need
``λ_i ∝ n_i / tr K_ii`` (with equal batch sizes both agree). The per-point gradients are the rows of the
term's residual Jacobian (:func:`~sciml.optim.gauss_newton.residual_jacobian`), about one backward pass per
residual: ``period`` spreads that cost.

``pinnacle`` (PINNacle, Hao et al. 2024, the default): from signed sums of the raw residuals,
``g_r = ∇_θ Σ_x r_pde(x)`` over the PDE terms and ``g_b = ∇_θ Σ_x r(x)`` over every other term; each PDE
term gets ``(‖g_r‖² + ‖g_b‖²) / ‖g_r‖²``, every other term ``(‖g_r‖² + ‖g_b‖²) / ‖g_b‖²``. Two backward
passes per update.

The weights replace the problem's term weights (those hold only before the first update), are recomputed
every ``period`` steps from the step's residual vectors (the trainer hands them over: ``needs_residuals``)
and kept in between. A weight whose kernel part vanishes (``g_r = 0`` or ``t_i = 0``: no rate to balance, as
in a saturated network) would be infinite and keeps its previous value. The PDE terms are
:func:`~sciml.balancing.base.pde_terms` (``pde`` by name, or the terms listed in ``pde_terms``). Under data
parallelism the gradients (``pinnacle``) and the mean traces (``trace``) are averaged over ranks, which
scales every ``t_i`` or squared norm alike: the weights are those of the whole batch.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.balancing.base import Balancer, pde_terms
from sciml.collective import average
from sciml.errors import ConfigError, positive_int
from sciml.optim.gauss_newton import residual_jacobian

VARIANTS = ("pinnacle", "trace")


class NTKWeights(Balancer):
    """NTK weights (module docstring): ``variant`` ``pinnacle`` or ``trace``, recomputed every ``period``
    steps; ``pde_terms`` lists the PDE terms (``None``: ``pde``, else the first term)."""

    needs_residuals = True

    def __init__(self, variant: str = "pinnacle", period: int = 1, pde_terms: list[str] | None = None) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ConfigError("variant", f"unknown variant {variant!r}; options: {', '.join(VARIANTS)}")
        self.variant = variant
        self.period = positive_int(period, "period")
        self.chosen_pde = pde_terms
        self.pde: list[bool] = []

    def setup(self, names, params, initial=None, pde=None) -> None:
        chosen = pde_terms(list(names), self.chosen_pde, pde)
        self.pde = [n in chosen for n in names]
        super().setup(names, params, initial, pde)

    def side_norm(self, residuals: dict[str, Tensor], pde: bool) -> Tensor:
        """``‖∇_θ Σ_x r(x)‖²`` over the PDE terms (``pde``) or over the others; 0 when there are none."""
        sums = [residuals[n].sum() for n, is_pde in zip(self.names, self.pde) if is_pde == pde]
        if not sums:
            return torch.zeros((), dtype=torch.float64, device=self.weights.device)
        return sum(g.double().square().sum() for g in self.gradient_of(sum(sums)))

    def pinnacle_weights(self, residuals: dict[str, Tensor]) -> Tensor:
        """PINNacle's weights from ``‖g_r‖²`` and ``‖g_b‖²`` (module docstring)."""
        g_r, g_b = self.side_norm(residuals, True), self.side_norm(residuals, False)
        pde_weight, other_weight = (g_r + g_b) / g_r, (g_r + g_b) / g_b
        return torch.stack([pde_weight if is_pde else other_weight for is_pde in self.pde])

    def trace_weights(self, residuals: dict[str, Tensor]) -> Tensor:
        """Algorithm 1's weights ``Σ_j t_j / t_i`` from the mean kernel diagonals ``t_i`` (module docstring)."""
        traces = torch.stack([residual_jacobian(residuals[n], self.params).double().square().sum()
                              / residuals[n].numel() for n in self.names])
        average([traces])
        return traces.sum() / traces

    def update(self, losses: dict[str, Tensor], step: int, first_order: bool) -> Tensor:
        if step % self.period == 0:
            residuals = self.residuals()
            weights = self.pinnacle_weights(residuals) if self.variant == "pinnacle" else self.trace_weights(residuals)
            weights = weights.detach().to(self.weights)
            self.weights = torch.where(torch.isfinite(weights), weights, self.weights)
        return self.weights
