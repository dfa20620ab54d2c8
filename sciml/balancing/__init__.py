"""Loss balancing strategies (``balancer=`` in configs)."""

from sciml.balancing.base import Balancer
from sciml.balancing.fixed import FixedWeights

__all__ = ["Balancer", "FixedWeights"]
