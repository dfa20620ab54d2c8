"""Nonlinear Schrödinger ``i h_t + ½ h_xx + |h|² h = 0`` on ``x ∈ [−5, 5]`` periodic, ``t ∈ [0, π/2]``,
``h(x, 0) = 2 sech x`` (Raissi, Perdikaris & Karniadakis 2019, Sec. 3.1.2; relative L2 error of ``|h|``:
1.97e-3). Scored on ``NLS.mat``.

The complex field is two real outputs ``h = re + i·im``; the real and imaginary parts of the equation are

    −im_t + ½ re_xx + (re² + im²) re = 0,    re_t + ½ im_xx + (re² + im²) im = 0.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pdes._evolution import Evolution1D
from pdes._reference import OnReferenceGrid
from sciml.fields import Field


class NLS(OnReferenceGrid, Evolution1D):
    name = "nls"
    data_file = "NLS.mat"
    outputs = ["re", "im"]
    lo, hi, t1 = -5.0, 5.0, math.pi / 2

    def initial(self, x: Tensor) -> Tensor:
        return torch.stack([2 / torch.cosh(x), torch.zeros_like(x)], dim=1)

    def pde_residual(self, u: Field) -> Tensor:
        re, im = u["re"], u["im"]
        a, b = re.value, im.value
        mod2 = a * a + b * b
        real = -im.d("t") + 0.5 * re.d("x", "x") + mod2 * a
        imag = re.d("t") + 0.5 * im.d("x", "x") + mod2 * b
        return torch.stack([real, imag], dim=1)

    def score_values(self, u: Tensor) -> Tensor:
        """The modulus ``|h|``, as scored by Raissi et al."""
        return u.norm(dim=1, keepdim=True)
