"""Optimizers and optimizer plans (``optimizer=`` in configs)."""

from sciml.optim.factory import adam, chain, lbfgs, make_schedule
from sciml.optim.plan import Phase, Plan

__all__ = ["Phase", "Plan", "adam", "chain", "lbfgs", "make_schedule"]
