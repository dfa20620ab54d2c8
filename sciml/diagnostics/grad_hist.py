"""Per-layer gradients of every loss term: the diagnostic of Wang, Teng & Perdikaris 2020, Fig. 3.

At chosen steps the callback draws a batch of points per term (with its own generator, so training sees
the same random stream with or without it), computes ``∇_W L_i`` for every weight matrix ``W`` of the
model and every term ``i`` (unweighted), and saves them with the balancer's current weights into
``grad_hist.npz`` in the run directory. ``sciml-compare`` turns the file into histograms; nothing reads
in-memory state.

Enable on a single run with ``+callbacks.grad_hist._target_=sciml.diagnostics.GradientHistograms``
(optionally ``+callbacks.grad_hist.steps=[0,1000]``) or ``+callbacks=grad_hist``.

File layout: ``steps`` (recorded steps), ``terms``, ``layers`` (parameter names) and, per record,
``s{step}__{term}__{layer}`` (the gradient, flattened) and ``s{step}__weights`` (one weight per term).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from sciml.errors import ConfigError

FILE = "grad_hist.npz"


class GradientHistograms:
    """Record per-layer, per-term gradients at ``steps`` (``0`` = before training) and at the end."""

    def __init__(self, steps: Sequence[int] = (0,), final: bool = True, seed: int = 12345) -> None:
        self.steps = sorted({int(s) for s in steps})
        if any(s < 0 for s in self.steps):
            raise ConfigError("steps", f"must be non-negative step numbers, got {list(steps)}")
        self.final, self.seed = final, int(seed)
        self.records: dict[str, np.ndarray] = {}
        self.recorded: list[int] = []

    def on_train_start(self, trainer) -> None:
        if 0 in self.steps:
            self.record(trainer)

    def on_step_end(self, trainer, losses) -> None:
        if trainer.step in self.steps:
            self.record(trainer)

    def on_train_end(self, trainer, summary) -> None:
        if self.final and trainer.step not in self.recorded:
            self.record(trainer)

    def gradients(self, trainer) -> dict[str, dict[str, torch.Tensor]]:
        """``{term: {layer: ∇_W L_term}}`` on a fresh batch drawn with this callback's generator."""
        generator = torch.Generator(trainer.device).manual_seed(self.seed + trainer.step)
        layers = {n: p for n, p in trainer.model.named_parameters() if p.requires_grad and p.ndim >= 2}
        out = {}
        for name, term in trainer.terms.items():
            sample = term.sampler.sample(term.batch_size, generator, trainer.dtype)
            x, data = sample if isinstance(sample, tuple) else (sample, {})
            loss = term.residual(trainer.field(x, data)).square().mean()
            grads = torch.autograd.grad(loss, list(layers.values()), allow_unused=True, materialize_grads=True)
            out[name] = dict(zip(layers, grads))
        return out

    def record(self, trainer) -> None:
        step = trainer.step
        for term, per_layer in self.gradients(trainer).items():
            for layer, g in per_layer.items():
                self.records[f"s{step}__{term}__{layer}"] = g.detach().double().cpu().reshape(-1).numpy()
        self.records[f"s{step}__weights"] = trainer.balancer.weights.detach().cpu().numpy()
        self.recorded.append(step)
        if trainer.files is not None:
            terms = list(trainer.terms)
            layers = [n for n, p in trainer.model.named_parameters() if p.requires_grad and p.ndim >= 2]
            np.savez(trainer.files.dir / FILE, steps=np.array(self.recorded), terms=np.array(terms),
                     layers=np.array(layers), **self.records)


def load(path) -> tuple[list[int], list[str], list[str], dict[str, np.ndarray]]:
    """``(steps, terms, layers, arrays)`` of a ``grad_hist.npz`` file."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    return ([int(s) for s in arrays.pop("steps")], [str(t) for t in arrays.pop("terms")],
            [str(n) for n in arrays.pop("layers")], arrays)
