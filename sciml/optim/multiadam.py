"""MultiAdam, a parameter-wise scale-invariant optimizer for multiscale PINN losses (Yao et al., ICML 2023,
"MultiAdam: parameter-wise scale-invariant optimizer for multiscale training of physics-informed neural
networks", Algorithm 1).

The loss terms are split into ``K`` groups; group ``k`` keeps Adam moments of its own gradient ``G_k``:
``m_k ← β₁ m_k + (1 − β₁) G_k``, ``v_k ← β₂ v_k + (1 − β₂) G_k²``, ``m̂_k = m_k / (1 − β₁ᵗ)``,
``v̂_k = v_k / (1 − β₂ᵗ)``, and the update is ``θ ← θ − η (1/K) Σ_k a_k m̂_k / (√v̂_k + ε)``. Each group's
direction is invariant to the scale of its loss, which is the point: no group dominates by its size.
PINNacle's settings (the defaults): ``η = 10⁻³``, ``β = (0.99, 0.99)``, two groups, the PDE terms and the
rest (``groups=pde_rest``; ``groups=terms``: one group per term).

The balancer's decision ``α`` (the trainer hands the per-term gradients ``g_i = ∇_θ L_i`` with it,
``consumes = "term_gradients"``): a group's weight is the mean ``a_k`` of its terms' ``α_i`` and its
gradient is ``G_k = Σ_{i∈k} (α_i / a_k) g_i``. So ``α``'s ratios inside a group shape that group's gradient,
and a factor common to a group's ``α`` scales its normalised direction; with every ``α_i = 1`` (the plain
fixed weights) this is MultiAdam with ``G_k = Σ_{i∈k} g_i``, and with one group it is Adam. Weighting
balancers act through their weights; gradient-surgery balancers (PCGrad, CAGrad, GCond), whose ``α ≥ 0``
combine the term gradients into their direction, act as a per-step reweighting, as under second-order
phases: the per-group normalisation does not keep their direction. GCond decides as in those phases (one
resolution of the step's gradients, without accumulation or momentum: MultiAdam's moments are the memory).

:func:`multiadam_step` is the update of one parameter, :class:`MultiAdam` the ``torch.optim`` optimizer that
keeps the per-group moments in its state (``exp_avg``, ``exp_avg_sq``: ``(K, *p.shape)``; ``step``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from sciml.balancing.base import pde_terms
from sciml.errors import ConfigError
from sciml.optim.factory import _check_lr, make_schedule, trainable
from sciml.optim.plan import Phase

GROUPINGS = ("pde_rest", "terms")


def multiadam_step(param: Tensor, grads: Tensor, exp_avg: Tensor, exp_avg_sq: Tensor, step: int,
                   scales: Sequence[float], lr: float, betas: tuple[float, float], eps: float) -> None:
    """One MultiAdam step of ``param`` in place, the moments too: ``grads``, ``exp_avg`` and ``exp_avg_sq`` have
    one row per group (``(K, *param.shape)``), ``scales`` the group weights ``a_k``, ``step`` the step number
    ``t ≥ 1``: ``θ ← θ − η a_k / (K (1 − β₁ᵗ)) · m_k / (√v_k / √(1 − β₂ᵗ) + ε)`` for each group in turn, in
    ``torch.optim.Adam``'s arithmetic (one group with ``a = 1`` is Adam to the last bit)."""
    beta1, beta2 = betas
    exp_avg.lerp_(grads, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grads, grads, value=1 - beta2)
    bias_correction1, bias_correction2 = 1 - beta1**step, 1 - beta2**step
    for m, v, scale in zip(exp_avg, exp_avg_sq, scales):
        denom = (v.sqrt() / bias_correction2**0.5).add_(eps)
        param.addcdiv_(m, denom, value=-lr * scale / (len(scales) * bias_correction1))


class MultiAdam(Optimizer):
    """MultiAdam (module docstring); ``groups``: ``pde_rest`` (the PDE terms, :func:`pde_terms` with
    ``pde_terms``, and the rest) or ``terms``."""

    consumes = "term_gradients"

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: Sequence[float] = (0.99, 0.99), eps: float = 1e-8,
                 groups: str = "pde_rest", pde_terms: list[str] | None = None) -> None:
        betas = tuple(float(b) for b in betas)
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ConfigError("betas", f"must be two numbers in [0, 1), got {list(betas)}")
        if not float(eps) > 0:
            raise ConfigError("eps", f"must be positive, got {eps}")
        if groups not in GROUPINGS:
            raise ConfigError("groups", f"unknown grouping {groups!r}; options: {', '.join(GROUPINGS)}")
        super().__init__(params, dict(lr=_check_lr(lr), betas=betas, eps=float(eps)))
        self.grouping, self.chosen_pde = groups, pde_terms

    def loss_groups(self, names: list[str], declared: Sequence[str] | None = None) -> list[list[str]]:
        """The terms of each group (a ``pde_rest`` grouping without other terms has one group); ``declared``:
        the problem's PDE terms (:func:`~sciml.balancing.base.pde_terms`)."""
        if self.grouping == "terms":
            return [[n] for n in names]
        try:
            pde = pde_terms(names, self.chosen_pde, declared)
        except ConfigError as error:
            raise error.prefixed("optimizer") from None
        rest = [n for n in names if n not in pde]
        return [pde, rest] if rest else [pde]

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None, *,
             term_gradients: Mapping[str, Sequence[Tensor]], weights: Mapping[str, float],
             pde_terms: Sequence[str] | None = None) -> Tensor | None:
        """One step from ``term_gradients`` (per term, one gradient per parameter in the order of
        ``param_groups``), the balancer's ``weights`` ``α`` (per term) and the problem's PDE terms
        ``pde_terms`` (``None``: the rule of :func:`~sciml.balancing.base.pde_terms`)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        groups = self.loss_groups(list(term_gradients), pde_terms)
        scales = [sum(float(weights[n]) for n in members) / len(members) for members in groups]
        shares = [{n: float(weights[n]) / max(a, torch.finfo(torch.float64).tiny) for n in members}
                  for members, a in zip(groups, scales)]
        index = 0
        for group in self.param_groups:
            for p in group["params"]:
                if any(grads[index].shape != p.shape for grads in term_gradients.values()):
                    raise ValueError(f"term gradient {index} does not match parameter {index} of shape "
                                     f"{tuple(p.shape)}: pass them in the order of param_groups")
                stacked = torch.stack([sum(w * term_gradients[n][index] for n, w in share.items())
                                       for share in shares])
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float64)
                    state["exp_avg"] = torch.zeros_like(stacked, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(stacked, memory_format=torch.preserve_format)
                state["step"] += 1
                multiadam_step(p, stacked, state["exp_avg"], state["exp_avg_sq"], int(state["step"]), scales,
                               group["lr"], group["betas"], group["eps"])
                index += 1
        return loss


def multiadam(model: nn.Module, steps: int, lr: float = 1e-3, betas: Sequence[float] = (0.99, 0.99),
              eps: float = 1e-8, groups: str = "pde_rest", pde_terms: list[str] | None = None,
              schedule: str = "constant", decay_rate: float = 0.9, decay_steps: int = 1000,
              final_fraction: float = 0.0, phase_steps: int | None = None) -> Phase:
    """MultiAdam on the trainable parameters, with Adam's schedules (:func:`~sciml.optim.factory.adam`)."""
    opt = MultiAdam(trainable(model), lr=lr, betas=betas, eps=eps, groups=groups, pde_terms=pde_terms)
    return Phase("multiadam", opt, make_schedule(opt, schedule, phase_steps or steps, decay_rate, decay_steps,
                                                 final_fraction), phase_steps)
