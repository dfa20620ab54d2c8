"""Where a computation runs with respect to ``torch.func``'s function transforms."""

from __future__ import annotations

import torch


def inside_transform() -> bool:
    """Whether the code runs inside a ``torch.func`` transform (``vmap``, ``jacrev``, ``jvp``: per-point
    Jacobians), where ``requires_grad_`` is not allowed and compiled graphs are not traced."""
    return torch._C._functorch.peek_interpreter_stack() is not None
