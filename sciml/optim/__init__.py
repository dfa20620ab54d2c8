"""Optimizers and optimizer plans (``optimizer=`` in configs)."""

from sciml.optim.factory import adam, chain, lbfgs, make_schedule
from sciml.optim.plan import Phase, Plan

__all__ = ["Phase", "Plan", "adam", "chain", "lbfgs", "make_schedule"]

from sciml.optim.aro import ARO  # noqa: E402
from sciml.optim.auon import AuON, HybridAuON  # noqa: E402
from sciml.optim.factories_matrix import engd, gns, lm, ssbfgs, stack  # noqa: E402
from sciml.optim.gauss_newton import GNS, EnergyNaturalGradient, LevenbergMarquardt  # noqa: E402
from sciml.optim.multiadam import MultiAdam, multiadam  # noqa: E402
from sciml.optim.muon import Muon  # noqa: E402
from sciml.optim.polar import newton_schulz, polar, polar_qdwh, polar_svd  # noqa: E402
from sciml.optim.polargrad import PolarGrad  # noqa: E402
from sciml.optim.scion import Scion  # noqa: E402
from sciml.optim.ssbfgs import SSBFGS  # noqa: E402
from sciml.optim.stack import Stack, linear_roles  # noqa: E402
from sciml.optim.symmetric import ColNorm, HybridSymmetric, LeftSpectral, RightSpectral, RowNorm  # noqa: E402

__all__ += ["ARO", "AuON", "ColNorm", "EnergyNaturalGradient", "GNS", "HybridAuON", "HybridSymmetric",
            "LeftSpectral", "LevenbergMarquardt", "Muon", "MultiAdam",
            "PolarGrad", "RightSpectral", "RowNorm", "SSBFGS", "Scion", "Stack",
            "engd", "gns", "linear_roles", "lm", "multiadam", "newton_schulz", "polar", "polar_qdwh", "polar_svd",
            "ssbfgs", "stack"]
