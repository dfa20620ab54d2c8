"""Self-scaled BFGS / Broyden with a dense inverse Hessian (for the small networks of a PINN).

Inverse update of the self-scaled Broyden family (Oren & Luenberger 1974; Al-Baali 1998; used for PINNs
by Urbán, Stefanou & Pons 2025 and Kiyani et al. 2025), with ``s = θ⁺ − θ``, ``y = ∇L⁺ − ∇L``:

    H⁺ = τ (H − H y yᵀH / yᵀHy + φ (yᵀHy) v vᵀ) + s sᵀ / sᵀy,   v = s / sᵀy − H y / yᵀHy,

``φ = 1`` is BFGS, ``φ ∈ [0, 1)`` a restricted Broyden update; the self-scaling ``τ = min(1, sᵀy / yᵀHy)``
(Al-Baali's restriction of Oren-Luenberger's ``sᵀy / yᵀHy``) damps an overestimating ``H``. The direction
``−H∇L`` is searched with torch's strong-Wolfe line search (the one of ``torch.optim.LBFGS``); the first
step scales ``H = I`` by ``sᵀy / yᵀy``, and a line search without decrease restarts from there.
One ``step`` = one iteration (closure optimizer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lbfgs import _strong_wolfe


class SSBFGS(Optimizer):
    """Self-scaled BFGS (``phi=1``) or Broyden (``phi<1``) with strong-Wolfe line search."""

    consumes = "closure"

    def __init__(self, params: Iterable, lr: float = 1.0, phi: float = 1.0, max_line_search: int = 25,
                 tolerance_change: float = 1e-14) -> None:
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not 0.0 <= phi <= 1.0:
            raise ValueError(f"phi must lie in [0, 1], got {phi}")
        super().__init__(params, dict(lr=lr, phi=phi, max_line_search=max_line_search,
                                      tolerance_change=tolerance_change))
        self._params = [p for g in self.param_groups for p in g["params"]]

    def _flat_grad(self) -> Tensor:
        return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                          for p in self._params])

    def _flat(self) -> Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self._params])

    @torch.no_grad()
    def _assign(self, x: Tensor) -> None:
        offset = 0
        for p in self._params:
            p.copy_(x[offset:offset + p.numel()].view_as(p))
            offset += p.numel()

    def _evaluate(self, closure: Callable[[], Tensor], x: Tensor) -> tuple[float, Tensor]:
        self._assign(x)
        with torch.enable_grad():
            loss = float(closure().detach())
        return loss, self._flat_grad()

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor:
        if closure is None:
            raise ValueError("SSBFGS needs a closure that re-evaluates the loss and its gradient")
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        with torch.enable_grad():
            loss = closure()
        g = self._flat_grad()
        x = self._flat()
        h = state.get("inverse_hessian")
        d = -g if h is None else -(h @ g)
        gtd = float(g @ d)
        if gtd >= 0:  # not a descent direction: restart from the gradient
            h, d, gtd = None, -g, -float(g @ g)
        t = group["lr"] if h is not None else min(1.0, 1.0 / float(g.abs().sum().clamp_min(1e-30))) * group["lr"]
        f_new, g_new, t, _ = _strong_wolfe(lambda x0, step, direction: self._evaluate(closure, x0 + step * direction),
                                           x, t, d, float(loss), g, gtd, tolerance_change=group["tolerance_change"],
                                           max_ls=group["max_line_search"])
        s = t * d
        if not f_new < float(loss):  # the line search found no decrease: stay, restart from the gradient
            self._assign(x)
            state.pop("inverse_hessian", None)
            return loss
        self._assign(x + s)
        y = g_new - g
        sy = float(s @ y)
        if sy > torch.finfo(s.dtype).eps * float(s.norm() * y.norm()):
            if h is None:
                h = torch.eye(s.numel(), dtype=s.dtype, device=s.device) * (sy / float(y @ y))
            hy = h @ y
            yhy = float(y @ hy)
            tau = min(1.0, sy / yhy)
            v = s / sy - hy / yhy
            h = tau * (h - torch.outer(hy, hy) / yhy + group["phi"] * yhy * torch.outer(v, v)) + torch.outer(s, s) / sy
        if h is not None:
            state["inverse_hessian"] = h
        return loss
