"""Derivative engines behind the :class:`~sciml.fields.Field` interface (``engine=`` in configs)."""

from sciml.engines.base import Engine, autograd_jet, coordinate_jet

ExactEngine = Engine

__all__ = ["Engine", "ExactEngine", "autograd_jet", "coordinate_jet"]
