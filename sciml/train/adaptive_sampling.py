"""Residual-based adaptive sampling of collocation points: Wu, Zhu, Tan, Kartha & Lu 2023, "A comprehensive study
of non-adaptive and residual-based adaptive sampling for physics-informed neural networks", CMAME 403, 115671.

Every ``every`` steps, ``candidates`` points are drawn from a term's sampler (the trainer's generator) and the
residual's magnitude ``ε(x) = Σ_k |r_k(x)|`` (summed over the components of a system, as PINNacle does) is
evaluated there with the current network:

- ``rar`` (RAR-G, their greedy residual-based refinement): the ``add`` candidates with the largest ``ε`` join the term's
  points for the rest of the run, so its training set grows by ``add`` at every adaptation. PINNacle's protocol is
  ``every=1000, add=1`` on a fixed set.
- ``rad`` (RAD, their residual-based adaptive distribution): the candidates become a pool with the probabilities
  ``p(x) ∝ ε(x)^k / E[ε^k] + c`` (``E``: the pool mean; ``k = c = 1`` by default), and the term's points are
  ``batch_size`` pool points drawn with these probabilities without replacement (no point twice in a set).

How the term's points of a step are made (:meth:`AdaptiveSampling.place`, called by ``Trainer.points_for`` on the
points it drew or kept):

- fixed set (``trainer.resample=false``, and the fixed-set phases L-BFGS and Gauss-Newton): ``rar`` appends the
  added points to the set; ``rad`` replaces it by the set drawn at the last adaptation;
- fresh points every step (``trainer.resample=true``): ``rar`` appends the added points to each fresh batch;
  ``rad`` replaces each batch by a fresh draw from the latest residual-weighted pool.

Before the first adaptation the points are the sampler's. The added points, the pool, its probabilities and the
current set are the technique's state (``technique/adaptive`` in checkpoints), so a resumed run continues
identically. Under data parallelism every rank draws the same candidates from the shared generator and evaluates
them all, so the sets agree, and each rank keeps its slice as ``Trainer.sample`` does. A term whose sampler does not
draw (observations: ``FixedPoints``, ``RowBatches``) or takes another term's points (gPINN) cannot be adapted.
Under a stochastic engine ``ε`` is the engine's estimate of the residual.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from sciml.data.observations import RowBatches
from sciml.errors import ConfigError, non_negative_number, positive_int
from sciml.fields import Field
from sciml.geometry.samplers import FixedPoints
from sciml.problem import SharedPoints, Term, chosen_terms
from sciml.train.distributed import World, shard_points

METHODS = ("none", "rar", "rad")
CHUNK = 4096  # candidate points per residual evaluation

PointSet = tuple[Tensor, dict[str, Tensor]]


def take(points: PointSet, index: Tensor | slice) -> PointSet:
    x, data = points
    return x[index], {k: v[index] for k, v in data.items()}


def join(first: PointSet, second: PointSet) -> PointSet:
    return torch.cat([first[0], second[0]]), {k: torch.cat([v, second[1][k]]) for k, v in first[1].items()}


def rad_density(magnitude: Tensor, k: float, c: float) -> Tensor:
    """The RAD density of Wu et al. on a pool: ``p ∝ ε^k / mean(ε^k) + c``, normalised to sum 1 (uniform when every
    ``ε^k`` is zero)."""
    w = magnitude.pow(k)
    mean = w.mean()
    w = w / mean if mean > 0 else torch.ones_like(w)
    p = w + c
    return p / p.sum()


class AdaptiveSampling:
    """Residual-based adaptive sampling (``trainer.adaptive`` in configs; see the module docstring).

    Args:
        available: the trainer's terms, by name (their samplers, batch sizes and residuals, taken as they are when
            the technique is built: before other techniques weight them).
        field: ``(x, data) -> Field`` of the trainer's network.
        generator / dtype / world: the trainer's generator, dtype and data-parallel world.
        method: ``rar`` or ``rad``.
        terms: the terms to adapt (default: ``pde``).
        every: steps between adaptations.
        add: points ``rar`` adds at each adaptation.
        candidates: points drawn and evaluated at each adaptation (``rad``'s pool; at least the batch size).
        k / c: ``rad``'s exponent and offset.
    """

    name = "adaptive"

    def __init__(self, available: dict[str, Term], field: Callable[[Tensor, dict[str, Tensor]], Field],
                 generator: torch.Generator, dtype: torch.dtype, world: World, method: str = "rar",
                 terms: Sequence[str] | None = None, every: int = 1000, add: int = 1, candidates: int = 10_000,
                 k: float = 1.0, c: float = 1.0) -> None:
        if method not in METHODS[1:]:
            raise ConfigError("trainer.adaptive.method", f"unknown method {method!r}; options: {', '.join(METHODS)}")
        terms = chosen_terms(terms, available, "trainer.adaptive.terms", "adapt")
        for name in terms:
            sampler = available[name].sampler
            if isinstance(sampler, (FixedPoints, RowBatches)):
                raise ConfigError("trainer.adaptive.terms", f"term '{name}' has fixed points (observations), from "
                                                            "which no candidates can be drawn")
            if isinstance(sampler, SharedPoints):
                raise ConfigError("trainer.adaptive.terms", f"term '{name}' takes the points of term "
                                                            f"'{sampler.source}'; adapt '{sampler.source}'")
        self.every = positive_int(every, "trainer.adaptive.every")
        self.add = positive_int(add, "trainer.adaptive.add")
        self.candidates = positive_int(candidates, "trainer.adaptive.candidates")
        for key, value in (("k", k), ("c", c)):
            non_negative_number(value, f"trainer.adaptive.{key}")
        if method == "rar" and self.add > self.candidates:
            raise ConfigError("trainer.adaptive.add", f"{add} points cannot be chosen among {candidates} candidates")
        if method == "rad":
            small = [n for n in terms if available[n].batch_size > self.candidates]
            if small:
                raise ConfigError("trainer.adaptive.candidates", f"{candidates} candidates cannot give the batch of "
                                                                 f"term(s) {small} without replacement")
        self.method, self.k, self.c = method, float(k), float(c)
        self.terms = {name: available[name] for name in terms}
        self.residuals = {name: term.residual for name, term in self.terms.items()}
        self.field, self.generator, self.dtype, self.world = field, generator, dtype, world
        self.steps = 0
        self.added: dict[str, PointSet] = {}  # rar
        self.pool: dict[str, PointSet] = {}  # rad: the candidates, their probabilities and the drawn set
        self.probabilities: dict[str, Tensor] = {}
        self.current: dict[str, PointSet] = {}

    # --- the residual on candidates ----------------------------------------------------------------------
    def draw(self, name: str, n: int) -> PointSet:
        out = self.terms[name].sampler.sample(n, self.generator, self.dtype)
        return out if isinstance(out, tuple) else (out, {})

    def magnitude(self, name: str, points: PointSet) -> Tensor:
        """``ε = Σ_k |r_k|`` at every point, detached."""
        parts = []
        for start in range(0, points[0].shape[0], CHUNK):
            chunk = take(points, slice(start, start + CHUNK))
            r = self.residuals[name](self.field(*chunk)).detach()
            parts.append(r.reshape(r.shape[0], -1).abs().sum(dim=1))
        return torch.cat(parts)

    def adapt(self, name: str) -> None:
        """One adaptation of term ``name`` (a non-finite residual on the candidates leaves its points as they are:
        the divergence guard deals with the step)."""
        candidates = self.draw(name, self.candidates)
        eps = self.magnitude(name, candidates)
        if not torch.isfinite(eps).all():
            return
        if self.method == "rar":
            chosen = take(candidates, torch.topk(eps, self.add).indices)
            self.added[name] = join(self.added[name], chosen) if name in self.added else chosen
        else:
            self.pool[name], self.probabilities[name] = candidates, rad_density(eps, self.k, self.c)
            self.current[name] = self.from_pool(name)

    def from_pool(self, name: str) -> PointSet:
        """``batch_size`` pool points drawn with the RAD probabilities, without replacement."""
        index = torch.multinomial(self.probabilities[name], self.terms[name].batch_size, replacement=False,
                                  generator=self.generator)
        return take(self.pool[name], index)

    # --- the technique -----------------------------------------------------------------------------------
    def place(self, points: dict[str, PointSet], fresh: bool) -> dict[str, PointSet]:
        """The step's points (this rank's slices) with the adapted terms' points: ``fresh`` when ``points`` were
        drawn for this step, else the fixed set (see the module docstring)."""
        out = dict(points)
        for name in self.terms:
            if name in self.added:
                out[name] = join(points[name], self._slice(self.added[name]))
            elif name in self.pool:
                out[name] = self._slice(self.from_pool(name) if fresh else self.current[name])
        return out

    def _slice(self, points: PointSet) -> PointSet:
        return shard_points(*points, self.world)

    def after_step(self) -> None:
        self.steps += 1
        if self.steps % self.every == 0:
            for name in self.terms:
                self.adapt(name)

    def metrics(self) -> dict[str, float]:
        """``rar``: the points added per term; ``rad``: the largest probability over the uniform one."""
        out = {f"adaptive/added/{name}": float(x.shape[0]) for name, (x, _) in self.added.items()}
        out.update({f"adaptive/peak/{name}": float(p.max() * p.numel()) for name, p in self.probabilities.items()})
        return out

    def state_dict(self) -> dict:
        def sets(named: dict[str, PointSet]) -> dict:
            return {name: {"x": x, "data": dict(data)} for name, (x, data) in named.items()}
        return {"steps": self.steps, "added": sets(self.added), "pool": sets(self.pool),
                "probabilities": dict(self.probabilities), "current": sets(self.current)}

    def load_state_dict(self, state: dict) -> None:
        def sets(named: dict) -> dict[str, PointSet]:
            return {name: (s["x"], dict(s["data"])) for name, s in named.items()}
        self.steps = int(state["steps"])
        self.added, self.pool, self.current = sets(state["added"]), sets(state["pool"]), sets(state["current"])
        self.probabilities = dict(state["probabilities"])
