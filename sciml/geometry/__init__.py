"""Domains and samplers: boxes, box boundaries, balls, time products and DeepXDE geometries."""

from sciml.geometry.conditions import neumann, normal_derivative, robin
from sciml.geometry.csg import Ball, BoundarySampler, Box, Difference, Disk, InteriorSampler
from sciml.geometry.quasi_random import UnitCubePoints, halton, hammersley, radical_inverse
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
from sciml.geometry.spacetime import SpaceTime

__all__ = [
    "Ball",
    "BoundarySampler",
    "Box",
    "Difference",
    "Disk",
    "InteriorSampler",
    "SpaceTime",
    "UnitCubePoints",
    "halton",
    "hammersley",
    "neumann",
    "normal_derivative",
    "radical_inverse",
    "robin",
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
