"""GCond, the gradient conductor (arXiv 2509.07252), ported to PINNs in the working precision.

The tasks are the loss terms with their fixed weights, ``g_k = w_k ∇_θ L_k``. One resolution:

1. **Accumulation.** Task gradients are accumulated over ``accumulation`` micro-batches; a micro-batch is one
   trainer step with its fresh collocation points. In ``stochastic`` mode micro-batch ``j`` only computes
   task ``j mod K`` (each task gets a share of the micro-batches, a K-fold saving). Between resolutions no
   gradient is written (``p.grad`` stays ``None``, so the optimizer skips the parameters).
2. **Norm statistics.** An EMA of every ``‖g_k‖`` (``β = 0.95``; the first resolution takes the norm).
3. **Conflict loop**, at most ``2K`` rounds: take the pair with the lowest cosine ``c``; stop once
   ``c ≥ t_weak``. Arbitrate with the score ``0.8 max(0, cos(g_k, g_k^prev)) + 0.2 ‖g_k‖ / EMA_k``
   (from this resolution's raw gradients and the EMA before it); the higher score wins, except that a
   task that has won 3 times in a row is made the loser. Map ``c`` to an angle (:func:`conflict_angle`)
   and update the pair simultaneously (:func:`pair_update`).
4. **Momentum.** ``d = Σ_k g_k``; ``m ← 0.85 m + 0.15 d``; the gradient is ``m / (1 − 0.85^t)``. Run the
   optimizer with ``β₁ = 0`` (e.g. ``optimizer.betas=[0,0.999]``) so momentum is not applied twice.

The resolved rows are non-negative combinations of the task gradients (every pair update adds a
non-negative multiple of the other row), tracked as a coefficient matrix ``C`` with rows ``Σ_m C_km g_m``.
Under a second-order phase (L-BFGS, Gauss-Newton: :mod:`sciml.balancing.base`) one resolution is made per
step on that step's gradients, without accumulation or momentum, and the decision is the objective
weights ``α_m = w_m Σ_k C_km``, whose gradient at the step's start is the resolved direction. In a
first-order phase the decision is the term weights and the direction (with accumulation and momentum) is
written as the gradient.

The original keeps gradients in bf16; here every buffer has the parameters' dtype (float32 or float64), as
second-derivative residuals need.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from sciml.balancing.base import Balancer
from sciml.errors import ConfigError, positive_int

MODES = ("full", "stochastic")


def conflict_angle(c: float, t_crit: float = -0.8, t_main: float = -0.5, t_weak: float = 0.0) -> float:
    """Smooth map of a cosine ``c < t_weak`` to a correction angle ``α ∈ [0, π]``.

    ``α = (π/2)(1 − (c − t_main)/(t_weak − t_main))`` on ``[t_main, t_weak]``,
    ``α = π/2 + (π/2)((c − t_main)/(t_crit − t_main))²`` on ``[t_crit, t_main)``, ``α = π`` below ``t_crit``.
    """
    if c >= t_weak:
        return 0.0
    if c >= t_main:
        return (math.pi / 2) * (1 - (c - t_main) / (t_weak - t_main))
    if c >= t_crit:
        return math.pi / 2 + (math.pi / 2) * ((c - t_main) / (t_crit - t_main)) ** 2
    return math.pi


def pair_factors(winner: Tensor, loser: Tensor, alpha: float) -> tuple[Tensor, Tensor]:
    """``(a, b)`` of the pair update ``g_w ← g_w − a g_l``, ``g_l ← g_l − b g_w`` by the angle ``alpha``:
    ``a = sin α · g_w·g_l/‖g_l‖²``, ``b = sin(min(α, π/2)) · g_w·g_l/‖g_w‖²``."""
    tiny = torch.finfo(winner.dtype).tiny
    dot = winner @ loser
    return (math.sin(alpha) * dot / (loser @ loser).clamp_min(tiny),
            math.sin(min(alpha, math.pi / 2)) * dot / (winner @ winner).clamp_min(tiny))


def pair_update(winner: Tensor, loser: Tensor, alpha: float) -> tuple[Tensor, Tensor]:
    """Simultaneous correction of a conflicting pair by the angle ``alpha``:

    ``g_w ← g_w − sin α · (g_w·g_l/‖g_l‖²) g_l``, ``g_l ← g_l − sin(min(α, π/2)) · (g_w·g_l/‖g_w‖²) g_w``.
    """
    a, b = pair_factors(winner, loser, alpha)
    return winner - a * loser, loser - b * winner


def cosine_matrix(grads: Tensor) -> Tensor:
    norms = grads.norm(dim=1).clamp_min(torch.finfo(grads.dtype).tiny)
    return (grads @ grads.T) / norms.unsqueeze(1) / norms.unsqueeze(0)


class GCond(Balancer):
    def __init__(self, accumulation: int = 1, mode: str = "full", norm_decay: float = 0.95,
                 momentum: float = 0.85, thresholds: tuple[float, float, float] = (-0.8, -0.5, 0.0),
                 max_wins: int = 3, score_mix: float = 0.8) -> None:
        super().__init__()
        self.accumulation = positive_int(accumulation, "accumulation")
        if mode not in MODES:
            raise ConfigError("mode", f"unknown mode {mode!r}; options: {', '.join(MODES)}")
        t_crit, t_main, t_weak = (float(t) for t in thresholds)
        if not t_crit < t_main < t_weak:
            raise ConfigError("thresholds", f"need t_crit < t_main < t_weak, got {list(thresholds)}")
        for key, value in (("norm_decay", norm_decay), ("momentum", momentum), ("score_mix", score_mix)):
            if not 0 <= float(value) < 1:
                raise ConfigError(key, f"must lie in [0, 1), got {value}")
        self.mode, self.thresholds = mode, (t_crit, t_main, t_weak)
        self.norm_decay, self.momentum, self.score_mix = float(norm_decay), float(momentum), float(score_mix)
        self.max_wins = positive_int(max_wins, "max_wins")
        for name in ("accumulated", "previous", "velocity", "norm_ema", "counts"):
            self.register_buffer(name, torch.zeros(0))
        for name in ("micro", "resolutions", "streak_task", "streak_length"):
            self.register_buffer(name, torch.zeros((), dtype=torch.int64))

    def setup(self, names, params, initial=None, pde=None) -> None:
        super().setup(names, params, initial, pde)
        k, size = len(self.names), sum(p.numel() for p in self.params)
        dtype, device = self.params[0].dtype, self.params[0].device
        if self.mode == "stochastic" and self.accumulation < k:
            raise ConfigError("accumulation", f"stochastic mode needs at least one micro-batch per term "
                                              f"({k}), got {self.accumulation}")
        self.accumulated = torch.zeros(k, size, dtype=dtype, device=device)
        self.previous = torch.zeros(k, size, dtype=dtype, device=device)
        self.velocity = torch.zeros(size, dtype=dtype, device=device)
        self.norm_ema = torch.zeros(k, dtype=dtype, device=device)
        self.counts = torch.zeros(k, dtype=dtype, device=device)
        self.streak_task = torch.tensor(-1)

    # --- one resolution ---------------------------------------------------------------------------------
    def scores(self, grads: Tensor) -> Tensor:
        """Arbitration scores ``0.8 max(0, cos(g_k, g_k^prev)) + 0.2 ‖g_k‖/EMA_k``."""
        tiny = torch.finfo(grads.dtype).tiny
        norms = grads.norm(dim=1)
        if int(self.resolutions) == 0:
            persistence = torch.zeros_like(norms)
            relative = torch.ones_like(norms)
        else:
            prev_norms = self.previous.norm(dim=1)
            cos = (grads * self.previous).sum(dim=1) / (norms * prev_norms).clamp_min(tiny)
            persistence = cos.clamp_min(0)
            relative = norms / self.norm_ema.clamp_min(tiny)
        return self.score_mix * persistence + (1 - self.score_mix) * relative

    def arbitrate(self, i: int, j: int, scores: Tensor) -> tuple[int, int]:
        winner, loser = (i, j) if scores[i] >= scores[j] else (j, i)
        if winner == int(self.streak_task) and int(self.streak_length) >= self.max_wins:
            winner, loser = loser, winner
        if winner == int(self.streak_task):
            self.streak_length += 1
        else:
            self.streak_task.fill_(winner)
            self.streak_length.fill_(1)
        return winner, loser

    def resolve(self, grads: Tensor) -> tuple[Tensor, Tensor]:
        """The conflict loop on the task gradients (rows); returns the corrected rows and their
        coefficients ``C`` in the task gradients (corrected = ``C @ grads``)."""
        k = grads.shape[0]
        scores = self.scores(grads)
        out = grads.clone()
        coefficients = torch.eye(k, dtype=torch.float64, device=grads.device)
        t_weak = self.thresholds[2]
        for _ in range(2 * k):
            cos = cosine_matrix(out)
            cos.fill_diagonal_(math.inf)
            flat = int(torch.argmin(cos))
            i, j = divmod(flat, k)
            c = float(cos[i, j])
            if c >= t_weak:
                break
            win, lose = self.arbitrate(i, j, scores)
            a, b = pair_factors(out[win], out[lose], conflict_angle(c, *self.thresholds))
            out[win], out[lose] = out[win] - a * out[lose], out[lose] - b * out[win]
            coefficients[win], coefficients[lose] = (coefficients[win] - float(a) * coefficients[lose],
                                                     coefficients[lose] - float(b) * coefficients[win])
        norms = grads.norm(dim=1)
        first = int(self.resolutions) == 0
        self.norm_ema = norms if first else self.norm_decay * self.norm_ema + (1 - self.norm_decay) * norms
        self.previous = grads.clone()
        self.resolutions += 1
        return out, coefficients

    def step_direction(self, grads: Tensor) -> Tensor:
        """Resolve, sum and apply the bias-corrected momentum."""
        direction = self.resolve(grads)[0].sum(dim=0)
        self.velocity = self.momentum * self.velocity + (1 - self.momentum) * direction
        return self.velocity / (1 - self.momentum ** int(self.resolutions))

    def update(self, losses: dict[str, Tensor], step: int, first_order: bool) -> Tensor:
        if first_order:
            return self.weights
        weights = self.weights.to(self.params[0].device)
        grads = self.flat_gradients(losses) * weights.to(self.params[0].dtype).unsqueeze(1)
        return self.resolve(grads)[1].sum(dim=0) * weights

    def write_gradient(self, losses: dict[str, Tensor]) -> None:
        """Accumulate this micro-batch's task gradients; on the last one, resolve and write the direction
        with momentum (between resolutions no gradient is written: the optimizer skips the parameters)."""
        micro = int(self.micro)
        tasks = range(len(self.names)) if self.mode == "full" else [micro % len(self.names)]
        for i in tasks:
            name = self.names[i]
            flat = torch.cat([g.reshape(-1) for g in self.gradient_of(losses[name])])
            self.accumulated[i] += self.weights[i].to(flat) * flat
            self.counts[i] += 1
        self.micro += 1
        if int(self.micro) == self.accumulation:
            grads = self.accumulated / self.counts.clamp_min(1).unsqueeze(1)
            self.assign(self.step_direction(grads))
            self.accumulated.zero_()
            self.counts.zero_()
            self.micro.zero_()
