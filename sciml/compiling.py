"""``torch.compile`` for graphs that may be differentiated more than once.

AOTAutograd "donates" the buffers a compiled backward saves when it judges that the backward runs once: the
backward may then overwrite them, and a second backward through the same graph is refused ("compiled with
non-empty donated buffers which requires ... retain_graph=False"). The training step differentiates its loss
graph several times whenever a balancer takes per-term gradients (``torch.autograd.grad(..., retain_graph=True)``:
annealing, GradNorm, PCGrad, CAGrad, GCond, MultiAdam); whether buffers are
donated depends on the partitioner's choices for the shapes and dtype at hand (PINNacle Poisson2d-CG's float32
protocol set was refused; float64 and smaller sets of the same problem were not). Graphs compiled here never donate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch
import torch._functorch.config as functorch_config

F = TypeVar("F", bound=Callable)


def compile_retainable(function: F) -> F:
    """``torch.compile(function, dynamic=False)`` whose graph can be differentiated any number of times.

    Donation is turned off for the whole process (``torch._functorch.config.donated_buffer``): the flag is
    read both when the forward graph is compiled and when its backward is compiled, at the first backward, so
    a context around the forward call alone does not cover it."""
    functorch_config.donated_buffer = False
    return torch.compile(function, dynamic=False)


__all__ = ["compile_retainable"]
