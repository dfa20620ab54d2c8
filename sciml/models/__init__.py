"""Network architectures. Models with a ``taylor(x, dims)`` method get fast forward-mode derivatives."""

from sciml.models.fourier import FourierMLP
from sciml.models.mlp import MLP, count_parameters
from sciml.models.modified_mlp import ModifiedMLP

__all__ = ["MLP", "count_parameters", "ModifiedMLP", "FourierMLP"]
