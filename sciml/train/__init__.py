"""Trainers: the PINN loop (:class:`Trainer`); SDGD is the same loop with a stochastic engine."""

from sciml.train.trainer import RunSettings, Trainer, relative_l2

__all__ = ["RunSettings", "Trainer", "relative_l2"]
