"""Derivative engines behind the :class:`~sciml.fields.Field` interface (``engine=`` in configs)."""

from sciml.engines.base import Engine, autograd_jet, coordinate_jet
from sciml.engines.hutchinson import HutchinsonEngine
from sciml.engines.sdgd import SDGDEngine, sample_subset
from sciml.engines.taylor import TaylorEngine

ExactEngine = Engine

__all__ = ["Engine", "ExactEngine", "HutchinsonEngine", "SDGDEngine", "TaylorEngine", "autograd_jet",
           "coordinate_jet", "sample_subset"]
