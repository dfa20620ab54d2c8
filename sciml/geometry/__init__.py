"""Domains and samplers: boxes, box boundaries, balls, time products and DeepXDE geometries."""

from sciml.geometry.samplers import (
    BallSampler,
    BoxBoundarySampler,
    BoxSampler,
    DeepXDESampler,
    FaceSampler,
    FixedPoints,
    GaussianSampler,
    SphereSampler,
    TimeProduct,
)

__all__ = [
    "BallSampler",
    "GaussianSampler",
    "BoxBoundarySampler",
    "BoxSampler",
    "DeepXDESampler",
    "FaceSampler",
    "FixedPoints",
    "SphereSampler",
    "TimeProduct",
]
