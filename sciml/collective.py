"""Collective operations over the data-parallel group (torch.distributed only; no-ops outside it)."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def average(tensors: list[Tensor]) -> None:
    """Average tensors in place over all ranks (one flattened all-reduce)."""
    if not active() or not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for t in tensors:
        n = t.numel()
        t.copy_(flat[offset:offset + n].view_as(t))
        offset += n


def any_rank(flag: bool, device: torch.device) -> bool:
    """Whether ``flag`` holds on any rank (one all-reduce; the flag itself outside a group), so that every
    rank takes a decision made on local information (a wall clock) together."""
    if not active():
        return flag
    value = torch.tensor([float(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())
