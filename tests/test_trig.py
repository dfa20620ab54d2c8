"""Polynomial sine and cosine of bounded single-precision arguments against float64 references."""

from __future__ import annotations

import math

import pytest
import torch

from sciml.trig import bounded_sincos


@pytest.mark.parametrize("bound", [math.pi, 3.0, 1.0, 0.5])
def test_bounded_sincos_is_float32_accurate_over_its_interval(bound):
    t = torch.linspace(-bound, bound, 200_001, dtype=torch.float64)
    sin, cos = bounded_sincos(t.float(), bound=bound)
    assert sin.dtype == cos.dtype == torch.float32
    # the float32 argument itself is the reference's input: only the polynomial and its rounding are measured
    exact = t.float().double()
    assert (sin.double() - torch.sin(exact)).abs().max() < 4e-7
    assert (cos.double() - torch.cos(exact)).abs().max() < 4e-7


def test_other_dtypes_take_torch_sin_and_cos():
    t = torch.linspace(-3, 3, 101, dtype=torch.float64)
    sin, cos = bounded_sincos(t)
    assert torch.equal(sin, torch.sin(t)) and torch.equal(cos, torch.cos(t))


def test_bound_outside_the_interval_is_refused():
    with pytest.raises(ValueError, match="bound"):
        bounded_sincos(torch.zeros(3), bound=4.0)
