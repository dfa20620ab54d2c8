"""Network architectures. Models with a ``taylor(x, dims)`` method get fast forward-mode derivatives."""

from sciml.models.mlp import MLP, count_parameters

__all__ = ["MLP", "count_parameters"]
