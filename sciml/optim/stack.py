"""A role-based optimizer stack: one update rule per parameter role of a network of linear layers.

Roles (:func:`linear_roles`): ``input`` (the first ``nn.Linear``'s weight), ``hidden`` (the weights of
the linear layers in between), ``output`` (the last one's weight) and ``vector`` (biases, scales and
every other parameter with fewer than two axes). Any other parameter with two or more axes counts as
``hidden``. For :class:`sciml.models.MLP` these are ``layers[0].weight``, ``layers[1:-1].weight``,
``layers[-1].weight`` and the biases.

The default follows the symmetry-compatible principle for MLPs (arXiv 2605.18106; REFERENCES §6): the
neurons of the input layer are its rows (row-norm), hidden blocks take a bi-orthogonal update (Muon),
the neurons of the output layer are its columns (column-norm, i.e. ``sign`` for one output), vectors
take Adam. :class:`Stack` is a ``torch.optim.Optimizer`` whose parameter groups are those of its
per-role optimizers (so learning-rate schedulers act on every role).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from sciml.optim.aro import ARO
from sciml.optim.auon import AuON, HybridAuON
from sciml.optim.muon import Muon
from sciml.optim.polargrad import PolarGrad
from sciml.optim.scion import Scion
from sciml.optim.symmetric import ColNorm, HybridSymmetric, LeftSpectral, RightSpectral, RowNorm

ROLES = ("input", "hidden", "output", "vector")

RULES: dict[str, Callable[..., Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "muon": Muon,
    "polargrad": PolarGrad,
    "auon": AuON,
    "hybrid_auon": HybridAuON,
    "aro": ARO,
    "row": RowNorm,
    "col": ColNorm,
    "left_spectral": LeftSpectral,
    "right_spectral": RightSpectral,
    "hybrid": HybridSymmetric,
    "scion": Scion,
}

DEFAULT_STACK: dict[str, dict] = {
    "input": {"rule": "row", "lr": 1e-3},
    "hidden": {"rule": "muon", "lr": 1e-2},
    "output": {"rule": "col", "lr": 1e-3},
    "vector": {"rule": "adam", "lr": 1e-3},
}


def linear_roles(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """Trainable parameters of ``model`` by role (see the module docstring); a role may be empty.

    A model with a single linear layer has its weight in ``input``.
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    role_of: dict[int, str] = {}
    for i, layer in enumerate(linears):
        role = "input" if i == 0 else "output" if i == len(linears) - 1 else "hidden"
        role_of[id(layer.weight)] = role
    roles: dict[str, list[nn.Parameter]] = {r: [] for r in ROLES}
    for p in model.parameters():
        if not p.requires_grad:
            continue
        roles[role_of.get(id(p), "hidden" if p.ndim >= 2 else "vector")].append(p)
    return roles


class Stack(Optimizer):
    """Several optimizers stepped together; ``param_groups`` is the union of theirs (shared dicts)."""

    def __init__(self, parts: Mapping[str, Optimizer]) -> None:
        if not parts:
            raise ValueError("a stack needs at least one optimizer")
        self.parts = dict(parts)
        first = next(iter(self.parts.values()))
        super().__init__(first.param_groups[0]["params"], {})
        self.param_groups = [g for opt in self.parts.values() for g in opt.param_groups]

    @classmethod
    def for_model(cls, model: nn.Module, rules: Mapping[str, Mapping] | None = None) -> Stack:
        """One optimizer per non-empty role; ``rules[role] = {"rule": name, **options}`` overrides the default."""
        chosen = {role: dict(DEFAULT_STACK[role]) for role in ROLES}
        for role, spec in (rules or {}).items():
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r}; options: {', '.join(ROLES)}")
            spec = dict(spec)
            chosen[role] = spec if "rule" in spec else {**chosen[role], **spec}
        parts = {}
        for role, params in linear_roles(model).items():
            if not params:
                continue
            options = dict(chosen[role])
            name = options.pop("rule")
            if name not in RULES:
                raise ValueError(f"unknown rule {name!r} for role {role}; options: {', '.join(RULES)}")
            parts[role] = RULES[name](params, **options)
        return cls(parts)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self.parts.values():
            opt.zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for opt in self.parts.values():
            opt.step()
        return loss

    def state_dict(self) -> dict:
        return {role: opt.state_dict() for role, opt in self.parts.items()}

    def load_state_dict(self, state_dict: dict) -> None:
        if set(state_dict) != set(self.parts):
            raise ValueError(f"state has roles {sorted(state_dict)}, the stack has {sorted(self.parts)}")
        for role, opt in self.parts.items():
            opt.load_state_dict(state_dict[role])
        self.param_groups = [g for opt in self.parts.values() for g in opt.param_groups]
