"""Data-parallel training with ``torchrun`` (gloo on CPU, NCCL on GPU).

Every rank draws the same full batch from identically seeded generators and keeps its own slice
``x[rank::world]``, so the union of the slices is exactly the single-process batch and stochastic engines
draw the same dimensions everywhere. Gradients (and per-term gradients, for balancers that use them) are
averaged over ranks; with batch sizes divisible by the world size the result equals the single-process
gradient on the union of the points. Only rank 0 writes files and shows progress.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor

from sciml.collective import average


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1


def init_from_env(device: torch.device) -> World:
    """Join the process group that ``torchrun`` describes in the environment (a no-op otherwise)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return World(dist.get_rank(), dist.get_world_size())


def shard(x: Tensor, world: World) -> Tensor:
    """This rank's slice of a batch."""
    return x[world.rank::world.size] if world.active else x


def shard_points(x: Tensor, data: dict[str, Tensor], world: World) -> tuple[Tensor, dict[str, Tensor]]:
    """This rank's slice of a batch of points and of their per-point data."""
    return shard(x, world), {k: shard(v, world) for k, v in data.items()}


def average_gradients(params: list[torch.nn.Parameter], total: Tensor) -> Tensor:
    """Average ``p.grad`` over ranks and return the rank-averaged loss."""
    grads = [p.grad for p in params if p.grad is not None]
    loss = total.detach().reshape(1).clone()
    average([*grads, loss])
    return loss[0]
