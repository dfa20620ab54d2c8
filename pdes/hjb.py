"""Hamilton-Jacobi-Bellman equations in ``d`` space dimensions (SDGD paper Sec. 5.3; STDE Sec. 5).

- HJB-Lin:  ``u_t + Δu − (1/d) Σ_i |∂_i u|^{1.75} = −2``, terminal ``u(x, T) = Σ_i x_i``;
  exact ``u = Σ_i x_i + T − t``.
- HJB-Log (linear-quadratic-Gaussian control, μ = 1): ``u_t + Δu − ‖∇u‖² = 0``, terminal
  ``g(x) = log((1 + ‖x‖²)/2)``; by the Cole-Hopf transform ``w = e^{−u}`` solves the backward heat
  equation, so ``u(x, t) = −log E[exp(−g(x + √(2(T − t)) W))]``, ``W ~ N(0, I)`` (Monte Carlo reference).

The terminal condition is imposed exactly, ``u = (T − t)·MLP(x, t) + g(x)``, with analytic jets of ``g``.
Points (training and test alike): ``t ~ U[0, T]`` and ``x ~ N(0, I_d)`` (``domain="gaussian"``, the equations
are posed on ``ℝᵈ`` and the STDE experiments sample this law) or ``x`` in the unit ball with radius
``U[0, 1]`` (``domain="ball"``). The relative error depends on the law through ``‖u‖``: for HJB-Lin,
``Σ x_i`` has standard deviation ``√d`` under the Gaussian law and at most 1 in the ball.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from sciml.errors import ConfigError, positive_int
from sciml.fields import Field
from sciml.geometry import BallSampler, GaussianSampler, TimeProduct
from sciml.models.constrained import HardConstraint, TimeToGo
from sciml.problem import Problem, Reference, Term


class SumOffset:
    """``g(x) = Σ_{i<d} x_i`` with its jets along coordinates or directions."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def __call__(self, x: Tensor) -> Tensor:
        return x[:, : self.dim].sum(1)

    def jet(self, x: Tensor, dims: Tensor):
        if dims.is_floating_point():
            d1 = dims[:, : self.dim].sum(1).to(x.dtype).expand(x.shape[0], -1)
        else:
            d1 = (dims < self.dim).to(x.dtype).expand(x.shape[0], -1)
        return self(x), d1, torch.zeros_like(d1)


class LogOffset:
    """``g(x) = log((1 + ‖x‖²)/2)``: ``g_v = 2 x·v/q``, ``g_vv = 2‖v‖²/q − 4 (x·v)²/q²``, ``q = 1 + ‖x‖²``."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def __call__(self, x: Tensor) -> Tensor:
        return torch.log((1 + x[:, : self.dim].square().sum(1)) / 2)

    def jet(self, x: Tensor, dims: Tensor):
        xs = x[:, : self.dim]
        q = (1 + xs.square().sum(1)).unsqueeze(1)
        if dims.is_floating_point():
            v = dims[:, : self.dim].to(x.dtype)
            xv, vv = xs @ v.T, v.square().sum(1)
        else:
            inside = (dims < self.dim).to(x.dtype)
            xv, vv = x[:, dims] * inside, inside
        return torch.log(q[:, 0] / 2), 2 * xv / q, 2 * vv / q - 4 * xv.square() / q.square()


DOMAINS = {"gaussian": GaussianSampler, "ball": lambda dim: BallSampler(dim, law="radial")}


class _TerminalProblem(Problem):
    """Shared pieces: variables ``x0 … x{d−1}, t``, (Gaussian or ball) × ``[0, T]`` points, the terminal
    constraint."""

    def __init__(self, dim: int, horizon: float, batch_size: int, domain: str = "gaussian") -> None:
        if domain not in DOMAINS:
            raise ConfigError("domain", f"unknown domain {domain!r}; options: {', '.join(DOMAINS)}")
        self.domain = domain
        self.size = positive_int(dim, "dim")
        self.horizon = float(horizon)
        self.batch_size = positive_int(batch_size, "batch_size")
        self.variables = [f"x{i}" for i in range(self.size)] + ["t"]
        self._spatial = list(range(self.size))

    @property
    def spatial_dims(self) -> list[int]:
        return self._spatial

    def terminal(self):
        raise NotImplementedError

    def pde_residual(self, u: Field) -> Tensor:
        raise NotImplementedError

    def terms(self) -> dict[str, Term]:
        sampler = TimeProduct(DOMAINS[self.domain](self.size), 0.0, self.horizon)
        return {"pde": Term(sampler, self.pde_residual, self.batch_size)}

    def constrain(self, model: nn.Module) -> nn.Module:
        return HardConstraint(super().constrain(model), TimeToGo(self.horizon), self.terminal())


class HJBLin(_TerminalProblem):
    name = "hjb_lin"

    def __init__(self, dim: int = 100, horizon: float = 1.0, batch_size: int = 100,
                 domain: str = "gaussian") -> None:
        super().__init__(dim, horizon, batch_size, domain)

    def terminal(self) -> SumOffset:
        return SumOffset(self.size)

    def exact(self, x: Tensor) -> Tensor:
        return (x[:, : self.size].sum(1) + self.horizon - x[:, -1]).unsqueeze(1)

    def pde_residual(self, u: Field) -> Tensor:
        grad = u.grad[:, : self.size]
        return u.d("t") + u.laplacian - grad.abs().pow(1.75).sum(1) / self.size + 2


class HJBLog(_TerminalProblem):
    """HJB-Log with a Monte Carlo reference on ``reference_points`` test points (``mc_samples`` each)."""

    name = "hjb_log"
    has_reference = True

    def __init__(self, dim: int = 100, horizon: float = 1.0, batch_size: int = 100,
                 reference_points: int = 2000, mc_samples: int = 4096, domain: str = "gaussian") -> None:
        super().__init__(dim, horizon, batch_size, domain)
        self.reference_points = positive_int(reference_points, "reference_points")
        self.mc_samples = positive_int(mc_samples, "mc_samples")

    def terminal(self) -> LogOffset:
        return LogOffset(self.size)

    def pde_residual(self, u: Field) -> Tensor:
        return u.d("t") + u.laplacian - u.grad[:, : self.size].square().sum(1)

    def monte_carlo(self, x: Tensor, generator: torch.Generator, chunk: int = 64) -> Tensor:
        """``−log mean_k exp(−g(x + √(2(T − t)) W_k))`` per point (log-sum-exp), shape ``(n, 1)``."""
        g = self.terminal()
        out = []
        for start in range(0, x.shape[0], chunk):
            xs = x[start:start + chunk]
            w = torch.randn(xs.shape[0], self.mc_samples, self.size, generator=generator, dtype=xs.dtype,
                            device=xs.device)
            y = xs[:, None, : self.size] + torch.sqrt(2 * (self.horizon - xs[:, None, -1:])) * w
            values = -g(y.reshape(-1, self.size)).reshape(xs.shape[0], -1)
            log_mean = torch.logsumexp(values, dim=1) - math.log(self.mc_samples)
            out.append(-log_mean)
        return torch.cat(out).unsqueeze(1)

    def reference(self, generator: torch.Generator, dtype: torch.dtype, device: torch.device,
                  resolution: int = 100, num_points: int = 20_000) -> Reference:
        x = self.test_points(min(num_points, self.reference_points), generator, dtype, device)
        return Reference(x=x, u=self.monte_carlo(x.double(), generator).to(dtype))


__all__ = ["HJBLin", "HJBLog", "LogOffset", "SumOffset"]
